#include "cli/transfer_progress.h"

#include <algorithm>
#include <cstdio>

namespace shoal::cli {

namespace {

constexpr std::chrono::milliseconds kBarPeriod{100};
constexpr std::chrono::seconds kLinePeriod{5};

int Percent(int64_t done, int64_t total) {
  if (total <= 0) return 100;
  return static_cast<int>(std::clamp<int64_t>(done * 100 / total, 0, 100));
}

// Below a tenth of a second the rate is noise.
std::string Rate(int64_t done, double seconds) {
  if (seconds < 0.1) return "- MB/s";
  return FormatMegabytes(static_cast<int64_t>(static_cast<double>(done) / seconds)) + " MB/s";
}

}  // namespace

std::string FormatMegabytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f", static_cast<double>(std::max<int64_t>(bytes, 0)) / 1e6);
  return text;
}

std::string FormatTransferBar(const std::string& label, int64_t done, int64_t total, double seconds,
                              int bar_width) {
  const int percent = Percent(done, total);
  const int filled = bar_width * percent / 100;
  char pct[8];
  std::snprintf(pct, sizeof(pct), "%3d%%", percent);
  return label + " [" + std::string(filled, '#') + std::string(bar_width - filled, '-') + "] " +
         pct + "  " + FormatMegabytes(done) + "/" + FormatMegabytes(total) + " MB  " +
         Rate(done, seconds);
}

std::string FormatTransferLine(const std::string& label, int64_t done, int64_t total,
                               double seconds) {
  return label + ": " + FormatMegabytes(done) + " of " + FormatMegabytes(total) + " MB (" +
         std::to_string(Percent(done, total)) + "%), " + Rate(done, seconds);
}

TransferProgress::TransferProgress(std::ostream& err, bool tty, std::string label, bool enabled,
                                   Clock clock)
    : err_(err), tty_(tty), label_(std::move(label)), enabled_(enabled), clock_(std::move(clock)) {
  // The rate counts from here: the first update comes only after the first chunk is done.
  start_ = Now();
  last_print_ = start_ - kLinePeriod;
}

std::chrono::steady_clock::time_point TransferProgress::Now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

void TransferProgress::Update(int64_t done, int64_t total) {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = Now();
  started_ = true;
  done_ = done;
  total_ = total;
  if (finished_) return;
  const int decile = Percent(done, total) / 10;
  const bool due = tty_ ? now - last_print_ >= kBarPeriod
                        : decile != last_decile_ || now - last_print_ >= kLinePeriod;
  if (!due) return;
  last_print_ = now;
  last_decile_ = decile;
  PrintLocked(false);
}

void TransferProgress::Finish() {
  if (!enabled_) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (!started_ || finished_) return;
  finished_ = true;
  // A plain log already has the 100% line when the last update printed it.
  if (!tty_ && last_decile_ == Percent(done_, total_) / 10 && Percent(done_, total_) == 100) {
    return;
  }
  PrintLocked(true);
}

void TransferProgress::PrintLocked(bool final_line) {
  const double seconds = std::chrono::duration<double>(Now() - start_).count();
  if (tty_) {
    // "\033[K" clears what a longer earlier bar left at the end of the line.
    err_ << "\r" << FormatTransferBar(label_, done_, total_, seconds) << "\033[K"
         << (final_line ? "\n" : "") << std::flush;
  } else {
    err_ << FormatTransferLine(label_, done_, total_, seconds) << "\n" << std::flush;
  }
}

}  // namespace shoal::cli

// Progress of a long transfer (`shoal data push/pull`) on stderr: on a terminal one bar redrawn in
// place, elsewhere (a log file, CI) a plain line at every 10% and at least every few seconds.
//
// The Format* functions are pure and thread-safe; TransferProgress is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>

namespace shoal::cli {

// Decimal megabytes with one decimal, as transfer tools count them: "0.0", "12.3", "2048.0".
std::string FormatMegabytes(int64_t bytes);

// The terminal bar, e.g. "push [#########-----------]  45%  123.4/274.0 MB  12.3 MB/s"
// (`bar_width` cells between the brackets; the rate is done / seconds, "-" under 0.1 s). A total of
// 0 reads as done (100%).
std::string FormatTransferBar(const std::string& label, int64_t done, int64_t total, double seconds,
                              int bar_width = 24);

// The plain line, e.g. "push: 123.4 of 274.0 MB (45%), 12.3 MB/s".
std::string FormatTransferLine(const std::string& label, int64_t done, int64_t total,
                               double seconds);

// Reports done/total bytes as they grow. Prints nothing until Update is first called, and nothing
// at all when `enabled` is false (-o json, or nothing to transfer).
class TransferProgress {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // `tty`: redraw one bar with '\r'; otherwise print lines. `clock` null = steady_clock::now.
  // The rate counts from construction.
  TransferProgress(std::ostream& err, bool tty, std::string label, bool enabled = true,
                   Clock clock = nullptr);

  // Records progress; prints when the bar is due (a terminal: at most 10 times a second) or a
  // line is (a new 10% step, or 5 seconds since the last line).
  void Update(int64_t done, int64_t total);
  // Prints the last state (the bar then ends its line). Idempotent.
  void Finish();

 private:
  std::chrono::steady_clock::time_point Now() const;
  void PrintLocked(bool final_line);

  std::ostream& err_;
  const bool tty_;
  const std::string label_;
  const bool enabled_;
  Clock clock_;
  std::mutex mu_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_print_;
  int64_t done_ = 0;
  int64_t total_ = 0;
  int last_decile_ = -1;
  bool started_ = false;
  bool finished_ = false;
};

}  // namespace shoal::cli

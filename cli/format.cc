#include "cli/format.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <utility>

#include "cli/i18n.h"
#include "cli/json_get.h"

namespace shoal::cli {

std::string FormatAge(int64_t then_ms, int64_t now_ms) {
  if (then_ms <= 0) return "-";
  int64_t s = std::max<int64_t>(0, now_ms - then_ms) / 1000;
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string FormatDuration(int64_t ms) {
  int64_t s = std::max<int64_t>(0, ms) / 1000;
  char buf[64];
  if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof(buf), "%lldm%llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>(s % 3600 / 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>(s % 86400 / 3600));
  }
  return buf;
}

std::string FormatTimestamp(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (localtime_r(&t, &tm) == nullptr) return "-";
  char buf[32];
  if (std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm) == 0) return "-";
  return buf;
}

std::string FormatBytes(int64_t bytes) {
  if (bytes < 1024) return std::to_string(std::max<int64_t>(0, bytes)) + " B";
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  return FormatFixed(value, 1) + " " + kUnits[unit];
}

std::string FormatCount(int64_t n) {
  if (n < 1000) return std::to_string(std::max<int64_t>(0, n));
  static const char* kSuffixes[] = {"K", "M", "B", "T"};
  double value = static_cast<double>(n) / 1000;
  int unit = 0;
  while (value >= 999.95 && unit < 3) {
    value /= 1000;
    ++unit;
  }
  return FormatFixed(value, 1) + kSuffixes[unit];
}

std::string FormatRankMemory(const RankMemoryEstimate& e, Backend backend) {
  // {1} the parameter count, {2} the model state, {3} the snapshot, {4} activations, {5} overhead.
  const std::vector<std::string> args = {
      FormatBytes(backend == Backend::kCuda ? e.device_bytes : e.host_bytes),
      FormatCount(e.parameters),
      FormatBytes(e.model_state_bytes),
      FormatBytes(e.snapshot_bytes),
      FormatBytes(e.activation_bytes),
      FormatBytes(e.overhead_bytes),
      FormatBytes(e.host_bytes)};
  if (backend == Backend::kCuda) {
    return TrFormat(
        "memory per rank: {0} of GPU memory (parameters {1} x 16 B = {2}, activations {4}, "
        "overhead {5}); {6} of RAM with the checkpoint snapshot {1} x 12 B = {3}",
        args);
  }
  return TrFormat(
      "memory per rank: {0} of RAM (parameters {1} x 16 B = {2}, checkpoint snapshot {1} x 12 B = "
      "{3}, activations {4}, overhead {5})",
      args);
}

std::string FormatRfc3339(int64_t ms) {
  if (ms <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "-";
  char buf[32];
  if (std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0) return "-";
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

std::string FormatFixed(double value, int digits) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, value);
  return buf;
}

std::string FormatGpus(const std::vector<wire::GpuView>& gpus) {
  if (gpus.empty()) return "-";
  // Count identical (model, memory) pairs, keeping the order in which they first appear.
  std::vector<std::pair<std::string, int>> groups;
  for (const auto& g : gpus) {
    std::string label = g.name;
    if (g.memory_mib > 0) label += " " + std::to_string((g.memory_mib + 512) / 1024) + "GiB";
    bool found = false;
    for (auto& [l, n] : groups) {
      if (l == label) {
        ++n;
        found = true;
        break;
      }
    }
    if (!found) groups.emplace_back(label, 1);
  }
  std::string out;
  for (const auto& [label, n] : groups) {
    if (!out.empty()) out += ", ";
    out += std::to_string(n) + "x " + label;
  }
  return out;
}

std::string FormatGpus(const nlohmann::json& gpus) {
  if (!gpus.is_array()) return "-";
  std::vector<wire::GpuView> typed;
  for (const auto& g : gpus) {
    typed.push_back({GetString(g, "name", "gpu"), GetInt(g, "memoryMiB", 0), ""});
  }
  return FormatGpus(typed);
}

namespace {

// The code point starting at s[i] and its length in bytes; a stray continuation byte reads as
// itself, one byte long.
char32_t DecodeUtf8(const std::string& s, size_t i, size_t* length) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (i + n > s.size()) n = 1;
  char32_t cp = n == 1 ? c : c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  *length = n;
  return cp;
}

// Terminal columns of a code point: 2 for the East Asian wide and fullwidth blocks (CJK, Hangul,
// fullwidth forms: what a Chinese header or message uses), 1 otherwise.
size_t Columns(char32_t cp) {
  const bool wide = (cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0x303E) ||
                    (cp >= 0x3041 && cp <= 0x33FF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
                    (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0xA000 && cp <= 0xA4CF) ||
                    (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
                    (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
                    (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x20000 && cp <= 0x3FFFD);
  return wide ? 2 : 1;
}

}  // namespace

size_t DisplayWidth(const std::string& s) {
  size_t columns = 0;
  for (size_t i = 0, n = 0; i < s.size(); i += n) columns += Columns(DecodeUtf8(s, i, &n));
  return columns;
}

std::string Truncate(const std::string& s, size_t width) {
  if (width == 0 || DisplayWidth(s) <= width) return s;
  if (width <= 3) return std::string(width, '.');
  const size_t keep = width - 3;
  size_t used = 0, i = 0;
  for (size_t n = 0; i < s.size(); i += n) {
    const size_t columns = Columns(DecodeUtf8(s, i, &n));
    if (used + columns > keep) break;
    used += columns;
  }
  return s.substr(0, i) + "...";
}

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {
  for (auto& h : headers_) {
    for (char& c : h) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (auto& c : cells) {
    if (c.empty()) c = "-";
    // A newline inside a cell would break the alignment of every later row.
    for (char& ch : c) {
      if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
    }
  }
  rows_.push_back(std::move(cells));
}

void Table::Render(std::ostream& out) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = DisplayWidth(headers_[c]);
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t c = 0; c < cells.size(); ++c) {
      s += cells[c];
      if (c + 1 < cells.size()) s.append(widths[c] - DisplayWidth(cells[c]) + 3, ' ');
    }
    out << s << '\n';
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

}  // namespace shoal::cli

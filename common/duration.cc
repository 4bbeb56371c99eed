#include "common/duration.h"

#include <array>
#include <limits>

namespace shoal {
namespace {

struct Unit {
  char suffix;
  int64_t seconds;
};
// Largest first: parsing requires this order and formatting emits it.
constexpr std::array<Unit, 4> kUnits = {{{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

Result<int64_t> ParseDurationSeconds(std::string_view text) {
  auto invalid = [&](const char* why) {
    return InvalidArgument("invalid duration \"" + std::string(text) + "\": " + why);
  };
  if (text.empty()) return invalid("empty");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  size_t next_unit = 0;  // index into kUnits of the smallest unit still allowed
  size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) return invalid("expected a number like 90s, 30m, 2h, 1h30m or 1d");
    int64_t value = 0;
    for (; i < text.size() && IsDigit(text[i]); ++i) {
      const int digit = text[i] - '0';
      if (value > (kMax - digit) / 10) return invalid("too large");
      value = value * 10 + digit;
    }
    int64_t unit_seconds = 1;
    if (i == text.size()) {
      // A bare number is seconds, but only on its own: "1h30" is ambiguous, so reject it.
      if (next_unit != 0) return invalid("missing unit after the last number");
    } else {
      size_t u = next_unit;
      while (u < kUnits.size() && kUnits[u].suffix != text[i]) ++u;
      if (u == kUnits.size()) return invalid("units are d, h, m, s, each once, largest first");
      unit_seconds = kUnits[u].seconds;
      next_unit = u + 1;
      ++i;
    }
    if (value > kMax / unit_seconds || total > kMax - value * unit_seconds) {
      return invalid("too large");
    }
    total += value * unit_seconds;
  }
  return total;
}

std::string FormatDurationSeconds(int64_t seconds) {
  if (seconds == 0) return "0s";
  std::string out;
  // Work on the magnitude as unsigned so that INT64_MIN does not overflow.
  uint64_t rest = static_cast<uint64_t>(seconds);
  if (seconds < 0) {
    out = "-";
    rest = 0 - rest;
  }
  for (const Unit& unit : kUnits) {
    const uint64_t count = rest / static_cast<uint64_t>(unit.seconds);
    if (count == 0) continue;
    out += std::to_string(count);
    out += unit.suffix;
    rest -= count * static_cast<uint64_t>(unit.seconds);
  }
  return out;
}

}  // namespace shoal

#include "common/duration.h"

#include <array>
#include <limits>
#include <optional>

#include "common/parse_number.h"

namespace shoal {
namespace {

struct Unit {
  std::string_view suffix;
  int64_t ms;
  int64_t seconds;  // 0: below a second
};
// Largest first: parsing requires this order and formatting emits it.
constexpr std::array<Unit, 5> kUnits = {{{"d", 86'400'000, 86400},
                                         {"h", 3'600'000, 3600},
                                         {"m", 60'000, 60},
                                         {"s", 1000, 1},
                                         {"ms", 1, 0}}};
constexpr size_t kMillisecondUnit = 4;

// The one parser behind both entry points: the total in milliseconds, or with `whole_seconds` in
// seconds (fractions and ms then rejected, so that every accepted text is a whole second count).
Result<int64_t> ParseDuration(std::string_view text, bool whole_seconds) {
  auto invalid = [&](const char* why) {
    return InvalidArgument("invalid duration \"" + std::string(text) + "\": " + why);
  };
  if (text.empty()) return invalid("empty");
  int64_t total = 0;
  size_t next_unit = 0;  // index into kUnits of the smallest unit still allowed
  size_t i = 0;
  while (i < text.size()) {
    const size_t length = DecimalPrefixLength(text.substr(i));
    const std::string_view number = text.substr(i, length);
    if (number.empty() || number == ".") {
      return invalid("expected a number like 90s, 30m, 2h, 1h30m or 1d");
    }
    i += length;
    size_t unit = 3;  // a bare number is seconds
    if (i == text.size()) {
      // A bare number is seconds, but only on its own: "1h30" is ambiguous, so reject it.
      if (next_unit != 0) return invalid("missing unit after the last number");
    } else {
      // "ms" is one unit, never minutes followed by a stray "s".
      const std::string_view suffix = text.substr(i, text.compare(i, 2, "ms") == 0 ? 2 : 1);
      unit = next_unit;
      while (unit < kUnits.size() && kUnits[unit].suffix != suffix) ++unit;
      if (unit == kUnits.size()) {
        return invalid(whole_seconds ? "units are d, h, m, s, each once, largest first"
                                     : "units are d, h, m, s, ms, each once, largest first");
      }
      next_unit = unit + 1;
      i += suffix.size();
    }
    if (whole_seconds && (unit == kMillisecondUnit || number.find('.') != std::string_view::npos)) {
      return invalid("whole seconds only, in units d, h, m and s");
    }
    const int64_t scale = whole_seconds ? kUnits[unit].seconds : kUnits[unit].ms;
    const std::optional<int64_t> part =
        ScaleDecimal(number, scale, std::numeric_limits<int64_t>::max() - total);
    if (!part) return invalid("too large");
    total += *part;
  }
  return total;
}

}  // namespace

Result<int64_t> ParseDurationMs(std::string_view text) { return ParseDuration(text, false); }

Result<int64_t> ParseDurationSeconds(std::string_view text) { return ParseDuration(text, true); }

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
    if (unit.seconds == 0) continue;  // whole seconds are formatted; ms never appear
    const uint64_t count = rest / static_cast<uint64_t>(unit.seconds);
    if (count == 0) continue;
    out += std::to_string(count);
    out += unit.suffix;
    rest -= count * static_cast<uint64_t>(unit.seconds);
  }
  return out;
}

}  // namespace shoal

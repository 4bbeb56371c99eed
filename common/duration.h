// Human-friendly durations for specs and flags: "90s", "30m", "2h", "1h30m", "1d".
//
// Both functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal {

// Parses a duration into whole seconds. Accepted forms:
//   - a bare non-negative count of seconds: "3600";
//   - one or more <digits><unit> parts with units d (86400 s), h, m, s, each unit at most once and
//     in that order: "90s", "30m", "2h", "1h30m", "1d12h", "2h0m5s".
// No sign, spaces, fractions or other units. Returns the seconds (which may be 0), or
// InvalidArgument when the text does not match or the total does not fit in an int64_t.
Result<int64_t> ParseDurationSeconds(std::string_view text);

// Formats seconds canonically as the largest units first with zero parts left out: 5400 -> "1h30m",
// 86400 -> "1d", 0 -> "0s". ParseDurationSeconds(FormatDurationSeconds(s)) == s for every s >= 0.
// A negative input is formatted as "-" followed by its magnitude (not parseable, by design).
std::string FormatDurationSeconds(int64_t seconds);

}  // namespace shoal

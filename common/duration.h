// Human-friendly durations for specs, flags and the scheduler's config, in one grammar:
// "500ms", "90s", "1.5h", "1h30m", "1d12h", "2h0m5s", or a bare number of seconds ("3600").
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal {

// The grammar: either a bare non-negative number of seconds ("3600", "1.5"), or one or more
// <number><unit> parts with units d (86400 s), h, m, s and ms, each unit at most once and in that
// order ("90s", "1h30m", "1d12h", "1.5h", "2s500ms"). A number is digits with an optional
// fraction ("1.5", ".5", "5."). No sign, spaces, exponents or other units; a number after a unit
// needs its own unit ("1h30" is ambiguous). Each part is rounded down to the function's unit.

// Parses a duration into milliseconds. InvalidArgument ("invalid duration ...") when the text
// does not match or the total does not fit in an int64_t.
Result<int64_t> ParseDurationMs(std::string_view text);

// Parses a duration into whole seconds: the same grammar restricted to whole numbers and the units
// d, h, m and s (what a job spec's maxRuntime and its JSON Schema pattern accept). Returns the
// seconds (which may be 0), or InvalidArgument.
Result<int64_t> ParseDurationSeconds(std::string_view text);

// Formats seconds canonically as the largest units first with zero parts left out: 5400 -> "1h30m",
// 86400 -> "1d", 0 -> "0s". ParseDurationSeconds(FormatDurationSeconds(s)) == s for every s >= 0.
// A negative input is formatted as "-" followed by its magnitude (not parseable, by design).
std::string FormatDurationSeconds(int64_t seconds);

}  // namespace shoal

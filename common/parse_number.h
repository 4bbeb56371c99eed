// Whole-string number parsing shared by the config, the API, the simulator's inputs, durations and
// byte sizes, so that "a number" means the same thing everywhere.
//
// All functions are pure and thread-safe.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace shoal {

// Parses all of `text` as a base-10 integer of type T (std::from_chars: an optional '-' for signed
// types, no '+', no spaces). Returns false for an empty text, trailing characters or overflow.
// Like std::from_chars, *out is written whenever a numeric prefix was read, even when trailing
// characters make the result false, and left alone otherwise.
template <typename T>
bool ParseInteger(std::string_view text, T* out) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

// Multiplies the non-negative decimal `number` (digits with an optional '.' and fraction: "12",
// "1.5", ".5", "5."; at least one digit, no sign or exponent) by `scale` >= 1 and rounds toward
// zero, exactly (no binary floating point: "0.29" x 1000 is 290). Fraction digits past the 18th
// are ignored. std::nullopt when `number` is not such a decimal or the result exceeds `max`.
std::optional<int64_t> ScaleDecimal(std::string_view number, int64_t scale, int64_t max);

// The length of the longest prefix of `text` that ScaleDecimal's grammar allows to start with
// (digits and at most one '.'); 0 when there is none. The prefix may still be a lone ".".
size_t DecimalPrefixLength(std::string_view text);

}  // namespace shoal

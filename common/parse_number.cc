#include "common/parse_number.h"

namespace shoal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

size_t DecimalPrefixLength(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && IsDigit(text[i])) ++i;
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && IsDigit(text[i])) ++i;
  }
  return i;
}

std::optional<int64_t> ScaleDecimal(std::string_view number, int64_t scale, int64_t max) {
  if (scale < 1 || max < 0 || DecimalPrefixLength(number) != number.size()) return std::nullopt;
  // 128-bit intermediates: an int64 integer part times a scale, or 18 fraction digits times a
  // scale, cannot overflow them.
  using Wide = unsigned __int128;
  const Wide limit = static_cast<Wide>(max);
  Wide whole = 0;
  size_t i = 0;
  bool any_digit = false;
  for (; i < number.size() && number[i] != '.'; ++i) {
    whole = whole * 10 + static_cast<Wide>(number[i] - '0');
    if (whole > limit) return std::nullopt;
    any_digit = true;
  }
  Wide fraction = 0, denominator = 1;
  for (size_t j = i + 1; j < number.size(); ++j) {
    any_digit = true;
    if (denominator >= Wide{1'000'000'000'000'000'000}) continue;  // past the 18th digit
    fraction = fraction * 10 + static_cast<Wide>(number[j] - '0');
    denominator *= 10;
  }
  if (!any_digit) return std::nullopt;
  const Wide total =
      whole * static_cast<Wide>(scale) + fraction * static_cast<Wide>(scale) / denominator;
  if (total > limit) return std::nullopt;
  return static_cast<int64_t>(total);
}

}  // namespace shoal

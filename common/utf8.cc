#include "common/utf8.h"

#include <cstdint>

namespace shoal {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when there is none.
size_t SequenceLength(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t extra = 0;
  uint32_t min_code = 0;
  if ((c & 0xE0) == 0xC0) {
    extra = 1, min_code = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    extra = 2, min_code = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    extra = 3, min_code = 0x10000;
  } else {
    return 0;
  }
  if (s.size() - i <= extra) return 0;
  uint32_t code = c & (0x3F >> extra);
  for (size_t k = 1; k <= extra; ++k) {
    const auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    code = (code << 6) | (cc & 0x3F);
  }
  if (code < min_code || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) return 0;
  return extra + 1;
}

}  // namespace

size_t FirstInvalidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = SequenceLength(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string SanitizeUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = SequenceLength(s, i);
    out += n == 0 ? std::string_view("\xEF\xBF\xBD") : s.substr(i, n);  // U+FFFD
    i += n == 0 ? 1 : n;
  }
  return out;
}

}  // namespace shoal

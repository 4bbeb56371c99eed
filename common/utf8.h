// UTF-8 checks for text that crosses a boundary: job specs (refused when invalid), trainer output
// and other strangers' bytes that end up in JSON (repaired, so that serialising never throws).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace shoal {

// Offset of the first byte of `s` that does not start a valid UTF-8 sequence (overlong forms,
// UTF-16 surrogates and code points past U+10FFFF are invalid), or std::string_view::npos when
// all of `s` is valid. Pure and thread-safe, as are the functions below.
size_t FirstInvalidUtf8(std::string_view s);
inline bool IsValidUtf8(std::string_view s) {
  return FirstInvalidUtf8(s) == std::string_view::npos;
}

// `s` with every byte that does not start a valid sequence replaced by U+FFFD.
std::string SanitizeUtf8(std::string_view s);

}  // namespace shoal

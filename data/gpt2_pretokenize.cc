// GPT-2's pre-tokenizer regex as a hand-written scanner over UTF-8 (see gpt2_bpe_internal.h):
// the regex alternatives are tried in order at each position, exactly as a backtracking engine
// would, with the Unicode classes taken from ICU.
#include <unicode/uchar.h>

#include <array>
#include <cstdint>

#include "data/gpt2_bpe_internal.h"

namespace shoal::gpt2_internal {
namespace {

enum class CharClass : uint8_t { kLetter, kNumber, kSpace, kOther };

CharClass ClassOf(UChar32 c) {
  // \s of the reference (Python's `regex` module) is Unicode White_Space; JavaScript's \s
  // differs (it adds U+FEFF and lacks U+0085).
  if (u_isUWhiteSpace(c)) return CharClass::kSpace;
  const uint32_t mask = U_GET_GC_MASK(c);
  if (mask & U_GC_L_MASK) return CharClass::kLetter;
  if (mask & U_GC_N_MASK) return CharClass::kNumber;
  return CharClass::kOther;
}

// ASCII classes, precomputed: most text is ASCII and ICU's lookups cost a few ns each.
const std::array<CharClass, 128>& AsciiClasses() {
  static const std::array<CharClass, 128> table = [] {
    std::array<CharClass, 128> t{};
    for (int c = 0; c < 128; ++c) t[c] = ClassOf(c);
    return t;
  }();
  return table;
}

struct Char {
  CharClass cls;
  int len;  // bytes
};

// The character at text[i] (i < size). A byte that does not start a well-formed UTF-8 sequence
// (truncated, overlong, surrogate, above U+10FFFF) is one "other" character of its own.
Char CharAt(std::string_view text, size_t i) {
  const auto b0 = static_cast<unsigned char>(text[i]);
  if (b0 < 0x80) return {AsciiClasses()[b0], 1};
  int len;
  UChar32 c;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2, c = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3, c = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4, c = b0 & 0x07;
  } else {
    return {CharClass::kOther, 1};
  }
  if (i + len > text.size()) return {CharClass::kOther, 1};
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(text[i + k]);
    if ((b & 0xC0) != 0x80) return {CharClass::kOther, 1};
    c = (c << 6) | (b & 0x3F);
  }
  const bool overlong = (len == 3 && c < 0x800) || (len == 4 && c < 0x10000);
  if (overlong || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return {CharClass::kOther, 1};
  return {ClassOf(c), len};
}

// The end of the run of characters of class `cls` that starts at i.
size_t RunEnd(std::string_view text, size_t i, CharClass cls) {
  while (i < text.size()) {
    const Char ch = CharAt(text, i);
    if (ch.cls != cls) break;
    i += ch.len;
  }
  return i;
}

// The length of a contraction ('s 't 're 've 'm 'll 'd, case-sensitive) at text[i], else 0.
size_t ContractionAt(std::string_view text, size_t i) {
  if (text[i] != '\'' || i + 1 >= text.size()) return 0;
  const char a = text[i + 1];
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
  if (i + 2 >= text.size()) return 0;
  const char b = text[i + 2];
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
  return 0;
}

}  // namespace

size_t PieceEnd(std::string_view text, size_t i) {
  if (size_t n = ContractionAt(text, i)) return i + n;
  const Char first = CharAt(text, i);
  // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": an optional U+0020, then a run of one class.
  if (text[i] == ' ' && i + 1 < text.size()) {
    const Char second = CharAt(text, i + 1);
    if (second.cls != CharClass::kSpace) return RunEnd(text, i + 1, second.cls);
  }
  if (first.cls != CharClass::kSpace) return RunEnd(text, i, first.cls);
  // "\s+(?!\S)": the whitespace run, less its last character when a non-space follows (that
  // character then starts the next piece, e.g. " word"); "\s+" when the run is one character.
  size_t last = i;  // start of the run's last character
  size_t end = i;
  while (end < text.size()) {
    const Char ch = CharAt(text, end);
    if (ch.cls != CharClass::kSpace) break;
    last = end;
    end += ch.len;
  }
  if (end == text.size() || last == i) return end;
  return last;
}

std::vector<std::string_view> PreTokenize(std::string_view text) {
  std::vector<std::string_view> pieces;
  size_t i = 0;
  while (i < text.size()) {
    const size_t end = PieceEnd(text, i);
    pieces.push_back(text.substr(i, end - i));
    i = end;
  }
  return pieces;
}

}  // namespace shoal::gpt2_internal

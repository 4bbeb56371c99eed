// Internals of the GPT-2 tokenizer (data/gpt2_bpe.cc), exposed for its tests.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

namespace shoal::gpt2_internal {

// Splits `text` into the pieces GPT-2's pre-tokenizer regex matches, in order:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// with the classes of the reference (Python's `regex` module): \p{L} the letter categories,
// \p{N} the number categories, \s Unicode White_Space. Bytes that are not valid UTF-8 count one
// by one as "other" characters (neither letter, number nor space), as the lone surrogates of
// Python's surrogateescape decoding would. The pieces cover `text` exactly.
std::vector<std::string_view> PreTokenize(std::string_view text);

// The end of the piece that starts at `start` (< text.size()): PreTokenize one piece at a time.
size_t PieceEnd(std::string_view text, size_t start);

}  // namespace shoal::gpt2_internal

// Tokenizers for text data (issue 15): text -> token ids for `shoal tokenize` and prompts, ids ->
// text for generated samples. Two exist:
//   bytes: one token per byte, vocabulary 256 (a char-level model; any bytes round-trip);
//   gpt2:  GPT-2's byte-level BPE, from the published encoder.json + vocab.bpe (vocabulary
//          50257, id 50256 = <|endoftext|>), matching the reference encoder token for token; its
//          pre-tokenizer's Unicode classes (letters, numbers, whitespace) come from ICU.
// Implementations are immutable after construction: Encode/Decode are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // "bytes" or "gpt2".
  virtual std::string name() const = 0;
  // Token ids are in [0, vocab_size()).
  virtual int vocab_size() const = 0;
  // The ids of `text` (any bytes; gpt2 reads it as UTF-8 and treats invalid sequences as the
  // reference does: byte-level, so nothing is lost). Never fails for bytes; gpt2: Internal only
  // on an inconsistent vocabulary.
  virtual Result<std::vector<int32_t>> Encode(std::string_view text) const = 0;
  // The bytes of `ids` concatenated; InvalidArgument naming the first id outside the vocabulary.
  virtual Result<std::string> Decode(const std::vector<int32_t>& ids) const = 0;
};

// One token per byte.
std::unique_ptr<Tokenizer> MakeBytesTokenizer();

// GPT-2's BPE from encoder.json (token string -> id, byte-level alphabet) and vocab.bpe (merge
// ranks, first line a version comment). InvalidArgument naming the file and what is wrong when
// either is missing or malformed.
Result<std::unique_ptr<Tokenizer>> LoadGpt2Tokenizer(const std::string& encoder_json_path,
                                                     const std::string& vocab_bpe_path);

}  // namespace shoal

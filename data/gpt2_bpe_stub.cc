// TEMPORARY (issue 15): a stand-in for LoadGpt2Tokenizer so that `shoal tokenize` links while the
// real GPT-2 BPE (data/gpt2_bpe.cc) is written on another branch. Delete this file when that
// branch is merged.
#include "data/tokenizer.h"

namespace shoal {

Result<std::unique_ptr<Tokenizer>> LoadGpt2Tokenizer(const std::string& encoder_json_path,
                                                     const std::string& vocab_bpe_path) {
  (void)encoder_json_path;
  (void)vocab_bpe_path;
  return FailedPrecondition("gpt2 tokenizer not built (data/gpt2_bpe.cc is not merged yet)");
}

}  // namespace shoal

// The bytes tokenizer: token i is byte i, so any input (binary, invalid UTF-8) round-trips and a
// char-level model needs no vocabulary files.
#include <string>
#include <vector>

#include "data/tokenizer.h"

namespace shoal {
namespace {

constexpr int kBytesVocab = 256;

class BytesTokenizer final : public Tokenizer {
 public:
  std::string name() const override { return "bytes"; }
  int vocab_size() const override { return kBytesVocab; }

  Result<std::vector<int32_t>> Encode(std::string_view text) const override {
    std::vector<int32_t> ids(text.size());
    for (size_t i = 0; i < text.size(); ++i) ids[i] = static_cast<unsigned char>(text[i]);
    return ids;
  }

  Result<std::string> Decode(const std::vector<int32_t>& ids) const override {
    std::string text(ids.size(), '\0');
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] < 0 || ids[i] >= kBytesVocab) {
        return InvalidArgument("token id " + std::to_string(ids[i]) + " at index " +
                               std::to_string(i) + " is outside the bytes vocabulary (0..255)");
      }
      text[i] = static_cast<char>(ids[i]);
    }
    return text;
  }
};

}  // namespace

std::unique_ptr<Tokenizer> MakeBytesTokenizer() { return std::make_unique<BytesTokenizer>(); }

}  // namespace shoal

#include "common/audit/state_digest.h"

#include <cstdint>

#include "common/audit/blake3.h"
#include "common/sha256.h"

namespace shoal::audit {
namespace {

void PutU64(Sha256& h, uint64_t v) {
  char b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<char>(v >> (8 * i));  // little-endian
  h.Update(std::string_view(b, 8));
}

// One tensor's part: its name (NUL-terminated), rank, dimensions, byte length and the BLAKE3
// hash of its bytes (2-3x faster than SHA-256 over them; both are collision-resistant).
void PutTensor(Sha256& h, std::string_view name, const std::vector<int64_t>& shape,
               std::string_view data) {
  h.Update(name);
  h.Update(std::string_view("\0", 1));
  PutU64(h, shape.size());
  for (int64_t d : shape) PutU64(h, static_cast<uint64_t>(d));
  PutU64(h, data.size());
  const Blake3Digest bytes = Blake3(data.data(), data.size());
  h.Update(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

void PutMetadata(Sha256& h, const std::map<std::string, std::string>& metadata) {
  for (std::string_view key : kResumeKeys) {
    auto it = metadata.find(std::string(key));
    const std::string_view value = it == metadata.end() ? "" : std::string_view(it->second);
    PutU64(h, value.size());
    h.Update(value);
  }
}

}  // namespace

std::string StateDigest(const std::vector<TensorView>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  std::map<std::string_view, const TensorView*> by_name;
  for (const TensorView& t : tensors) by_name[t.name] = &t;
  Sha256 h;
  for (const auto& [name, t] : by_name) {
    int64_t n = 1;
    for (int64_t d : t->shape) n *= d;
    PutTensor(h, name, t->shape,
              std::string_view(reinterpret_cast<const char*>(t->data),
                               static_cast<size_t>(n) * sizeof(float)));
  }
  PutMetadata(h, metadata);
  return h.HexDigest();
}

std::string StateDigest(std::string_view bytes, const SafetensorsIndex& index) {
  Sha256 h;
  for (const auto& [name, e] : index.entries) {  // a std::map: name order
    PutTensor(h, name, e.shape, bytes.substr(index.data_begin + e.begin, e.end - e.begin));
  }
  PutMetadata(h, index.metadata);
  return h.HexDigest();
}

}  // namespace shoal::audit

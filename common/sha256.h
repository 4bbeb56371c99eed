// SHA-256 (OpenSSL), as lower-case hex: the checksum checkpoints travel and are stored with.
#pragma once

#include <string>
#include <string_view>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace shoal {

// 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

// The same, over data that arrives in pieces (an upload streamed to disk).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  // The digest of everything given so far; the object is spent afterwards.
  std::string HexDigest();

 private:
  ::evp_md_ctx_st* ctx_;
};

}  // namespace shoal

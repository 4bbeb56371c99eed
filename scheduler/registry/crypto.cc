#include "scheduler/registry/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <memory>

#include "common/file_util.h"

namespace shoal {

namespace {

constexpr size_t kKeyBytes = 32;
constexpr size_t kNonceBytes = 12;  // GCM's native IV size: no GHASH of the IV
constexpr size_t kTagBytes = 16;
static_assert(kNonceBytes + kTagBytes == kSealOverhead);
constexpr std::string_view kWrapPrefix = "v1:";
// EVP_*Update take an int length; larger inputs go through in pieces of this size.
constexpr size_t kMaxUpdate = size_t{1} << 30;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string Hex(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes.size());
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes hex digits (either case) into `out`; false on an odd length or a non-hex character.
bool Unhex(std::string_view hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->resize(hex.size() / 2);
  for (size_t i = 0; i < out->size(); ++i) {
    const int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    (*out)[i] = static_cast<char>(hi << 4 | lo);
  }
  return true;
}

// Feeds `in` through EVP_{En,De}cryptUpdate (`out` null: as AAD); *written: the bytes output.
// False when OpenSSL fails.
template <typename UpdateFn>
bool Update(UpdateFn update, EVP_CIPHER_CTX* ctx, unsigned char* out, std::string_view in,
            size_t* written) {
  *written = 0;
  for (size_t pos = 0; pos < in.size(); pos += kMaxUpdate) {
    const size_t n = std::min(kMaxUpdate, in.size() - pos);
    int len = 0;
    if (update(ctx, out == nullptr ? nullptr : out + *written, &len, Bytes(in) + pos,
               static_cast<int>(n)) != 1) {
      return false;
    }
    *written += static_cast<size_t>(len);
  }
  return true;
}

// nonce || AES-256-GCM(plaintext) || tag, under a 32-byte key.
Result<std::string> Seal(const unsigned char* key, std::string_view plaintext,
                         std::string_view aad) {
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  unsigned char* nonce = Bytes(out);
  if (RAND_bytes(nonce, static_cast<int>(kNonceBytes)) != 1)
    return Internal("the random generator failed");
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  size_t len = 0;
  int final_len = 0;
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes),
                          nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key, nonce) != 1 ||
      !Update(EVP_EncryptUpdate, ctx.get(), nullptr, aad, &len) ||
      !Update(EVP_EncryptUpdate, ctx.get(), nonce + kNonceBytes, plaintext, &len) ||
      len != plaintext.size() ||
      EVP_EncryptFinal_ex(ctx.get(), nonce + kNonceBytes + len, &final_len) != 1 ||
      final_len != 0 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          nonce + kNonceBytes + len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return Internal("AES-256-GCM encryption failed in OpenSSL");
  }
  return out;
}

// The plaintext of Seal's output, or false when it does not authenticate (or OpenSSL fails).
bool Open(const unsigned char* key, std::string_view blob, std::string_view aad,
          std::string* plaintext) {
  if (blob.size() < kNonceBytes + kTagBytes) return false;
  const std::string_view ciphertext = blob.substr(kNonceBytes, blob.size() - kSealOverhead);
  // SET_TAG takes a non-const pointer.
  unsigned char tag[kTagBytes];
  std::copy_n(Bytes(blob) + blob.size() - kTagBytes, kTagBytes, tag);
  plaintext->assign(ciphertext.size(), '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  size_t len = 0;
  int final_len = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kNonceBytes),
                          nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key, Bytes(blob)) == 1 &&
      Update(EVP_DecryptUpdate, ctx.get(), nullptr, aad, &len) &&
      Update(EVP_DecryptUpdate, ctx.get(), Bytes(*plaintext), ciphertext, &len) &&
      len == ciphertext.size() &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), Bytes(*plaintext) + len, &final_len) == 1 && final_len == 0;
  if (!ok) {
    // Decrypted but unauthenticated bytes are not to be used, nor left lying in memory.
    OPENSSL_cleanse(plaintext->data(), plaintext->size());
    plaintext->clear();
  }
  return ok;
}

}  // namespace

Result<DataKey> NewDataKey() {
  DataKey key{};
  if (RAND_bytes(key.bytes.data(), static_cast<int>(key.bytes.size())) != 1) {
    return Internal("the random generator failed to make a data key");
  }
  return key;
}

Result<MasterKey> MasterKeyFromHex(std::string_view hex) {
  std::string raw;
  if (hex.size() != 2 * kKeyBytes || !Unhex(hex, &raw)) {
    OPENSSL_cleanse(raw.data(), raw.size());
    return InvalidArgument("a master key in hex is 64 hex digits (" + std::to_string(hex.size()) +
                           " characters given, or not all hex digits)");
  }
  MasterKey key{};
  std::copy_n(Bytes(raw), kKeyBytes, key.bytes.data());
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

Result<MasterKey> LoadMasterKey(const std::string& path) {
  // Small bound: a key file is 32 or ~65 bytes; anything large is the wrong file.
  Result<std::string> read = ReadFileLimited(path, 4096);
  if (!read.ok()) {
    // ReadFileLimited's messages name the file.
    if (read.status().code() == StatusCode::kInvalidArgument) {
      return InvalidArgument("master key file " + read.status().message() +
                             "; it must hold 32 raw bytes or 64 hex digits");
    }
    return Unavailable("cannot read the master key file: " + read.status().message());
  }
  std::string content = std::move(read).value();
  MasterKey key{};
  bool ok = false;
  if (content.size() == kKeyBytes) {
    std::copy_n(Bytes(content), kKeyBytes, key.bytes.data());
    ok = true;
  } else {
    std::string_view hex = content;
    while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back())) != 0) {
      hex.remove_suffix(1);
    }
    Result<MasterKey> parsed = MasterKeyFromHex(hex);
    if (parsed.ok()) {
      key = *parsed;
      ok = true;
    }
  }
  const size_t size = content.size();
  OPENSSL_cleanse(content.data(), content.size());
  if (!ok) {
    return InvalidArgument("master key file " + path + " holds " + std::to_string(size) +
                           " bytes; it must hold exactly 32 raw bytes, or 64 hex digits "
                           "optionally followed by whitespace");
  }
  return key;
}

Result<std::string> WrapDataKey(const MasterKey& master, const DataKey& key,
                                std::string_view context) {
  const std::string_view raw(reinterpret_cast<const char*>(key.bytes.data()), key.bytes.size());
  ASSIGN_OR_RETURN(std::string sealed, Seal(master.bytes.data(), raw, context));
  return std::string(kWrapPrefix) + Hex(sealed);
}

Result<DataKey> UnwrapDataKey(const MasterKey& master, std::string_view wrapped,
                              std::string_view context) {
  std::string sealed;
  if (wrapped.substr(0, kWrapPrefix.size()) != kWrapPrefix ||
      wrapped.size() != kWrapPrefix.size() + 2 * (kKeyBytes + kSealOverhead) ||
      !Unhex(wrapped.substr(kWrapPrefix.size()), &sealed)) {
    return InvalidArgument("a wrapped data key is \"v1:\" and " +
                           std::to_string(2 * (kKeyBytes + kSealOverhead)) + " hex digits");
  }
  std::string raw;
  if (!Open(master.bytes.data(), sealed, context, &raw)) {
    return Internal("the data key of " + std::string(context) +
                    " does not unwrap: another master key, another dataset's key, or tampered "
                    "with");
  }
  DataKey key{};
  std::copy_n(Bytes(raw), kKeyBytes, key.bytes.data());
  OPENSSL_cleanse(raw.data(), raw.size());
  return key;
}

Result<std::string> SealChunk(const DataKey& key, std::string_view plaintext,
                              std::string_view aad) {
  return Seal(key.bytes.data(), plaintext, aad);
}

Result<std::string> OpenChunk(const DataKey& key, std::string_view blob, std::string_view aad) {
  std::string plaintext;
  if (!Open(key.bytes.data(), blob, aad, &plaintext)) {
    return Internal(blob.size() < static_cast<size_t>(kSealOverhead)
                        ? "a sealed chunk of " + std::to_string(blob.size()) +
                              " bytes is shorter than its nonce and tag"
                        : std::string("a sealed chunk does not authenticate: another key, "
                                      "another name, or changed since it was sealed"));
  }
  return plaintext;
}

}  // namespace shoal

// Encryption at rest for private datasets (issue 14): AES-256-GCM through OpenSSL's EVP API.
//
// Two layers of keys. Each private dataset has a random data key that seals its chunks; the data
// key is stored only wrapped (itself sealed) under the scheduler's master key, which comes from a
// file or a Kubernetes Secret mount and never leaves the scheduler.
//
// Formats (docs/registry.md, "Privacy"):
//   sealed chunk  12-byte random nonce || ciphertext (as long as the plaintext) || 16-byte tag,
//                 with the caller's `aad` (the chunk store passes the chunk's id) authenticated
//                 but not stored.
//   wrapped key   "v1:" followed by 120 lowercase hex digits: 12-byte random nonce || the 32
//                 encrypted key bytes || 16-byte tag, sealed under the master key with `context`
//                 (e.g. "datasets/alice/x") as AAD, so a wrapped key copied to another dataset
//                 does not open.
//
// Authentication failures (a wrong key, a wrong aad or context, a flipped bit, a short blob) are
// Internal: StatusCode has no DataLoss, and what they mean is that the scheduler's own stored
// bytes or its configuration are wrong, never that the caller may not read them. The messages
// never contain key bytes.
//
// Thread-safety: all functions are pure apart from drawing random nonces and keys (RAND_bytes is
// thread-safe); call them from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace shoal {

// A dataset's AES-256 key.
struct DataKey {
  std::array<unsigned char, 32> bytes;
};

// The scheduler's key-wrapping AES-256 key.
struct MasterKey {
  std::array<unsigned char, 32> bytes;
};

// What SealChunk adds to a plaintext: the nonce and the tag.
constexpr int64_t kSealOverhead = 28;

// A fresh random data key. Internal when the random generator fails.
Result<DataKey> NewDataKey();

// Reads the master key from `path`: a file of exactly 32 raw bytes, or of 64 hex digits (either
// case) optionally followed by whitespace (the newline `echo` or a Secret leaves). Unavailable
// when the file cannot be read, InvalidArgument when it holds anything else; both name the file.
Result<MasterKey> LoadMasterKey(const std::string& path);
// A master key from 64 hex digits (nothing else). InvalidArgument otherwise.
Result<MasterKey> MasterKeyFromHex(std::string_view hex);

// Wraps `key` under `master` for `context` (the dataset it belongs to), in the printable format
// above; each call draws a new nonce. Internal when OpenSSL fails.
Result<std::string> WrapDataKey(const MasterKey& master, const DataKey& key,
                                std::string_view context);
// The data key of a wrapped one. InvalidArgument when `wrapped` is not in the format above;
// Internal when it does not authenticate (another master key, another context, tampered).
Result<DataKey> UnwrapDataKey(const MasterKey& master, std::string_view wrapped,
                              std::string_view context);

// Seals `plaintext` (any size, empty included) under `key` with `aad` authenticated: a blob of
// plaintext.size() + kSealOverhead bytes, different on each call (random nonce). Internal when
// OpenSSL fails.
Result<std::string> SealChunk(const DataKey& key, std::string_view plaintext, std::string_view aad);
// The plaintext of a sealed blob. Internal when it does not authenticate (another key, another
// aad, a changed or truncated blob); no unauthenticated plaintext is ever returned.
Result<std::string> OpenChunk(const DataKey& key, std::string_view blob, std::string_view aad);

}  // namespace shoal

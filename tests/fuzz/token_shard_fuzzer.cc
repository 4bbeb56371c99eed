// libFuzzer target: the token shard reader (data/token_shards.h) on files written to a private
// temporary directory (in /dev/shm when it exists, so no disk I/O).
//
// Input: bytes 0-1 (little-endian uint16; 0 = unchecked) are the vocabulary size, the rest is the
// shard file. A shard that is accepted must be exactly header + 2N bytes with every token below
// the vocabulary, agree with ReadTokenShardHeader, and be rewritten by WriteTokenShard to the
// same magic, version, count and tokens.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "data/token_shards.h"

namespace {

std::string g_dir;  // the private temporary directory

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "token_shard_fuzzer: %s\n", what.c_str());
  std::abort();
}

void RemoveDir() {
  std::error_code ec;
  std::filesystem::remove_all(g_dir, ec);
}

void WriteFile(const std::string& path, std::string_view bytes) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() ||
      std::fclose(f) != 0) {
    Fail("cannot write " + path);
  }
}

std::string ReadFile(const std::string& path) {
  std::string bytes(std::filesystem::file_size(path), '\0');
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr || std::fread(bytes.data(), 1, bytes.size(), f) != bytes.size()) {
    Fail("cannot read " + path);
  }
  std::fclose(f);
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* base = std::filesystem::is_directory("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string tmpl = std::string(base) + "/shoal-token-shard-fuzz-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp failed");
  g_dir = tmpl;
  std::atexit(RemoveDir);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int vocab = data[0] | (data[1] << 8);
  const std::string_view file(reinterpret_cast<const char*>(data) + 2, size - 2);
  const std::string path = g_dir + "/shard.bin";
  WriteFile(path, file);
  auto tokens = shoal::ReadTokenShard(path, vocab);
  auto count = shoal::ReadTokenShardHeader(path);
  if (!tokens.ok()) {
    const auto code = tokens.status().code();
    if (code != shoal::StatusCode::kInvalidArgument) {
      Fail("unexpected status " + tokens.status().ToString());
    }
    if (tokens.status().message().find(path) == std::string::npos) Fail("error lacks the path");
    return 0;
  }
  if (!count.ok() || *count != static_cast<int64_t>(tokens->size())) {
    Fail("ReadTokenShardHeader disagrees with ReadTokenShard");
  }
  if (file.size() != shoal::kTokenShardHeaderBytes + 2 * tokens->size()) {
    Fail("accepted a shard whose size is not header + 2N");
  }
  for (uint16_t t : *tokens) {
    if (vocab > 0 && t >= vocab) Fail("accepted a token outside the vocabulary");
  }
  const std::string copy = g_dir + "/copy.bin";
  if (!shoal::WriteTokenShard(copy, *tokens).ok()) Fail("cannot rewrite an accepted shard");
  const std::string rewritten = ReadFile(copy);
  // Header words 3..255 are ignored by readers (llm.c writes zeros); the rest must match.
  if (rewritten.substr(0, 12) != file.substr(0, 12) ||
      rewritten.substr(shoal::kTokenShardHeaderBytes) !=
          file.substr(shoal::kTokenShardHeaderBytes)) {
    Fail("rewriting an accepted shard changed it");
  }
  return 0;
}

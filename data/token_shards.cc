#include "data/token_shards.h"

#include <sys/stat.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/file_util.h"

namespace shoal {
namespace {

static_assert(std::endian::native == std::endian::little ||
              std::endian::native == std::endian::big);

// Tokens converted per write: bounds the staging buffer (2 MiB) for shards of any size.
constexpr size_t kWriteChunkTokens = 1 << 20;

void StoreLe32(int32_t v, unsigned char* p) {
  const auto u = static_cast<uint32_t>(v);
  for (int i = 0; i < 4; ++i) p[i] = static_cast<unsigned char>(u >> (8 * i));
}

int32_t LoadLe32(const unsigned char* p) {
  uint32_t u = 0;
  for (int i = 0; i < 4; ++i) u |= static_cast<uint32_t>(p[i]) << (8 * i);
  return static_cast<int32_t>(u);
}

std::string Header(int64_t num_tokens) {
  std::string header(kTokenShardHeaderBytes, '\0');
  auto* p = reinterpret_cast<unsigned char*>(header.data());
  StoreLe32(kTokenShardMagic, p);
  StoreLe32(kTokenShardVersion, p + 4);
  StoreLe32(static_cast<int32_t>(num_tokens), p + 8);
  return header;
}

// Writes the header and the tokens (each already checked to fit uint16), little-endian.
template <typename T>
Status WriteShard(const std::string& path, std::span<const T> tokens) {
  if (static_cast<int64_t>(tokens.size()) > kTokenShardMaxTokens) {
    return InvalidArgument(path + ": " + std::to_string(tokens.size()) +
                           " tokens do not fit one shard (at most " +
                           std::to_string(kTokenShardMaxTokens) + ")");
  }
  return WriteFileAtomic(path, [&](const ChunkWriter& write) -> Status {
    const std::string header = Header(static_cast<int64_t>(tokens.size()));
    if (!write(header.data(), header.size())) return Unavailable(path + ": short write");
    std::vector<unsigned char> buffer(2 * std::min(tokens.size(), kWriteChunkTokens));
    for (size_t begin = 0; begin < tokens.size(); begin += kWriteChunkTokens) {
      const size_t end = std::min(tokens.size(), begin + kWriteChunkTokens);
      for (size_t i = begin; i < end; ++i) {
        const auto v = static_cast<uint16_t>(tokens[i]);
        buffer[2 * (i - begin)] = static_cast<unsigned char>(v & 0xFF);
        buffer[2 * (i - begin) + 1] = static_cast<unsigned char>(v >> 8);
      }
      if (!write(buffer.data(), 2 * (end - begin))) return Unavailable(path + ": short write");
    }
    return Status::Ok();
  });
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

std::string ErrnoText(int err) { return std::strerror(err); }

// An open shard whose header has been checked against the file's size.
struct OpenShard {
  File file;
  int64_t num_tokens = 0;
};

Result<OpenShard> OpenAndCheck(const std::string& path) {
  File file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr) {
    const int err = errno;
    if (err == ENOENT) return NotFound(path + ": no such file");
    return Unavailable(path + ": cannot open: " + ErrnoText(err));
  }
  struct stat st {};
  if (fstat(fileno(file.get()), &st) != 0) {
    return Unavailable(path + ": cannot stat: " + ErrnoText(errno));
  }
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + ": not a regular file");
  const int64_t size = st.st_size;
  if (size < kTokenShardHeaderBytes) {
    return InvalidArgument(path + ": truncated header: the file is " + std::to_string(size) +
                           " bytes, a token shard's header alone is " +
                           std::to_string(kTokenShardHeaderBytes));
  }
  unsigned char header[kTokenShardHeaderBytes];
  if (std::fread(header, 1, sizeof(header), file.get()) != sizeof(header)) {
    return Unavailable(path + ": cannot read the header: " +
                       (std::ferror(file.get()) ? ErrnoText(errno) : "unexpected end of file"));
  }
  const int32_t magic = LoadLe32(header);
  if (magic != kTokenShardMagic) {
    std::string hint = magic == 20240801
                           ? " (llm.c's LLaMA-3 format with uint32 tokens, which is not supported)"
                           : " (not an llm.c token shard?)";
    return InvalidArgument(path + ": bad magic " + std::to_string(magic) + " at byte 0, expected " +
                           std::to_string(kTokenShardMagic) + hint);
  }
  const int32_t version = LoadLe32(header + 4);
  if (version != kTokenShardVersion) {
    return InvalidArgument(path + ": unsupported version " + std::to_string(version) +
                           " at byte 4 (supported: " + std::to_string(kTokenShardVersion) +
                           ", uint16 tokens)");
  }
  const int32_t num_tokens = LoadLe32(header + 8);
  if (num_tokens < 0) {
    return InvalidArgument(path + ": bad token count " + std::to_string(num_tokens) +
                           " at byte 8 (negative)");
  }
  const int64_t payload = size - kTokenShardHeaderBytes;
  const int64_t expected = 2 * static_cast<int64_t>(num_tokens);
  if (payload < expected) {
    return InvalidArgument(path + ": truncated: the header says " + std::to_string(num_tokens) +
                           " tokens (byte 8), the file holds " + std::to_string(payload / 2) +
                           (payload % 2 != 0 ? " and a half" : "") + " (it ends at byte " +
                           std::to_string(size) + ", " + std::to_string(num_tokens) +
                           " tokens end at byte " +
                           std::to_string(kTokenShardHeaderBytes + expected) + ")");
  }
  if (payload > expected) {
    return InvalidArgument(path + ": " + std::to_string(payload - expected) +
                           " trailing bytes at byte " +
                           std::to_string(kTokenShardHeaderBytes + expected) + " after the " +
                           std::to_string(num_tokens) + " tokens the header announces (byte 8)");
  }
  return OpenShard{std::move(file), num_tokens};
}

}  // namespace

Status WriteTokenShard(const std::string& path, std::span<const int32_t> tokens) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] > kTokenShardMaxToken) {
      return InvalidArgument(path + ": token " + std::to_string(tokens[i]) + " at index " +
                             std::to_string(i) + " does not fit a shard's uint16 (0.." +
                             std::to_string(kTokenShardMaxToken) + ")");
    }
  }
  return WriteShard(path, tokens);
}

Status WriteTokenShard(const std::string& path, std::span<const uint16_t> tokens) {
  return WriteShard(path, tokens);
}

Result<int64_t> ReadTokenShardHeader(const std::string& path) {
  ASSIGN_OR_RETURN(OpenShard shard, OpenAndCheck(path));
  return shard.num_tokens;
}

Result<std::vector<uint16_t>> ReadTokenShard(const std::string& path, int vocab_size) {
  ASSIGN_OR_RETURN(OpenShard shard, OpenAndCheck(path));
  // The file's size was checked to match, so this allocation is bounded by the data on disk.
  std::vector<uint16_t> tokens(static_cast<size_t>(shard.num_tokens));
  if (std::fread(tokens.data(), 2, tokens.size(), shard.file.get()) != tokens.size()) {
    return Unavailable(
        path + ": cannot read the tokens: " +
        (std::ferror(shard.file.get()) ? ErrnoText(errno) : "the file shrank while being read"));
  }
  if constexpr (std::endian::native == std::endian::big) {
    for (uint16_t& t : tokens) t = static_cast<uint16_t>((t >> 8) | (t << 8));
  }
  if (vocab_size > 0) {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] >= vocab_size) {
        return InvalidArgument(
            path + ": token " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
            " (byte " + std::to_string(kTokenShardHeaderBytes + 2 * static_cast<int64_t>(i)) +
            ") is outside the vocabulary of " + std::to_string(vocab_size));
      }
    }
  }
  return tokens;
}

}  // namespace shoal

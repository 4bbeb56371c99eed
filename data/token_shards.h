// Token shards: the file format of karpathy/llm.c (dev/data/data_common.py write_datafile, read by
// its DataLoader), so that shards llm.c writes are read unchanged and ours train llm.c:
//
//   bytes 0..1023  header: 256 little-endian int32; [0] = 20240520 (magic), [1] = 1 (version),
//                  [2] = N, the number of tokens; the rest 0
//   bytes 1024..   N little-endian uint16 tokens, nothing after them
//
// (llm.c's LLaMA-3 variant, magic 20240801 with uint32 tokens, is not supported.) Readers check
// everything before trusting it: the header against the file's size before allocating by it, so a
// corrupt or hostile file yields a Status naming the file and the byte offset, never a crash.
//
// All functions are free of shared state and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal {

inline constexpr int32_t kTokenShardMagic = 20240520;
inline constexpr int32_t kTokenShardVersion = 1;
inline constexpr int64_t kTokenShardHeaderBytes = 256 * 4;
// The largest token a shard holds (uint16), and the most tokens one shard holds (int32 count).
inline constexpr int32_t kTokenShardMaxToken = 65535;
inline constexpr int64_t kTokenShardMaxTokens = 2147483647;

// Writes `tokens` as a shard at `path`, atomically (a temporary file renamed over `path`, so a
// crash never leaves a partial shard). InvalidArgument naming the first token outside
// [0, 65535] (with its index) or when there are more than kTokenShardMaxTokens, before anything
// is written; Unavailable on an I/O error.
Status WriteTokenShard(const std::string& path, std::span<const int32_t> tokens);
Status WriteTokenShard(const std::string& path, std::span<const uint16_t> tokens);

// Checks a shard's header against the file without reading the tokens: the magic, the version,
// and that the file holds exactly the header plus N tokens. Returns N. NotFound when there is no
// such file, Unavailable on an I/O error, InvalidArgument naming the file and the byte offset
// otherwise ("bad magic 1234 at byte 0", "truncated: the header says N tokens (byte 8), the file
// holds M", "K trailing bytes at byte B after the N tokens").
Result<int64_t> ReadTokenShardHeader(const std::string& path);

// Reads a whole shard: the checks of ReadTokenShardHeader, then the tokens. With `vocab_size`
// > 0, every token must be below it: InvalidArgument names the first that is not, with its index
// and byte offset. Reads into memory (2 bytes per token: a 100M-token shard is 200 MB).
Result<std::vector<uint16_t>> ReadTokenShard(const std::string& path, int vocab_size = 0);

}  // namespace shoal

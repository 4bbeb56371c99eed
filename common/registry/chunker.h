// Content-defined chunking for the dataset registry: FastCDC (Xia et al., "FastCDC: a Fast and
// Efficient Content-Defined Chunking Approach for Data Deduplication", USENIX ATC 2016).
//
// Chunk boundaries are part of the registry's storage format (a chunk is stored under the SHA-256
// of its bytes, so two pushes share storage only if they cut the same way): the gear table, the
// masks and the cut rule below must never change for a given ChunkerParams. docs/design.md,
// "Dataset registry", states the format; chunker_test pins it.
//
// The cut rule. A chunk's first `min` bytes are never a boundary and are not hashed. From there the
// gear hash h = (h << 1) + kGear[byte] (64-bit, wrapping; h = 0 at the chunk's start) is rolled
// byte by byte, and the chunk ends after the first byte at which (h & mask) == 0, where mask is
// the top log2(avg) + 2 bits of h while the chunk holds at most `avg` bytes (harder to hit) and the
// top log2(avg) - 2 bits after that (easier): FastCDC's normalized chunking, level 2, which
// narrows the spread of chunk sizes around `avg`. A chunk that reaches `max` bytes ends there.
// The top bits of h depend on the last 64 bytes only, so a boundary depends on local content and
// survives insertions and deletions elsewhere. The stream's last chunk may be shorter than `min`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace shoal {

// Chunk sizes in bytes. The defaults are the registry's: 512 KiB / 2 MiB / 8 MiB.
struct ChunkerParams {
  size_t min = size_t{512} << 10;
  size_t avg = size_t{2} << 20;
  size_t max = size_t{8} << 20;
};

// The largest `max` ValidateChunkerParams accepts (the manifest's limit on one chunk).
inline constexpr size_t kMaxChunkerMax = size_t{64} << 20;

// OK when 64 <= min < avg < max <= kMaxChunkerMax and avg is a power of two (at least 256, so that
// both masks have bits); InvalidArgument naming the broken rule otherwise.
Status ValidateChunkerParams(const ChunkerParams& params);

// The 256 gear values: splitmix64 (Steele, Lea and Flood, 2014) from seed kGearSeed, the i-th
// output for byte value i. Fixed forever (see above).
inline constexpr uint64_t kGearSeed = 0x73686f616c636463;  // "shoalcdc" in ASCII
const std::array<uint64_t, 256>& GearTable();

// Cuts a stream fed in pieces of any size into chunks; the boundaries do not depend on how the
// stream is split into pieces. Buffers at most one chunk (`max` bytes): a chunk that lies inside
// one piece is passed to the callback without a copy. Not thread-safe (one stream, one thread).
class Chunker {
 public:
  // Receives each chunk in stream order; the view is valid only during the call. A non-OK
  // Status stops the stream: Update or Finish returns it.
  using ChunkFn = std::function<Status(std::string_view chunk)>;

  // InvalidArgument when `params` are invalid (ValidateChunkerParams).
  static Result<Chunker> Create(const ChunkerParams& params, ChunkFn on_chunk);

  // Feeds the next piece of the stream; calls on_chunk for every chunk that ends in it.
  Status Update(std::string_view piece);
  // Ends the stream: passes on the last, possibly short, chunk (nothing when the stream is empty
  // or ended on a boundary). The Chunker is then ready for a new stream.
  Status Finish();

 private:
  Chunker(const ChunkerParams& params, ChunkFn on_chunk);
  // How many bytes of p[0..n) complete the current chunk, or npos when it goes on past them
  // (then the hash and length state cover all n bytes).
  size_t FindCut(const uint8_t* p, size_t n);

  ChunkerParams params_;
  uint64_t mask_small_;  // below avg
  uint64_t mask_large_;  // from avg on
  ChunkFn on_chunk_;
  uint64_t hash_ = 0;
  size_t length_ = 0;   // bytes of the current chunk seen so far
  std::string buffer_;  // the current chunk's bytes from earlier pieces
};

// The chunk lengths of `data` as one whole stream (they sum to data.size(); none when data is
// empty). InvalidArgument when `params` are invalid.
Result<std::vector<size_t>> ChunkLengths(std::string_view data, const ChunkerParams& params = {});

}  // namespace shoal

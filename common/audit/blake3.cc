#include "common/audit/blake3.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/audit/blake3_internal.h"

namespace shoal::audit {
namespace {

using namespace blake3;

uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

void G(uint32_t* v, int a, int b, int c, int d, uint32_t x, uint32_t y) {
  v[a] = v[a] + v[b] + x;
  v[d] = Rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = Rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + y;
  v[d] = Rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = Rotr(v[b] ^ v[c], 7);
}

// The compression function; `out` (8 words: the new chaining value) may alias `cv`.
void Compress(const uint32_t cv[8], const uint32_t m[16], uint64_t counter, uint32_t block_len,
              uint32_t flags, uint32_t out[8]) {
  uint32_t v[16] = {cv[0],
                    cv[1],
                    cv[2],
                    cv[3],
                    cv[4],
                    cv[5],
                    cv[6],
                    cv[7],
                    kIv[0],
                    kIv[1],
                    kIv[2],
                    kIv[3],
                    static_cast<uint32_t>(counter),
                    static_cast<uint32_t>(counter >> 32),
                    block_len,
                    flags};
#pragma GCC unroll 7
  for (int r = 0; r < 7; ++r) {
    const uint8_t* s = kSchedule.word[r];
    G(v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
    G(v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
    G(v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
    G(v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
    G(v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
    G(v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
    G(v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
    G(v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
  }
  for (int i = 0; i < 8; ++i) out[i] = v[i] ^ v[i + 8];
}

// The words of a block of up to 64 bytes, zero-padded (the specification's little-endian words:
// this file assumes a little-endian machine, as every target shoal builds for is).
void LoadBlock(const uint8_t* p, size_t len, uint32_t m[16]) {
  uint8_t block[kBlockLen] = {};
  std::memcpy(block, p, len);
  std::memcpy(m, block, kBlockLen);
}

// One chunk (up to 1 KiB; the empty input is one empty chunk), numbered `counter`.
void ChunkCv(const uint8_t* p, size_t len, uint64_t counter, bool root, uint32_t out[8]) {
  uint32_t cv[8];
  std::copy(kIv, kIv + 8, cv);
  const size_t blocks = len == 0 ? 1 : (len + kBlockLen - 1) / kBlockLen;
  for (size_t b = 0; b < blocks; ++b) {
    const size_t block_len = std::min(kBlockLen, len - b * kBlockLen);
    uint32_t m[16];
    LoadBlock(p + b * kBlockLen, block_len, m);
    uint32_t flags = b == 0 ? kChunkStart : 0;
    if (b + 1 == blocks) flags |= kChunkEnd | (root ? kRoot : 0);
    Compress(cv, m, counter, static_cast<uint32_t>(block_len), flags, cv);
  }
  std::copy(cv, cv + 8, out);
}

// The chaining value of the subtree over n >= 1 chunk chaining values: the left subtree takes the
// largest power of two of chunks below n (the specification's left-complete tree).
void SubtreeCv(const uint32_t* cvs, size_t n, bool root, uint32_t out[8]) {
  if (n == 1) {
    std::copy(cvs, cvs + 8, out);
    return;
  }
  size_t left = 1;
  while (left * 2 < n) left *= 2;
  uint32_t m[16];
  SubtreeCv(cvs, left, false, m);
  SubtreeCv(cvs + left * 8, n - left, false, m + 8);
  Compress(kIv, m, 0, static_cast<uint32_t>(kBlockLen), kParent | (root ? kRoot : 0), out);
}

// The same tree as SubtreeCv, built level by level: adjacent nodes pair into parents and an odd
// last node moves up unchanged (so every left subtree stays a full power of two), which lets the
// parents of a level go through the SIMD compression in groups. n >= 2 nodes in `cvs`.
void RootByLevels(internal::Blake3Path path, std::vector<uint32_t> cvs, size_t n, uint32_t out[8]) {
  std::vector<uint32_t> next;
  while (n > 2) {
    const size_t pairs = n / 2;
    next.resize((pairs + n % 2) * 8);
    size_t p = 0;
    if (path == internal::Blake3Path::kAvx512) {
      for (; p + 16 <= pairs; p += 16) Parents16Avx512(&cvs[p * 16], &next[p * 8]);
    }
    if (path != internal::Blake3Path::kScalar) {
      for (; p + 8 <= pairs; p += 8) Parents8Avx2(&cvs[p * 16], &next[p * 8]);
    }
    for (; p < pairs; ++p) {
      Compress(kIv, &cvs[p * 16], 0, static_cast<uint32_t>(kBlockLen), kParent, &next[p * 8]);
    }
    if (n % 2 == 1) std::copy_n(&cvs[(n - 1) * 8], 8, &next[pairs * 8]);
    cvs.swap(next);
    n = pairs + n % 2;
  }
  Compress(kIv, cvs.data(), 0, static_cast<uint32_t>(kBlockLen), kParent | kRoot, out);
}

bool HasAvx512() { return __builtin_cpu_supports("avx512f"); }
bool HasAvx2() { return __builtin_cpu_supports("avx2"); }

internal::Blake3Path Resolve(internal::Blake3Path path) {
  using P = internal::Blake3Path;
  if (path == P::kBest || path == P::kAvx512) {
    if (HasAvx512()) return P::kAvx512;
    path = P::kAvx2;
  }
  if (path == P::kAvx2 && HasAvx2()) return P::kAvx2;
  return P::kScalar;
}

}  // namespace

namespace internal {

Blake3Path Blake3BestPath() { return Resolve(Blake3Path::kBest); }

Blake3Digest Blake3On(Blake3Path path, const void* data, size_t len) {
  path = Resolve(path);
  const auto* in = static_cast<const uint8_t*>(data);
  uint32_t root[8];
  const size_t chunks = std::max<size_t>(1, (len + kChunkLen - 1) / kChunkLen);
  if (chunks == 1) {
    ChunkCv(in, len, 0, true, root);
  } else {
    std::vector<uint32_t> cvs(chunks * 8);
    // Every chunk but the last is full and hashes in SIMD groups; the rest one at a time.
    const size_t full = chunks - 1;
    size_t c = 0;
    if (path == Blake3Path::kAvx512) {
      for (; c + 16 <= full; c += 16) Chunks16Avx512(in + c * kChunkLen, c, &cvs[c * 8]);
    }
    if (path == Blake3Path::kAvx512 || path == Blake3Path::kAvx2) {
      for (; c + 8 <= full; c += 8) Chunks8Avx2(in + c * kChunkLen, c, &cvs[c * 8]);
    }
    for (; c < chunks; ++c) {
      ChunkCv(in + c * kChunkLen, std::min(kChunkLen, len - c * kChunkLen), c, false, &cvs[c * 8]);
    }
    // The scalar path keeps the specification's recursive split, so that the tests comparing
    // paths also compare the two ways of building the tree.
    if (path == Blake3Path::kScalar) {
      SubtreeCv(cvs.data(), chunks, true, root);
    } else {
      RootByLevels(path, std::move(cvs), chunks, root);
    }
  }
  Blake3Digest out;
  std::memcpy(out.data(), root, out.size());
  return out;
}

}  // namespace internal

Blake3Digest Blake3(const void* data, size_t len) {
  static const internal::Blake3Path best = internal::Blake3BestPath();
  return internal::Blake3On(best, data, len);
}

std::string Blake3Hex(const void* data, size_t len) {
  static const char* kDigits = "0123456789abcdef";
  const Blake3Digest d = Blake3(data, len);
  std::string hex(64, '0');
  for (size_t i = 0; i < d.size(); ++i) {
    hex[2 * i] = kDigits[d[i] >> 4];
    hex[2 * i + 1] = kDigits[d[i] & 15];
  }
  return hex;
}

}  // namespace shoal::audit

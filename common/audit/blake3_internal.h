// BLAKE3's constants and the SIMD chunk-group entry points shared by blake3.cc and its
// per-instruction-set translation units (blake3_avx2.cc, blake3_avx512.cc, compiled with -mavx2 /
// -mavx512f; blake3.cc calls them only when the CPU has the instructions). Internal to
// common/audit.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shoal::audit::blake3 {

inline constexpr size_t kChunkLen = 1024;
inline constexpr size_t kBlockLen = 64;
inline constexpr uint32_t kChunkStart = 1, kChunkEnd = 2, kParent = 4, kRoot = 8;
inline constexpr uint32_t kIv[8] = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                    0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};

// The message word each round reads at each position: round 0 reads them in order, every later
// round permutes the previous round's order by the specification's permutation.
struct Schedule {
  uint8_t word[7][16];
};
constexpr Schedule MakeSchedule() {
  constexpr uint8_t kPermutation[16] = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};
  Schedule s{};
  for (int i = 0; i < 16; ++i) s.word[0][i] = static_cast<uint8_t>(i);
  for (int r = 1; r < 7; ++r) {
    for (int i = 0; i < 16; ++i) s.word[r][i] = s.word[r - 1][kPermutation[i]];
  }
  return s;
}
inline constexpr Schedule kSchedule = MakeSchedule();

// The chaining values of `lanes` consecutive full chunks starting at `in`, the first one numbered
// `counter` (none of them the root): cvs[j * 8 + i] is word i of chunk j's.
void Chunks8Avx2(const uint8_t* in, uint64_t counter, uint32_t* cvs);     // 8 chunks
void Chunks16Avx512(const uint8_t* in, uint64_t counter, uint32_t* cvs);  // 16 chunks
// The chaining values of `lanes` parent nodes (none of them the root): parent j's children are
// the 16 words children[j * 16 ...] (its left child's chaining value, then its right one's).
void Parents8Avx2(const uint32_t* children, uint32_t* cvs);
void Parents16Avx512(const uint32_t* children, uint32_t* cvs);

}  // namespace shoal::audit::blake3

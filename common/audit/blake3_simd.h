// BLAKE3's compression over many inputs at once, written once over a vector type: each lane is
// one chunk (or one parent node), each vector one word of the state. Included only by
// blake3_avx2.cc and blake3_avx512.cc, whose compile flags enable the instructions `Ops` uses.
// Internal to common/audit.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/audit/blake3_internal.h"

namespace shoal::audit::blake3 {
namespace {

// Ops: V, kLanes, Set1(u32), Load/Store(u32*), Add, Xor, Rotr<n>, and
// LoadMessage(p, stride, m): m[w]'s lane j is word w of the 64-byte block at p + j * stride.
template <typename Ops>
struct Simd {
  using V = typename Ops::V;
  static constexpr int kLanes = Ops::kLanes;

  static void G(V* v, int a, int b, int c, int d, V x, V y) {
    v[a] = Ops::Add(Ops::Add(v[a], v[b]), x);
    v[d] = Ops::template Rotr<16>(Ops::Xor(v[d], v[a]));
    v[c] = Ops::Add(v[c], v[d]);
    v[b] = Ops::template Rotr<12>(Ops::Xor(v[b], v[c]));
    v[a] = Ops::Add(Ops::Add(v[a], v[b]), y);
    v[d] = Ops::template Rotr<8>(Ops::Xor(v[d], v[a]));
    v[c] = Ops::Add(v[c], v[d]);
    v[b] = Ops::template Rotr<7>(Ops::Xor(v[b], v[c]));
  }

  // h = the chaining values after compressing each lane's block m (a full 64-byte one).
  static void Compress(V* h, const V* m, V counter_lo, V counter_hi, uint32_t flags) {
    V v[16] = {h[0],
               h[1],
               h[2],
               h[3],
               h[4],
               h[5],
               h[6],
               h[7],
               Ops::Set1(kIv[0]),
               Ops::Set1(kIv[1]),
               Ops::Set1(kIv[2]),
               Ops::Set1(kIv[3]),
               counter_lo,
               counter_hi,
               Ops::Set1(static_cast<uint32_t>(kBlockLen)),
               Ops::Set1(flags)};
    // Unrolled so that every message index is a constant and m[] stays in registers.
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
    for (int i = 0; i < 8; ++i) h[i] = Ops::Xor(v[i], v[i + 8]);
  }

  // cvs[j * 8 + i] = word i of lane j's chaining value.
  static void StoreCvs(const V* h, uint32_t* cvs) {
    uint32_t words[8][kLanes];
    for (int i = 0; i < 8; ++i) Ops::Store(words[i], h[i]);
    for (int j = 0; j < kLanes; ++j) {
      for (int i = 0; i < 8; ++i) cvs[j * 8 + i] = words[i][j];
    }
  }

  static void Chunks(const uint8_t* in, uint64_t counter, uint32_t* cvs) {
    uint32_t lo[kLanes], hi[kLanes];
    for (int j = 0; j < kLanes; ++j) {
      lo[j] = static_cast<uint32_t>(counter + j);
      hi[j] = static_cast<uint32_t>((counter + j) >> 32);
    }
    const V counter_lo = Ops::Load(lo), counter_hi = Ops::Load(hi);
    V h[8];
    for (int i = 0; i < 8; ++i) h[i] = Ops::Set1(kIv[i]);
    constexpr int kBlocks = static_cast<int>(kChunkLen / kBlockLen);
    for (int blk = 0; blk < kBlocks; ++blk) {
      V m[16];
      Ops::LoadMessage(in + blk * kBlockLen, kChunkLen, m);
      Compress(h, m, counter_lo, counter_hi,
               (blk == 0 ? kChunkStart : 0) | (blk == kBlocks - 1 ? kChunkEnd : 0));
    }
    StoreCvs(h, cvs);
  }

  static void Parents(const uint32_t* children, uint32_t* cvs) {
    V h[8], m[16];
    for (int i = 0; i < 8; ++i) h[i] = Ops::Set1(kIv[i]);
    Ops::LoadMessage(reinterpret_cast<const uint8_t*>(children), kBlockLen, m);
    const V zero = Ops::Set1(0);
    Compress(h, m, zero, zero, kParent);
    StoreCvs(h, cvs);
  }
};

}  // namespace
}  // namespace shoal::audit::blake3

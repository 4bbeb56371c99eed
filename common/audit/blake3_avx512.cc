// BLAKE3 over 16 chunks at once with AVX-512F (compiled with -mavx512f; called only when the CPU
// has it).
// GCC 12's own AVX-512 intrinsics (shuffles, unpacks) read _mm512_undefined_epi32(), which its
// -Wuninitialized then reports inside the header: a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "common/audit/blake3_simd.h"

namespace shoal::audit::blake3 {
namespace {

struct Avx512 {
  using V = __m512i;
  static constexpr int kLanes = 16;
  static V Set1(uint32_t x) { return _mm512_set1_epi32(static_cast<int>(x)); }
  static V Load(const uint32_t* p) { return _mm512_loadu_si512(p); }
  static void Store(uint32_t* p, V v) { _mm512_storeu_si512(p, v); }
  static V Add(V a, V b) { return _mm512_add_epi32(a, b); }
  static V Xor(V a, V b) { return _mm512_xor_si512(a, b); }
  template <int n>
  static V Rotr(V a) {
    return _mm512_ror_epi32(a, n);
  }
  // Sixteen rows (one block of each lane's chunk) transposed into sixteen words, in four
  // shuffle stages: this is what makes AVX-512 faster than gathers would.
  static void LoadMessage(const uint8_t* p, size_t stride, V* m) {
    V r[16], t[16];
    for (int j = 0; j < 16; ++j) r[j] = _mm512_loadu_si512(p + j * stride);
    for (int i = 0; i < 8; ++i) {  // 128-bit lane k: words 4k..4k+3 of rows 2i, 2i+1 interleaved
      t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; ++i) {  // r[4i + x], lane k: word 4k + x of rows 4i..4i+3
      r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
      r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
      r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
      r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int x = 0; x < 4; ++x) {  // word 4k + x: lane k of r[x], r[4 + x], r[8 + x], r[12 + x]
      const V p0 = _mm512_shuffle_i32x4(r[x], r[4 + x], 0x44);
      const V p1 = _mm512_shuffle_i32x4(r[x], r[4 + x], 0xEE);
      const V q0 = _mm512_shuffle_i32x4(r[8 + x], r[12 + x], 0x44);
      const V q1 = _mm512_shuffle_i32x4(r[8 + x], r[12 + x], 0xEE);
      m[x] = _mm512_shuffle_i32x4(p0, q0, 0x88);
      m[4 + x] = _mm512_shuffle_i32x4(p0, q0, 0xDD);
      m[8 + x] = _mm512_shuffle_i32x4(p1, q1, 0x88);
      m[12 + x] = _mm512_shuffle_i32x4(p1, q1, 0xDD);
    }
  }
};

}  // namespace

void Chunks16Avx512(const uint8_t* in, uint64_t counter, uint32_t* cvs) {
  Simd<Avx512>::Chunks(in, counter, cvs);
}

void Parents16Avx512(const uint32_t* children, uint32_t* cvs) {
  Simd<Avx512>::Parents(children, cvs);
}

}  // namespace shoal::audit::blake3

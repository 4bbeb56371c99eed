// BLAKE3 over 8 chunks at once with AVX2 (compiled with -mavx2; called only when the CPU has it).
#include <immintrin.h>

#include "common/audit/blake3_simd.h"

namespace shoal::audit::blake3 {
namespace {

struct Avx2 {
  using V = __m256i;
  static constexpr int kLanes = 8;
  static V Set1(uint32_t x) { return _mm256_set1_epi32(static_cast<int>(x)); }
  static V Load(const uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const V*>(p)); }
  static void Store(uint32_t* p, V v) { _mm256_storeu_si256(reinterpret_cast<V*>(p), v); }
  static V Add(V a, V b) { return _mm256_add_epi32(a, b); }
  static V Xor(V a, V b) { return _mm256_xor_si256(a, b); }
  template <int n>
  static V Rotr(V a) {
    return _mm256_or_si256(_mm256_srli_epi32(a, n), _mm256_slli_epi32(a, 32 - n));
  }
  static void LoadMessage(const uint8_t* p, size_t stride, V* m) {
    const int s = static_cast<int>(stride / 4);  // in words
    const V lane_words = _mm256_setr_epi32(0, s, 2 * s, 3 * s, 4 * s, 5 * s, 6 * s, 7 * s);
    for (int w = 0; w < 16; ++w) {
      m[w] = _mm256_i32gather_epi32(reinterpret_cast<const int*>(p + 4 * w), lane_words, 4);
    }
  }
};

}  // namespace

void Chunks8Avx2(const uint8_t* in, uint64_t counter, uint32_t* cvs) {
  Simd<Avx2>::Chunks(in, counter, cvs);
}

void Parents8Avx2(const uint32_t* children, uint32_t* cvs) { Simd<Avx2>::Parents(children, cvs); }

}  // namespace shoal::audit::blake3

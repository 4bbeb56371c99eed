#include "kernels/cpu/reduce.h"

#include <cstdio>

#include "kernels/twins/elementwise_math.h"

namespace shoal::cpu {

void ScaleInPlace(float* x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

bool AllFinite(const float* x, int64_t n) {
  // No early exit: a branch-free reduction vectorizes, and the all-finite case (the common one)
  // has to read every element anyway.
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) ok &= math::IsFiniteBits(x[i]);
  return ok;
}

double SumOfSquares(const float* x, int64_t n) {
  // Eight running sums (x[i] goes to sum i % 8), combined in a fixed order: deterministic, and the
  // adds no longer wait on each other. One chain is latency-bound, 0.1 ms per 85k floats here,
  // which audits (a norm per step) and every step's gradient norm paid.
  double acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int k = 0; k < 8; ++k) acc[k] += static_cast<double>(x[i + k]) * x[i + k];
  }
  for (int k = 0; i < n; ++i, ++k) acc[k] += static_cast<double>(x[i]) * x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

std::string Fnv1aChecksum(const float* x, int64_t n) {
  uint64_t hash = math::kFnv1aOffsetBasis;
  const auto* bytes = reinterpret_cast<const unsigned char*>(x);
  const int64_t num_bytes = n > 0 ? n * static_cast<int64_t>(sizeof(float)) : 0;
  for (int64_t i = 0; i < num_bytes; ++i) hash = math::Fnv1aByte(hash, bytes[i]);
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(hash));
  return std::string(buf, 16);
}

}  // namespace shoal::cpu

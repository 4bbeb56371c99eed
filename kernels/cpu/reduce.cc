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
  double acc = 0.0;
  for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(x[i]) * x[i];
  return acc;
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

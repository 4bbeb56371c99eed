// Reductions and small whole-buffer utilities used around the all-reduce: scaling the summed
// gradient, detecting non-finite values before an optimizer step, and a checksum that lets ranks
// (and tests) confirm they hold bit-identical parameters.
#pragma once

#include <cstdint>
#include <string>

namespace shoal::cpu {

// x[i] *= s for i in [0, n). n <= 0 does nothing. Does not allocate.
void ScaleInPlace(float* x, int64_t n, float s);

// True when none of the n values is NaN or +-inf (true for n <= 0). Does not allocate.
bool AllFinite(const float* x, int64_t n);

// Sum of x[i]^2 accumulated in double in a fixed order (eight interleaved partial sums), so
// the same x gives the same bits on every run (a gradient norm, the clipping coefficient). 0 for
// n <= 0.
double SumOfSquares(const float* x, int64_t n);

// FNV-1a 64-bit hash of the 4 * n bytes of x as they lie in memory (little-endian on every
// platform shoal targets), returned as exactly 16 lowercase hex digits. n <= 0 hashes nothing and
// returns the offset basis "cbf29ce484222325". Two buffers get the same checksum iff (barring
// collisions) they are bit-identical, so -0.0 and 0.0, or two NaN payloads, differ.
// Allocates only the returned string.
std::string Fnv1aChecksum(const float* x, int64_t n);

}  // namespace shoal::cpu

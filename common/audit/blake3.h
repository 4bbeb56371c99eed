// BLAKE3 (hash mode, 32-byte output), written from the BLAKE3 specification for gradient
// commitments (docs/audits.md "The hash"): collision-resistant like SHA-256, but a tree of 1 KiB
// chunks that hash independently, so 16 (AVX-512) or 8 (AVX2) chunks go through one SIMD
// compression at once. On the CI machine it hashes a gradient ~2-3x faster than OpenSSL's SHA-256
// with SHA-NI (bench/README.md "audits"); on a GPU the same tree parallelises over thread blocks.
//
// Results are identical on every path (scalar, AVX2, AVX-512), checked against the published
// test vectors. Pure functions, thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace shoal::audit {

using Blake3Digest = std::array<uint8_t, 32>;

// The BLAKE3 hash of `len` bytes.
Blake3Digest Blake3(const void* data, size_t len);
// The same as 64 lowercase hex digits.
std::string Blake3Hex(const void* data, size_t len);

namespace internal {
// Which compression path hashes groups of full chunks (tests force each one). kBest is what the
// CPU supports; a path the CPU lacks falls back to the next narrower one.
enum class Blake3Path { kScalar, kAvx2, kAvx512, kBest };
Blake3Digest Blake3On(Blake3Path path, const void* data, size_t len);
// The path kBest resolves to on this CPU.
Blake3Path Blake3BestPath();
}  // namespace internal

}  // namespace shoal::audit

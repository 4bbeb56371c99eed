#include "common/audit/commitment.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>

#include "common/audit/blake3.h"
#include "common/sha256.h"

namespace shoal::audit {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// The first 16 hex digits of `hex` as a number (0 for anything else).
uint64_t HexPrefix64(std::string_view hex) {
  uint64_t v = 0;
  for (size_t i = 0; i < 16 && i < hex.size(); ++i) {
    const char c = hex[i];
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return 0;
    v = v << 4 | static_cast<uint64_t>(d);
  }
  return v;
}

bool IsHexDigest(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool WellFormed(const Commitment& c) {
  if (!IsHexDigest(c.hash) || !std::isfinite(c.norm) || c.norm < 0) return false;
  if (c.sketch.size() != static_cast<size_t>(kSketchBuckets)) return false;
  auto finite = [](double v) { return std::isfinite(v); };
  if (!c.projections.empty() && c.projections.size() != static_cast<size_t>(kSumProjections)) {
    return false;
  }
  return std::all_of(c.sketch.begin(), c.sketch.end(), finite) &&
         std::all_of(c.projections.begin(), c.projections.end(), finite);
}

bool Reduced(std::string_view config) {
  return config.find("/tf32") != std::string_view::npos ||
         config.find("/bf16") != std::string_view::npos;
}

}  // namespace

std::string GradientHash(const float* g, int64_t n) {
  static_assert(sizeof(float) == 4);
  return Blake3Hex(g, static_cast<size_t>(n) * sizeof(float));
}

std::string SketchSeed(std::string_view nonce, int64_t step,
                       const std::vector<std::string>& hashes) {
  std::string text = "shoal-audit-sketch\n";
  text.append(nonce);
  text += "\n" + std::to_string(step);
  for (const std::string& h : hashes) text += "\n" + h;
  return Sha256Hex(text);
}

void Sketch(const float* g, int64_t n, std::string_view seed, std::vector<double>* sketch,
            double* norm) {
  sketch->assign(kSketchBuckets, 0.0);
  const uint64_t key = HexPrefix64(seed);
  double sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint64_t h = SplitMix64(key ^ static_cast<uint64_t>(i));
    const double v = g[i];
    (*sketch)[h & (kSketchBuckets - 1)] += (h >> 32) & 1 ? v : -v;
    sq += v * v;
  }
  *norm = std::sqrt(sq);
}

Commitment Commit(const float* g, int64_t n, std::string_view seed, std::string config) {
  Commitment c;
  c.hash = GradientHash(g, n);
  Sketch(g, n, seed, &c.sketch, &c.norm);
  c.config = std::move(config);
  return c;
}

namespace {

constexpr int kLanes = 8;  // running sums per projection: coordinate i goes into sum i % 8
using LaneSums = double[kSumProjections][kLanes];

// The sign words of 64-coordinate block b: bit j set = coordinate 64 b + j is subtracted.
uint64_t Flips(uint64_t key, int64_t block, int k) {
  return ~SplitMix64(key ^ static_cast<uint64_t>(block * kSumProjections + k));
}

// Block b of g (its first `len` <= 64 coordinates), portably: each value's sign bit flipped (no
// branch) and added to its lane's running sum, in index order within the lane. The first
// `count` projections.
void ProjectBlock(const float* g, int64_t b, int len, uint64_t key, int count, LaneSums& acc) {
  for (int k = 0; k < count; ++k) {
    const uint64_t flips = Flips(key, b, k);
    for (int j = 0; j < len; ++j) {
      uint32_t bits;
      std::memcpy(&bits, g + 64 * b + j, sizeof(bits));
      bits ^= static_cast<uint32_t>((flips >> j) & 1) << 31;
      float v;
      std::memcpy(&v, &bits, sizeof(v));
      acc[k][j % kLanes] += v;
    }
  }
}

// The same additions, lane for lane and in the same order, eight lanes in two AVX2 registers:
// so the same bits (a sign flipped before or after the exact float-to-double conversion is the
// same double). About 5x faster than the portable loop. The first kCount projections.
template <int kCount>
__attribute__((target("avx2"))) void ProjectAvx2(const float* g, int64_t blocks, uint64_t key,
                                                 LaneSums& acc) {
  // kSignMask[m]: lane i's sign bit set where bit i of m is.
  alignas(32) static const auto kSignMask = [] {
    std::array<std::array<uint64_t, 4>, 16> t{};
    for (int m = 0; m < 16; ++m) {
      for (int i = 0; i < 4; ++i) t[m][i] = (m >> i & 1) ? 0x8000'0000'0000'0000ULL : 0;
    }
    return t;
  }();
  __m256d sum[kCount][2];
  for (int k = 0; k < kCount; ++k) {
    sum[k][0] = _mm256_loadu_pd(acc[k]);
    sum[k][1] = _mm256_loadu_pd(acc[k] + 4);
  }
  for (int64_t b = 0; b < blocks; ++b) {
    uint64_t flips[kCount];
    for (int k = 0; k < kCount; ++k) flips[k] = Flips(key, b, k);
    for (int j = 0; j < 64; j += kLanes) {
      const __m256 v = _mm256_loadu_ps(g + 64 * b + j);
      const __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
      const __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
      for (int k = 0; k < kCount; ++k) {
        const unsigned byte = static_cast<unsigned>(flips[k] >> j) & 0xff;
        const __m256d mlo =
            _mm256_load_pd(reinterpret_cast<const double*>(kSignMask[byte & 15].data()));
        const __m256d mhi =
            _mm256_load_pd(reinterpret_cast<const double*>(kSignMask[byte >> 4].data()));
        sum[k][0] = _mm256_add_pd(sum[k][0], _mm256_xor_pd(lo, mlo));
        sum[k][1] = _mm256_add_pd(sum[k][1], _mm256_xor_pd(hi, mhi));
      }
    }
  }
  for (int k = 0; k < kCount; ++k) {
    _mm256_storeu_pd(acc[k], sum[k][0]);
    _mm256_storeu_pd(acc[k] + 4, sum[k][1]);
  }
}

}  // namespace

std::vector<double> SumProjections(const float* g, int64_t n, std::string_view seed, bool simd,
                                   int count) {
  count = count == 1 ? 1 : kSumProjections;
  const uint64_t key = SplitMix64(HexPrefix64(seed) ^ 0x5e0d'5a11'c0de'0b1dULL);
  // Eight running sums per projection, added in a fixed order at the end: one chain of dependent
  // double additions with a branch per sign took 1 ms per pass over the bench MLP's 85k floats;
  // the order is still fixed by this code, so every build and path gets the same bits. One
  // 64-bit word of signs per projection and 64 coordinates (a hash per coordinate, as the sketch
  // takes, would cost more than the pass).
  LaneSums acc = {};
  const int64_t blocks = n / 64;
  static const bool kHasAvx2 = __builtin_cpu_supports("avx2");
  if (simd && kHasAvx2) {
    if (count == 1) {
      ProjectAvx2<1>(g, blocks, key, acc);
    } else {
      ProjectAvx2<kSumProjections>(g, blocks, key, acc);
    }
  } else {
    for (int64_t b = 0; b < blocks; ++b) ProjectBlock(g, b, 64, key, count, acc);
  }
  ProjectBlock(g, blocks, static_cast<int>(n - 64 * blocks), key, count, acc);  // the partial one
  std::vector<double> out(count);
  for (int k = 0; k < count; ++k) {
    const double* a = acc[k];
    out[k] = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  }
  return out;
}

double SumTolerance(const std::vector<double>& norms) {
  std::vector<double> finite;
  for (double v : norms) {
    if (std::isfinite(v) && v >= 0) finite.push_back(v);
  }
  if (finite.empty()) return 0;
  std::vector<double> sorted = finite;
  std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
  const double cap = 2 * sorted[sorted.size() / 2];
  double sum = 0;
  for (double v : finite) sum += std::min(v, cap);
  const double world = static_cast<double>(norms.size());
  return 12 * std::max(0.0, world - 1) * std::ldexp(1.0, -24) * sum;
}

std::string ComputeConfig(std::string_view backend, std::string_view precision,
                          std::string_view kernel, int threads, int64_t bucket_floats) {
  std::string s;
  s.append(backend).append("/").append(precision).append("/").append(kernel);
  s += "/t" + std::to_string(threads) + "/b" + std::to_string(bucket_floats);
  return s;
}

const char* ToString(Verdict v) {
  switch (v) {
    case Verdict::kExact:
      return "exact";
    case Verdict::kWithinTolerance:
      return "within-tolerance";
    case Verdict::kMismatch:
      return "mismatch";
  }
  return "mismatch";
}

double DefaultTolerance(std::string_view config_a, std::string_view config_b) {
  return Reduced(config_a) || Reduced(config_b) ? kReducedTolerance : kFp32Tolerance;
}

Comparison Compare(const Commitment& claimed, const Commitment& recomputed, double tolerance) {
  Comparison out;
  if (!WellFormed(claimed) || !WellFormed(recomputed)) {
    out.detail = "malformed commitment";
    out.worst = INFINITY;
    return out;
  }
  if (claimed.hash == recomputed.hash) {
    if (!claimed.projections.empty() && !recomputed.projections.empty() &&
        claimed.projections != recomputed.projections) {
      out.worst = INFINITY;
      out.detail =
          "equal hashes but different sum-check projections: the claimed projections "
          "are not of the committed gradient";
      return out;
    }
    out.verdict = Verdict::kExact;
    return out;
  }
  const double scale = std::max(claimed.norm, recomputed.norm);
  auto rel = [&](double a, double b) {
    const double d = std::fabs(a - b);
    return scale > 0 ? d / scale : (d > 0 ? INFINITY : 0.0);
  };
  out.worst = rel(claimed.norm, recomputed.norm);
  out.detail = "norm " + std::to_string(claimed.norm) + " vs " + std::to_string(recomputed.norm);
  for (int j = 0; j < kSketchBuckets; ++j) {
    const double r = rel(claimed.sketch[j], recomputed.sketch[j]);
    if (r > out.worst) {
      out.worst = r;
      out.detail = "sketch bucket " + std::to_string(j) + ": " + std::to_string(claimed.sketch[j]) +
                   " vs " + std::to_string(recomputed.sketch[j]);
    }
  }
  if (claimed.config == recomputed.config) {
    out.detail = "hash differs within one compute configuration (" + out.detail + ")";
    return out;
  }
  out.verdict = out.worst <= tolerance ? Verdict::kWithinTolerance : Verdict::kMismatch;
  return out;
}

uint32_t DrawTicket(std::string_view key, int64_t step) {
  const std::string msg = "draw:" + std::to_string(step);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  // The first 24 bits: exactly [0, kTicketRange).
  return static_cast<uint32_t>(mac[0]) << 16 | static_cast<uint32_t>(mac[1]) << 8 | mac[2];
}

bool TicketDraws(uint32_t ticket, double rate) {
  if (!(rate > 0)) return false;
  if (rate >= 1) return true;
  return static_cast<double>(ticket) < rate * static_cast<double>(kTicketRange);
}

int Drawer(int64_t step, int world, const std::vector<int>& auditors_of_q) {
  if (world <= 0 || auditors_of_q.empty()) return -1;
  const int start = static_cast<int>(((step % world) + world) % world);
  int best = -1, best_distance = world;
  for (int r : auditors_of_q) {
    if (r < 0 || r >= world) continue;
    const int distance = (r - start + world) % world;
    if (distance < best_distance) {
      best = r;
      best_distance = distance;
    }
  }
  return best;
}

std::vector<int> AssignAuditors(std::string_view seed, const std::vector<int>& audited,
                                const std::vector<std::vector<int>>& auditors) {
  const size_t n = audited.size();
  // Candidates per audit, each list rotated by the seed, so that ties go different ways.
  std::vector<std::vector<int>> pools(n);
  int world = 0;
  uint64_t h = SplitMix64(HexPrefix64(seed) ^ 0x0a55'16e5'a0d1'7035ULL);
  for (size_t k = 0; k < n; ++k) {
    const int q = audited[k];
    if (q < 0 || q >= static_cast<int>(auditors.size())) continue;
    for (int r : auditors[q]) {
      if (r >= 0 && r != q) pools[k].push_back(r);
    }
    if (pools[k].empty()) continue;
    h = SplitMix64(h);
    std::rotate(pools[k].begin(), pools[k].begin() + static_cast<int64_t>(h % pools[k].size()),
                pools[k].end());
    world = std::max(world, *std::max_element(pools[k].begin(), pools[k].end()) + 1);
  }
  // Rounds of maximum matching (augmenting paths): in each round an auditor takes at most one
  // audit, so no rank recomputes twice while another that could is idle.
  std::vector<int> out(n, -1);
  std::vector<int> holder(world), seen(world);
  int stamp = 0;
  std::function<bool(size_t)> place = [&](size_t k) {
    for (int r : pools[k]) {
      if (seen[r] == stamp) continue;
      seen[r] = stamp;
      if (holder[r] < 0 || place(static_cast<size_t>(holder[r]))) {
        holder[r] = static_cast<int>(k);
        return true;
      }
    }
    return false;
  };
  for (bool placed_any = true; placed_any;) {
    placed_any = false;
    std::fill(holder.begin(), holder.end(), -1);
    std::fill(seen.begin(), seen.end(), 0);
    stamp = 0;
    for (size_t k = 0; k < n; ++k) {
      if (out[k] >= 0 || pools[k].empty()) continue;
      ++stamp;
      placed_any |= place(k);
    }
    for (int r = 0; r < world; ++r) {
      if (holder[r] >= 0) out[static_cast<size_t>(holder[r])] = r;
    }
  }
  return out;
}

int ChooseArbiter(std::string_view seed, int auditee, int auditor,
                  const std::vector<std::string>& accounts) {
  const int world = static_cast<int>(accounts.size());
  std::vector<int> best, second, rest;
  for (int r = 0; r < world; ++r) {
    if (r == auditee || r == auditor) continue;
    const bool other_than_auditee = accounts[r] != accounts[auditee];
    const bool other_than_auditor = auditor < 0 || accounts[r] != accounts[auditor];
    (other_than_auditee && other_than_auditor ? best
     : other_than_auditee                     ? second
                                              : rest)
        .push_back(r);
  }
  const std::vector<int>& pool = !best.empty() ? best : !second.empty() ? second : rest;
  if (pool.empty()) return -1;
  const uint64_t h = SplitMix64(HexPrefix64(seed) ^ 0xa5b1'7e57'a2b1'7e55ULL);
  return pool[h % pool.size()];
}

std::vector<int> NormOutliers(const std::vector<double>& norms, double z, double min_deviation) {
  const size_t n = norms.size();
  if (n < 3) return {};
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    const size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
  };
  const double med = median(norms);
  std::vector<double> dev(n);
  for (size_t i = 0; i < n; ++i) dev[i] = std::fabs(norms[i] - med);
  const double mad = std::max(median(dev), 1e-6 * std::fabs(med));
  std::vector<int> out;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(norms[i])) {
      out.push_back(static_cast<int>(i));
      continue;
    }
    if (dev[i] < min_deviation * std::fabs(med)) continue;
    if ((mad > 0 && dev[i] / (1.4826 * mad) > z) || (mad == 0 && dev[i] > 0)) {
      out.push_back(static_cast<int>(i));
    }
  }
  return out;
}

}  // namespace shoal::audit

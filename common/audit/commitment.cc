#include "common/audit/commitment.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cmath>
#include <cstring>

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
  return std::all_of(c.sketch.begin(), c.sketch.end(), [](double v) { return std::isfinite(v); });
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

bool Drawn(std::string_view key, int64_t step, int auditee, double rate) {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  const std::string msg = std::to_string(step) + ":" + std::to_string(auditee);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | mac[i];
  // The top 53 bits as a double in [0, 1).
  return static_cast<double>(v >> 11) * 0x1.0p-53 < rate;
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

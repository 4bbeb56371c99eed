// Heterogeneous pools in the daemon (docs/simulator.md "Heterogeneous pools"): how fast each kind
// of job runs on each GPU type, measured online from its progress reports and seeded from a table
// of relative speeds per type (`gpuSpeeds`); policy/hetero.h turns that into the GPU types each
// queued job prefers.
//
// A job's kind is its SpeedKey (model, batch, precision, backend): jobs of one kind share
// measurements. Measurements live in memory (soft state: after a restart placement falls back to
// the seeds until jobs report again). Not thread-safe: the scheduler's strand.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/spec/job_spec.h"
#include "common/status.h"

namespace shoal {

// "H100=2.6,A100=1,RTX4090=0.6" -> type -> relative speed (each > 0); "" -> none (type-blind).
Result<std::map<std::string, double>> ParseGpuSpeeds(const std::string& text);

// The kind of job whose speed per GPU type is shared: the model, the per-rank batch, the
// precision and the backend.
std::string SpeedKey(const JobSpec& spec);

class GpuSpeedBook {
 public:
  // An EWMA weight for each new report (the newest counts this much).
  static constexpr double kAlpha = 0.3;

  explicit GpuSpeedBook(std::map<std::string, double> seeds = {}) : seeds_(std::move(seeds)) {}
  // Heterogeneity-aware placement is on when a seed table is configured.
  bool enabled() const { return !seeds_.empty(); }

  // A report of `key` running at `per_rank` samples/s per rank with every rank on `gpu_type`
  // (a GPU model name as workers report it). Ignores non-positive or non-finite rates.
  void Observe(const std::string& key, const std::string& gpu_type, double per_rank);

  // Key's relative speed on each of `types`, averaging 1: measured where it was measured, else
  // the seed (GpuTypeMatches; 1 for a type without one) scaled to its measured types.
  std::vector<double> Speeds(const std::string& key, const std::vector<std::string>& types) const;

  // Kinds remembered at most; past it the one reported least recently is forgotten.
  static constexpr size_t kMaxKinds = 4096;

 private:
  struct Kind {
    std::map<std::string, double> rate;  // GPU type -> samples/s per rank (EWMA)
    uint64_t last = 0;                   // when it was last reported (a counter)
  };
  double Seed(const std::string& gpu_type) const;  // 1 when unlisted
  std::map<std::string, double> seeds_;
  std::map<std::string, Kind> measured_;
  uint64_t reports_ = 0;
};

}  // namespace shoal

// Heterogeneous pools in shoal-sim (docs/simulator.md "Heterogeneous pools"): how fast each kind
// of job runs on each GPU type, relative to the GPU its trace duration was measured on (speed 1).
//
// Traces say nothing of models, so each trace job is given a job class, drawn once per job by
// the classes' weights from a seed. A gang runs at the speed of its slowest rank's type (the
// all-reduce waits for it). A type the matrix does not list runs at speed 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal::sim {

struct JobClass {
  std::string name;                // e.g. "transformer"
  double weight = 1;               // its share of the trace's jobs (relative)
  std::vector<std::string> types;  // GPU types...
  std::vector<double> speeds;      // ...and this class's speed on each (> 0)
};

struct ThroughputMatrix {
  std::vector<JobClass> classes;

  // Class c's speed on `gpu_type` (GpuTypeMatches against the listed types); 1 when unlisted.
  double Speed(int c, const std::string& gpu_type) const;
  // Job `index`'s class: a weighted draw from (seed, index) alone, so it does not depend on the
  // order jobs are looked at.
  int ClassOf(int64_t index, uint64_t seed) const;
};

// The built-in table (`--throughput default`): three classes over H100, A100, RTX4090 and V100,
// speeds relative to an A100. Rough figures of the kind public benchmarks show (transformers
// gain most from H100s, convnets and small recurrent models least), not measured here: a seed
// for what the daemon is to measure online (the plan), and a way to stress placement.
ThroughputMatrix DefaultThroughputMatrix();

// A YAML file: `classes: [{name: cnn, weight: 1, speeds: {H100: 1.6, A100: 1.0}}, ...]`.
// InvalidArgument, with the reason, for a missing or empty class list, a weight <= 0 or a speed
// that is not a positive number.
Result<ThroughputMatrix> LoadThroughputMatrix(const std::string& path);

}  // namespace shoal::sim

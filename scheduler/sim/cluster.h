// The cluster shoal-sim replays a trace on: groups of identical nodes.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "scheduler/policy/snapshot.h"

namespace shoal::sim {

struct NodeGroup {
  int count = 0;           // nodes
  int gpus_per_node = 0;   // each GPU is one slot (one rank)
  std::string gpu_type;    // e.g. "H100"
  double gpu_memory_gib = 80;
};

struct Cluster {
  std::vector<NodeGroup> groups;
  int total_gpus() const;
  // One SnapshotWorker per node, all free: ids "n0", "n1", ... in group order.
  std::vector<SnapshotWorker> Workers() const;
};

// "64x8:H100" or several groups separated by commas ("32x8:H100,16x4:A100"); the type is
// optional ("64x8"). Memory per GPU is looked up for known types (A100 80, H100 80, H200 141,
// V100 32, ...) and defaults to 80 GiB. InvalidArgument for anything else, with the reason.
Result<Cluster> ParseClusterSpec(const std::string& spec);

// A YAML file: `nodeGroups: [{count: 64, gpusPerNode: 8, gpuType: H100, gpuMemoryGiB: 80}, ...]`.
Result<Cluster> LoadClusterFile(const std::string& path);

}  // namespace shoal::sim

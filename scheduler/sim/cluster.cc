#include "scheduler/sim/cluster.h"

#include <yaml-cpp/yaml.h>

#include <map>

#include "common/parse_number.h"

namespace shoal::sim {
namespace {

double DefaultMemoryGib(const std::string& type) {
  static const std::map<std::string, double> kKnown = {
      {"A100", 80}, {"H100", 80}, {"H200", 141}, {"B200", 180}, {"V100", 32},
      {"A10", 24},  {"L4", 24},   {"L40S", 48},  {"T4", 16},    {"P100", 16}};
  auto it = kKnown.find(type);
  return it == kKnown.end() ? 80 : it->second;
}

Status Validate(const NodeGroup& g, const std::string& where) {
  if (g.count < 1 || g.count > 1000000) return InvalidArgument(where + ": node count must be 1..1000000");
  if (g.gpus_per_node < 1 || g.gpus_per_node > 1024) {
    return InvalidArgument(where + ": GPUs per node must be 1..1024");
  }
  if (g.gpu_memory_gib <= 0) return InvalidArgument(where + ": GPU memory must be > 0");
  return Status::Ok();
}

}  // namespace

int Cluster::total_gpus() const {
  int n = 0;
  for (const auto& g : groups) n += g.count * g.gpus_per_node;
  return n;
}

std::vector<SnapshotWorker> Cluster::Workers() const {
  std::vector<SnapshotWorker> out;
  int i = 0;
  for (const auto& g : groups) {
    for (int n = 0; n < g.count; ++n, ++i) {
      SnapshotWorker w;
      w.id = "n" + std::to_string(i);
      w.node = w.id;
      w.total_slots = w.free_slots = w.gpus = g.gpus_per_node;
      w.gpu_type = g.gpu_type;
      w.gpu_memory_gib = g.gpu_memory_gib;
      out.push_back(std::move(w));
    }
  }
  return out;
}

Result<Cluster> ParseClusterSpec(const std::string& spec) {
  Cluster c;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = spec.find(',', start);
    const std::string part =
        spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const std::string where = "--cluster \"" + part + "\"";
    const size_t x = part.find('x');
    const size_t colon = part.find(':');
    NodeGroup g;
    if (x == std::string::npos || !ParseInteger(part.substr(0, x), &g.count) ||
        !ParseInteger(part.substr(x + 1, colon == std::string::npos ? std::string::npos
                                                                : colon - x - 1),
                  &g.gpus_per_node)) {
      return InvalidArgument(where + ": expected NODESxGPUS[:TYPE], e.g. 64x8:H100");
    }
    if (colon != std::string::npos) g.gpu_type = part.substr(colon + 1);
    g.gpu_memory_gib = DefaultMemoryGib(g.gpu_type);
    RETURN_IF_ERROR(Validate(g, where));
    c.groups.push_back(g);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return c;
}

Result<Cluster> LoadClusterFile(const std::string& path) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    YAML::Node groups = root["nodeGroups"];
    if (!groups || !groups.IsSequence() || groups.size() == 0) {
      return InvalidArgument(path + ": expected a non-empty list `nodeGroups`");
    }
    Cluster c;
    for (size_t i = 0; i < groups.size(); ++i) {
      const YAML::Node& n = groups[i];
      const std::string where = path + ": nodeGroups[" + std::to_string(i) + "]";
      NodeGroup g;
      g.count = n["count"].as<int>(0);
      g.gpus_per_node = n["gpusPerNode"].as<int>(0);
      g.gpu_type = n["gpuType"].as<std::string>("");
      g.gpu_memory_gib = n["gpuMemoryGiB"].as<double>(DefaultMemoryGib(g.gpu_type));
      RETURN_IF_ERROR(Validate(g, where));
      c.groups.push_back(g);
    }
    return c;
  } catch (const YAML::BadFile&) {
    return NotFound(path + ": cannot open the cluster file");
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
}

}  // namespace shoal::sim

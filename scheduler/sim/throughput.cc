#include "scheduler/sim/throughput.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

#include "scheduler/policy/placement.h"

namespace shoal::sim {

double ThroughputMatrix::Speed(int c, const std::string& gpu_type) const {
  const JobClass& k = classes[c];
  for (size_t i = 0; i < k.types.size(); ++i) {
    if (GpuTypeMatches(k.types[i], gpu_type)) return k.speeds[i];
  }
  return 1.0;
}

int ThroughputMatrix::ClassOf(int64_t index, uint64_t seed) const {
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + static_cast<uint64_t>(index) + 1;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;  // SplitMix64's finaliser
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  x ^= x >> 31;
  double total = 0;
  for (const JobClass& k : classes) total += k.weight;
  double u = static_cast<double>(x >> 11) * 0x1.0p-53 * total;
  for (size_t c = 0; c < classes.size(); ++c) {
    if (u < classes[c].weight) return static_cast<int>(c);
    u -= classes[c].weight;
  }
  return static_cast<int>(classes.size()) - 1;
}

ThroughputMatrix DefaultThroughputMatrix() {
  const std::vector<std::string> types = {"H100", "A100", "RTX4090", "V100"};
  ThroughputMatrix m;
  m.classes = {{"transformer", 1, types, {2.6, 1.0, 0.55, 0.35}},
               {"cnn", 1, types, {1.6, 1.0, 0.8, 0.55}},
               {"recurrent", 1, types, {1.2, 1.0, 0.9, 0.6}}};
  return m;
}

Result<ThroughputMatrix> LoadThroughputMatrix(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("throughput matrix " + path + ": " + e.what());
  }
  const YAML::Node list = root["classes"];
  if (!list || !list.IsSequence() || list.size() == 0) {
    return InvalidArgument("throughput matrix " + path + ": needs a non-empty `classes` list");
  }
  ThroughputMatrix m;
  try {
    for (const YAML::Node& n : list) {
      JobClass k;
      k.name = n["name"].as<std::string>("class" + std::to_string(m.classes.size()));
      k.weight = n["weight"].as<double>(1.0);
      if (!(k.weight > 0 && std::isfinite(k.weight))) {
        return InvalidArgument("throughput matrix " + path + ": class " + k.name +
                               " needs a weight > 0");
      }
      const YAML::Node speeds = n["speeds"];
      if (!speeds || !speeds.IsMap() || speeds.size() == 0) {
        return InvalidArgument("throughput matrix " + path + ": class " + k.name +
                               " needs `speeds: {GPU type: speed, ...}`");
      }
      for (const auto& kv : speeds) {
        const double s = kv.second.as<double>();
        if (!(s > 0 && std::isfinite(s))) {
          return InvalidArgument("throughput matrix " + path + ": class " + k.name + " on " +
                                 kv.first.as<std::string>() + ": a speed must be > 0");
        }
        k.types.push_back(kv.first.as<std::string>());
        k.speeds.push_back(s);
      }
      m.classes.push_back(std::move(k));
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgument("throughput matrix " + path + ": " + e.what());
  }
  return m;
}

}  // namespace shoal::sim

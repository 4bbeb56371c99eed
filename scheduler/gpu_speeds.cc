#include "scheduler/gpu_speeds.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "scheduler/policy/placement.h"

namespace shoal {

Result<std::map<std::string, double>> ParseGpuSpeeds(const std::string& text) {
  std::map<std::string, double> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string type = item.substr(0, eq);
    if (eq == std::string::npos || type.empty()) {
      return InvalidArgument("gpuSpeeds: expected TYPE=SPEED, got '" + item + "'");
    }
    const std::string number = item.substr(eq + 1);
    double speed = 0;
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), speed);
    if (ec != std::errc() || end != number.data() + number.size() || !(speed > 0) ||
        !std::isfinite(speed)) {
      return InvalidArgument("gpuSpeeds: the speed of " + type + " must be > 0");
    }
    out[type] = speed;
  }
  return out;
}

std::string SpeedKey(const JobSpec& spec) {
  std::ostringstream k;
  k << ToString(spec.resources.backend) << '/' << ToString(spec.training.precision) << "/b"
    << spec.training.batch_size << '/' << spec.model.kind;
  for (int l : spec.model.layers) k << '-' << l;
  if (spec.model.is_gpt()) {
    k << "/L" << spec.model.blocks << "h" << spec.model.heads << "d" << spec.model.embed_dim << "t"
      << spec.model.context_length << "v" << spec.model.vocab_size;
  }
  return k.str();
}

double GpuSpeedBook::Seed(const std::string& gpu_type) const {
  for (const auto& [type, speed] : seeds_) {
    if (GpuTypeMatches(type, gpu_type)) return speed;
  }
  return 1.0;
}

void GpuSpeedBook::Observe(const std::string& key, const std::string& gpu_type, double per_rank) {
  if (!(per_rank > 0 && std::isfinite(per_rank)) || gpu_type.empty()) return;
  if (measured_.size() >= kMaxKinds && !measured_.contains(key)) {
    measured_.erase(std::min_element(measured_.begin(), measured_.end(), [](auto& a, auto& b) {
      return a.second.last < b.second.last;
    }));
  }
  Kind& kind = measured_[key];
  kind.last = ++reports_;
  auto [it, added] = kind.rate.try_emplace(gpu_type, per_rank);
  if (!added) it->second = (1 - kAlpha) * it->second + kAlpha * per_rank;
}

std::vector<double> GpuSpeedBook::Speeds(const std::string& key,
                                         const std::vector<std::string>& types) const {
  const auto m = measured_.find(key);
  // Samples/s per unit of seed over the measured types: what turns a seed into this job's speed.
  double scale = 0;
  int n = 0;
  if (m != measured_.end()) {
    for (const auto& [type, rate] : m->second.rate) {
      scale += rate / Seed(type);
      ++n;
    }
  }
  scale = n > 0 ? scale / n : 1.0;
  std::vector<double> s;
  double sum = 0;
  for (const std::string& t : types) {
    double v = Seed(t) * scale;
    if (m != measured_.end()) {
      if (auto it = m->second.rate.find(t); it != m->second.rate.end()) v = it->second;
    }
    s.push_back(v);
    sum += v;
  }
  for (double& v : s) v = sum > 0 ? v * static_cast<double>(s.size()) / sum : 1.0;
  return s;
}

}  // namespace shoal

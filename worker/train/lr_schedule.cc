#include "worker/train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace shoal {

double LearningRate(const JobSpec::Optimizer& optimizer, int64_t step, int64_t total_steps) {
  const JobSpec::Optimizer::Schedule& s = optimizer.schedule;
  const int64_t warmup = s.warmup_steps;
  if (step <= warmup) {
    return optimizer.lr * static_cast<double>(std::max<int64_t>(step, 1)) /
           static_cast<double>(warmup);
  }
  if (s.kind != "cosine") return optimizer.lr;
  const int64_t span = s.decay_steps > 0 ? s.decay_steps : std::max<int64_t>(total_steps - warmup, 1);
  const double p =
      std::clamp(static_cast<double>(step - warmup) / static_cast<double>(span), 0.0, 1.0);
  return s.min_lr + (optimizer.lr - s.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
}

}  // namespace shoal

#include "scheduler/policy/checkpoint_interval.h"

#include <cmath>

namespace shoal {

double YoungDalyIntervalS(double checkpoint_cost_s, double gang_mtbf_s) {
  if (!(checkpoint_cost_s > 0) || !(gang_mtbf_s > 0)) return 0;
  return std::sqrt(2.0 * checkpoint_cost_s * gang_mtbf_s);
}

double GangMtbfS(const std::vector<double>& worker_mtbf_s) {
  double rate = 0;
  for (double m : worker_mtbf_s) {
    if (!(m > 0)) return 0;
    rate += 1.0 / m;
  }
  return rate > 0 ? 1.0 / rate : 0;
}

}  // namespace shoal

#include "scheduler/audit/trust.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace shoal::audit {
namespace {

bool InUnitInterval(double v) { return std::isfinite(v) && v > 0 && v <= 1; }

}  // namespace

Status ValidateTrustPolicy(const TrustPolicy& policy) {
  if (!InUnitInterval(policy.initial_rate)) {
    return InvalidArgument("auditInitialRate must be in (0, 1], got " +
                           std::to_string(policy.initial_rate));
  }
  if (!InUnitInterval(policy.min_rate)) {
    return InvalidArgument("auditMinRate must be in (0, 1], got " +
                           std::to_string(policy.min_rate));
  }
  if (policy.min_rate > policy.initial_rate) {
    return InvalidArgument("auditMinRate (" + std::to_string(policy.min_rate) +
                           ") must not exceed auditInitialRate (" +
                           std::to_string(policy.initial_rate) + ")");
  }
  if (!InUnitInterval(policy.decay)) {
    return InvalidArgument("auditDecay must be in (0, 1], got " + std::to_string(policy.decay));
  }
  if (!std::isfinite(policy.screen_z) || policy.screen_z <= 0) {
    return InvalidArgument("auditScreenZ must be a number above 0, got " +
                           std::to_string(policy.screen_z));
  }
  if (!std::isfinite(policy.screen_min_deviation) || policy.screen_min_deviation < 0) {
    return InvalidArgument("auditScreenMinDeviation must be a number >= 0, got " +
                           std::to_string(policy.screen_min_deviation));
  }
  return Status::Ok();
}

double NewWorkerRate(const TrustPolicy& policy) { return policy.initial_rate; }

double RateAfterClean(const TrustPolicy& policy, double rate) {
  // A rate outside (0, 1] (a corrupt record) restarts from the initial one rather than sticking.
  if (!InUnitInterval(rate)) rate = policy.initial_rate;
  return std::max(policy.min_rate, rate * policy.decay);
}

double RateAfterFailed(const TrustPolicy& policy) { return policy.initial_rate; }

}  // namespace shoal::audit

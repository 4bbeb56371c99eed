// Adaptive trust (docs/audits.md "Adaptive trust"): a worker's audit rate falls with every clean
// audit down to a floor and goes back to the start with a failed one, so that new and once-caught
// workers are checked often and long-honest ones cheaply.
// Pure functions, thread-safe.
#pragma once

#include "common/audit/commitment.h"
#include "common/status.h"

namespace shoal::audit {

struct TrustPolicy {
  double initial_rate = 0.1;  // a new worker's chance per step that a given rank of it is audited
  double decay = 0.9;         // applied to the rate by each clean audit
  double min_rate = 0.02;     // the floor the decay stops at
  double screen_z = 3.5;      // robust z-score above which a norm is audited at once...
  double screen_min_deviation = kScreenMinDeviation;  // ...if this fraction of the median off it
};

// InvalidArgument naming the bad field unless the rates are in (0, 1], min_rate <= initial_rate,
// decay in (0, 1], screen_z > 0 and screen_min_deviation >= 0 (and every value finite).
Status ValidateTrustPolicy(const TrustPolicy& policy);

// The rate of a worker that never had an audit.
double NewWorkerRate(const TrustPolicy& policy);
// The rate after a clean audit: rate × decay, never below min_rate.
double RateAfterClean(const TrustPolicy& policy, double rate);
// The rate after a failed audit: back to initial_rate.
double RateAfterFailed(const TrustPolicy& policy);

}  // namespace shoal::audit

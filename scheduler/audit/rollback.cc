#include "scheduler/audit/rollback.h"

namespace shoal::audit {

int64_t RollbackStep(const std::vector<int64_t>& checkpoint_steps, int64_t last_clean_audit_step) {
  int64_t best = 0;
  for (int64_t s : checkpoint_steps) {
    if (s <= last_clean_audit_step && s > best) best = s;
  }
  return best;
}

}  // namespace shoal::audit

// Why a job waits: the pending reasons a policy gives (docs/states.md §2), after Slurm's. Here,
// beside the policies that decide them, so that a policy needs nothing of the scheduler's state;
// scheduler/state/records.h includes this for the job records that carry them.
#pragma once

namespace shoal {

inline constexpr const char* kReasonResources = "Resources";    // not enough free slots now
inline constexpr const char* kReasonPriority = "Priority";      // a job ahead in the queue waits
inline constexpr const char* kReasonConstraint = "Constraint";  // no worker can ever host it
inline constexpr const char* kReasonPreempted = "Preempted";    // stopped for a fairer job

}  // namespace shoal

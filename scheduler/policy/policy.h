// Scheduling policies (docs/design.md §7): pure functions from a Snapshot to Decisions.
//
// Every policy orders the queue its own way and then starts jobs in that order, a whole gang or
// nothing (placement.h). The first job in order that cannot start holds up the rest ("head of
// line") unless backfill is on: EASY backfill then reserves the head job's earliest start (from
// the running jobs' limits.maxRuntime) and lets a later job start now only if it does not delay
// that reservation. A job that no alive worker could ever host waits with reason Constraint and
// holds up nobody.
//
// Thread-safety: the functions are pure and reentrant.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "scheduler/policy/snapshot.h"

namespace shoal {

enum class PolicyKind {
  kFifo,       // submission order
  kPriority,   // spec.priority (higher first), then submission order
  kFairShare,  // the account's fair-share factor, then priority, then submission order
};

struct PolicyOptions {
  PolicyKind kind = PolicyKind::kFifo;
  bool backfill = false;  // EASY backfill on top of the ordering
  // Fill Decisions::waits (reasons for every job that does not start). The daemon wants them for
  // `shoal list`; the simulator skips them, which also lets a cycle stop once nothing can fit.
  bool explain_waits = true;
  // Fair-share preemption ("+preempt", fairshare only): when the first job that cannot start
  // belongs to an account below its share (factor > 0.5), running jobs of accounts above theirs
  // (factor < 0.5, at least `preempt_margin` lower) that have run `preempt_min_runtime_ms` are
  // preempted — lowest factor first, then the least unsaved work (without checkpoints: the most
  // recently started) — if, and only if, that frees enough slots for it. The victims requeue. A
  // victim's account is above its share, so it cannot preempt back until its usage falls below
  // its share: no loops; the minimum run time keeps a job from being preempted again straight
  // after it restarts.
  bool preempt = false;
  int64_t preempt_min_runtime_ms = 10 * 60 * 1000;
  // The tail guard: a job already preempted this many times is not preempted again (0 = no
  // bound). Long gangs of heavy accounts are the usual victims, and each preemption costs them a
  // restart and the work since their last checkpoint: unbounded, their tail grows without limit
  // (bench/README.md "sim").
  int preempt_max_per_job = 0;
  // Cost-aware preemption: a running job whose work since its last checkpoint (or its start,
  // before its first) spans more than this is not a victim (0 = no bound), since preempting it
  // throws that work away when it cannot checkpoint on the way out. Among victims alike, the one
  // with the least unsaved work goes first. SnapshotRunning::last_checkpoint_ms says when.
  int64_t preempt_max_unsaved_ms = 0;
  double preempt_margin = 0.1;
  // Attained-service priority ("+las", Tiresias' discretised 2D-LAS), inside the ordering: among
  // jobs the base ordering ranks alike (fifo: all; priority: one priority; fairshare: one
  // account's factor), those that have received less GPU time go first, in levels split at
  // these GPU-seconds (1, 10, 100 GPU-hours) so that jobs within a level keep their order. It
  // needs no runtime estimate. The starvation guard: a job that has waited since it was last
  // queued for more than las_starve_factor x the time it has run (attained / its ranks) goes
  // back to the first level.
  bool las = false;
  std::vector<double> las_thresholds_gpu_s = {3600, 36000, 360000};
  double las_starve_factor = 2;
  // Elastic gangs ("+elastic", any ordering). Jobs already start with as many ranks as fit in
  // workers.min..max; with this on, a running job with max > min is also resized (a restart from
  // its last checkpoint at the new size, ResizeDecision):
  //  - grown toward max when no queued job is waiting for slots, by at least `grow_min_gain` of
  //    its ranks (at least one, or up to max), in the ordering's order (fair share, priority,
  //    age); only once it has run `resize_min_interval_ms` since it (re)started;
  //  - with +preempt, shrunk toward min before it would be preempted entirely: a victim gives up
  //    only as many ranks as the waiting job needs, and is preempted only if min is still too many.
  bool elastic = false;
  int64_t resize_min_interval_ms = 10 * 60 * 1000;
  double grow_min_gain = 0.25;
};

// "fifo", "priority", "fairshare", optionally followed by "+backfill", "+elastic" and, for
// fairshare, "+preempt" (e.g. "fairshare+backfill+preempt+elastic"), in any order: the names of
// configs/scheduler.yaml.
// InvalidArgument for anything else.
Result<PolicyOptions> ParsePolicyName(std::string_view name);
std::string PolicyName(const PolicyOptions& options);

// The decisions for `snapshot`. Every queued job appears at most once in starts and, with
// explain_waits, every other queued job exactly once in waits.
Decisions Decide(const Snapshot& snapshot, const PolicyOptions& options);
// The same decisions, with the queue taken in `index`'s order instead of sorting it
// (queue_index.h; the caller keeps the index in step with snapshot.queue). The index is first
// brought up to snapshot.now_ms. One that cannot match (another size than the queue, or built
// for another ordering) is not used.
class QueueIndex;
Decisions Decide(const Snapshot& snapshot, const PolicyOptions& options, QueueIndex& index);

// For people: "preempted 2 times already (preemptMaxPerJob 2)", "its last checkpoint is 40 min
// old (preemptMaxUnsaved 30 min)".
std::string DescribeGuard(const GuardedJob& guarded);
// The scheduler setting behind a guard: "preemptMaxPerJob" or "preemptMaxUnsaved".
const char* GuardSetting(GuardedJob::Guard guard);

// Fair-share factor of every account in 0..1 (Slurm's classic 2^(-usage/shares)): an account's
// share is its part of all contributed GPU-seconds (every account, contributor or not, gets a
// floor of 1/(10 x accounts) of the total so that nobody starves), its usage its part of all used
// GPU-seconds. 1 = used nothing, 0.5 = used exactly its share. Accounts in `snapshot.accounts`
// plus every account of a queued or running job are rated.
struct FairShare {
  std::string account;
  double share = 0;
  double usage = 0;
  double factor = 1;
};
std::vector<FairShare> FairShareFactors(const Snapshot& snapshot);

}  // namespace shoal

#include "scheduler/policy/policy.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>
#include <tuple>
#include <utility>

#include "scheduler/policy/backfill.h"
#include "scheduler/policy/elastic.h"
#include "scheduler/policy/order.h"
#include "scheduler/policy/placement.h"
#include "scheduler/policy/queue_index.h"
#include "scheduler/policy/reasons.h"

namespace shoal {

using namespace policy_internal;

Result<PolicyOptions> ParsePolicyName(std::string_view name) {
  PolicyOptions o;
  const size_t plus = name.find('+');
  const std::string_view base = name.substr(0, plus);
  if (base == "fifo") {
    o.kind = PolicyKind::kFifo;
  } else if (base == "priority") {
    o.kind = PolicyKind::kPriority;
  } else if (base == "fairshare") {
    o.kind = PolicyKind::kFairShare;
  } else {
    return InvalidArgument("unknown policy \"" + std::string(name) +
                           "\": expected fifo, priority or fairshare, optionally +backfill, "
                           "+elastic, +las (and +preempt for fairshare)");
  }
  std::string_view rest = plus == std::string_view::npos ? "" : name.substr(plus);
  while (!rest.empty()) {
    const size_t next = rest.find('+', 1);
    const std::string_view mod =
        rest.substr(1, next == std::string_view::npos ? rest.npos : next - 1);
    if (mod == "backfill" && !o.backfill) {
      o.backfill = true;
    } else if (mod == "preempt" && !o.preempt && o.kind == PolicyKind::kFairShare) {
      o.preempt = true;
    } else if (mod == "elastic" && !o.elastic) {
      o.elastic = true;
    } else if (mod == "las" && !o.las) {
      o.las = true;
    } else {
      return InvalidArgument("bad policy modifier \"+" + std::string(mod) + "\" in \"" +
                             std::string(name) +
                             "\": each of +backfill, +preempt, +elastic and +las at most once, "
                             "+preempt only with fairshare");
    }
    rest = next == std::string_view::npos ? "" : rest.substr(next);
  }
  return o;
}

std::string PolicyName(const PolicyOptions& options) {
  std::string s = options.kind == PolicyKind::kFifo       ? "fifo"
                  : options.kind == PolicyKind::kPriority ? "priority"
                                                          : "fairshare";
  if (options.backfill) s += "+backfill";
  if (options.preempt) s += "+preempt";
  if (options.elastic) s += "+elastic";
  if (options.las) s += "+las";
  return s;
}

const char* GuardSetting(GuardedJob::Guard guard) {
  return guard == GuardedJob::Guard::kMaxPreemptions ? "preemptMaxPerJob" : "preemptMaxUnsaved";
}

std::string DescribeGuard(const GuardedJob& g) {
  const std::string setting = GuardSetting(g.guard);
  if (g.guard == GuardedJob::Guard::kMaxPreemptions) {
    return "preempted " + std::to_string(g.value) + " times already (" + setting + " " +
           std::to_string(g.bound) + ")";
  }
  return "its last checkpoint is " + std::to_string(g.value / 60000) + " min old (" + setting +
         " " + std::to_string(g.bound / 60000) + " min)";
}

namespace {

// One scheduling pass: the queue in the policy's order, each job started where it fits or told
// why it waits; behind a blocked head job, backfill into its reservation; then preemption for the
// head and elastic growth. Placements commit to a copy of the workers as they are decided.
class Cycle {
 public:
  Cycle(const Snapshot& snapshot, const PolicyOptions& options, const QueueIndex* index)
      : snapshot_(snapshot),
        options_(options),
        queue_index_(index),
        workers_(snapshot.workers),
        free_slots_(FreeSlotsTotal(workers_)),
        any_capped_(
            std::any_of(workers_.begin(), workers_.end(),
                        [](const SnapshotWorker& w) { return w.foreign_job_rank_cap > 0; })),
        any_cached_(std::any_of(workers_.begin(), workers_.end(),
                                [](const SnapshotWorker& w) { return !w.cached.empty(); })) {
    // Computed once: the order and preemption both need them.
    if (options.kind == PolicyKind::kFairShare) factor_ = FactorByAccount(snapshot, index);
  }

  Decisions Run() && {
    if (free_slots_ <= 0 && !options_.explain_waits) {
      // Nothing can start, and no wait is explained: the pass would stop at the first job, so
      // find only that one (whom preemption serves), not the whole order. Most of a busy
      // cluster's cycles are such.
      if (!snapshot_.queue.empty()) {
        blocked_ = true;
        if (options_.preempt) head_ = &snapshot_.queue[FirstInOrder()];
      }
    } else {
      VisitInOrder([&](const SnapshotJob& job) { return Consider(job); });
    }
    if (options_.backfill && options_.explain_waits && head_ != nullptr) EstimateHeadStart();
    if (options_.preempt && head_ != nullptr) {
      PreemptFor(*head_, snapshot_, workers_, options_, factor_, out_);
    }
    if (options_.elastic && !blocked_) GrowJobs(snapshot_, options_, factor_, workers_, out_);
    return std::move(out_);
  }

 private:
  // Which workers a job fits depends, for jobs without GPU-type or memory constraints, only on
  // its backend and GPUs per rank: computed once per such shape. Jobs every worker fits (the
  // common, uniform case) are placed through the index.
  struct Fit {
    bool all = true;   // every worker fits
    int capacity = 0;  // total slots of the workers that fit (commits do not change it)
  };

  // Calls visit(job) for the queued jobs in the policy's order until it returns false.
  template <typename Visit>
  void VisitInOrder(Visit&& visit) const {
    if (queue_index_ != nullptr) {
      queue_index_->ForEach([&](std::string_view account) { return factor_.at(account); },
                            [&](int i) { return visit(snapshot_.queue[i]); });
      return;
    }
    for (const int i : QueueOrder()) {
      if (!visit(snapshot_.queue[i])) return;
    }
  }

  std::vector<int> QueueOrder() const {
    std::vector<int> order = options_.kind == PolicyKind::kFifo ? FifoOrder(snapshot_)
                             : options_.kind == PolicyKind::kPriority
                                 ? PriorityOrder(snapshot_)
                                 : FairShareOrder(snapshot_, factor_);
    if (options_.las) {
      // Jobs the base ordering ranks alike: one group for fifo, one per priority or per factor.
      std::vector<double> group(snapshot_.queue.size(), 0.0);
      FactorLookup factor_of(factor_);
      for (size_t i = 0; i < group.size() && options_.kind != PolicyKind::kFifo; ++i) {
        const SnapshotJob& j = snapshot_.queue[i];
        group[i] = options_.kind == PolicyKind::kPriority ? j.priority : factor_of(j);
      }
      LasWithinGroups(snapshot_, options_, group, order);
    }
    return order;
  }

  // QueueOrder()[0] in one pass: the least job by the keys the policy's stable sorts rank by,
  // most significant first: factor (fairshare) or priority (priority), then the +las level, then
  // priority (fairshare), then submission.
  int FirstInOrder() const {
    if (queue_index_ != nullptr) {
      int first = 0;
      VisitInOrder([&](const SnapshotJob& job) {
        first = static_cast<int>(&job - snapshot_.queue.data());
        return false;
      });
      return first;
    }
    const bool fair = options_.kind == PolicyKind::kFairShare;
    const bool by_priority = options_.kind != PolicyKind::kFifo;
    FactorLookup factor_of(factor_);
    auto level_of = [&](const SnapshotJob& j) {
      return options_.las ? LasLevel(j, snapshot_.now_ms, options_) : 0;
    };
    int best = 0;
    double best_factor = fair ? factor_of(snapshot_.queue[0]) : 0;
    int best_level = level_of(snapshot_.queue[0]);
    for (int i = 1; i < static_cast<int>(snapshot_.queue.size()); ++i) {
      const SnapshotJob& a = snapshot_.queue[i];
      const SnapshotJob& b = snapshot_.queue[best];
      const double factor = fair ? factor_of(a) : 0;
      const int level = level_of(a);
      bool before = false;
      if (factor != best_factor) {
        before = factor > best_factor;
      } else if (!fair && by_priority && a.priority != b.priority) {
        before = a.priority > b.priority;
      } else if (level != best_level) {
        before = level < best_level;
      } else if (by_priority && a.priority != b.priority) {
        before = a.priority > b.priority;
      } else {
        before = SubmittedBefore(a, b);
      }
      if (before) {
        best = i;
        best_factor = factor;
        best_level = level;
      }
    }
    return best;
  }

  FreeSlotIndex& Index() {
    if (!index_) index_.emplace(workers_);
    return *index_;
  }

  Fit FitOf(const SnapshotJob& job) {
    // A worker with a cap on its share of strangers' jobs fits some jobs by fewer slots than it
    // has: the index does not know that, PlaceGang does.
    if (!job.gpu_types.empty() || job.min_gpu_memory_gib > 0 || any_capped_ ||
        !job.worker_accounts.empty()) {
      return Fit{false, FittingCapacity(job, workers_)};
    }
    auto [it, added] =
        fit_cache_.try_emplace(std::tuple{job.backend, job.gpus_per_rank, job.rank_memory_bytes});
    if (added) {
      for (const auto& w : workers_) it->second.all = it->second.all && WorkerFits(job, w);
      it->second.capacity = FittingCapacity(job, workers_);
    }
    return it->second;
  }

  // Whether the free-slot indexes place `job` as PlaceGang would: it fits every worker, and the
  // index knows nothing of caches, so a job reading data some worker caches takes PlaceGang,
  // which prefers those workers.
  bool Indexable(const SnapshotJob& job) {
    return FitOf(job).all && (job.data.empty() || !any_cached_);
  }

  std::optional<std::vector<std::string>> Place(const SnapshotJob& job) {
    return Indexable(job) ? Index().Place(job) : PlaceGang(job, workers_);
  }

  void Start(const SnapshotJob& job, std::vector<std::string> placement) {
    Index().Commit(placement);
    free_slots_ -= static_cast<int>(placement.size());
    if (options_.backfill) {
      SnapshotRunning r;
      r.id = job.id;
      r.account = job.account;
      r.start_ms = snapshot_.now_ms;
      r.max_runtime_ms = job.max_runtime_ms;
      r.rank_workers = placement;
      running_.push_back(std::move(r));
    }
    out_.starts.push_back({job.id, std::move(placement)});
  }

  void Wait(const SnapshotJob& job, const char* reason, std::string detail) {
    if (options_.explain_waits) out_.waits.push_back({job.id, reason, std::move(detail)});
  }

  // One queued job, in order. False when the pass stops here: nothing behind it can start and
  // there are no waits to explain.
  bool Consider(const SnapshotJob& job) {
    if (!options_.explain_waits) {
      if (free_slots_ <= 0 || (head_ != nullptr && !options_.backfill)) {
        if (head_ == nullptr && options_.preempt) head_ = &job;  // whom preemption would serve
        blocked_ = true;
        return false;
      }
      if (head_ != nullptr && job.min_ranks > free_slots_) return true;
      // Behind the head only backfill can start a job. Without a reservation nothing can; with
      // one, a job that neither ends before it nor fits its spare slots cannot either. A
      // backfill pass walks the whole queue while slots are free: turn those away first.
      if (head_ != nullptr) {
        const Reservation* reservation = HeadReservation();
        if (reservation == nullptr) return false;
        if (!EndsBeforeReservation(job, *reservation, snapshot_.now_ms) &&
            reservation->spare_now < job.min_ranks) {
          return true;
        }
      }
    }
    const int capacity = FitOf(job).capacity;
    if (!workers_.empty() && capacity < job.min_ranks) {
      WaitForConstraint(job, capacity);
    } else if (head_ == nullptr) {
      StartOrBlock(job, capacity);
    } else if ((!options_.backfill || !BackfillBehindHead(job)) && options_.explain_waits) {
      Wait(job, kReasonPriority, "waiting behind job " + std::to_string(head_->id));
    }
    return true;
  }

  // The alive workers that fit the job have fewer slots than it needs. Waiting cannot help it,
  // so it holds up nobody. (With no worker at all, every job waits for Resources: the pool is
  // starting or empty, not unable.)
  void WaitForConstraint(const SnapshotJob& job, int capacity) {
    if (!options_.explain_waits) return;  // the message is all it does
    std::string memory = DescribeMemoryShortfall(job, workers_);
    Wait(job, kReasonConstraint,
         !memory.empty()
             ? std::move(memory)
             : DescribeNeed(job) + "; " +
                   (capacity == 0 ? std::string("no alive worker fits")
                                  : "the alive workers that fit have " + std::to_string(capacity) +
                                        (capacity == 1 ? " slot" : " slots") + " in all"));
  }

  // Up to the first job that does not fit now, every job starts; that one becomes the head job,
  // which the jobs behind it wait for (or backfill around).
  void StartOrBlock(const SnapshotJob& job, int capacity) {
    if (auto placement = Place(job)) {
      Start(job, std::move(*placement));
      return;
    }
    head_ = &job;
    head_wait_ = out_.waits.size();
    blocked_ = true;
    if (!options_.explain_waits) return;
    int usable = 0;
    for (const auto& w : workers_) usable += UsableSlots(job, w);
    Wait(job, kReasonResources,
         DescribeNeed(job) + "; " +
             (workers_.empty() ? std::string("no worker is alive")
                               : std::to_string(usable) + " of the " + std::to_string(capacity) +
                                     " slots that fit are free"));
  }

  // A job behind the head under backfill: it starts if it ends before the head's reserved start
  // or fits the slots the reservation leaves spare, else waits. False when the head has no
  // reservation (the job then simply waits behind it).
  bool BackfillBehindHead(const SnapshotJob& job) {
    Reservation* reservation = HeadReservation();
    if (reservation == nullptr) return false;
    std::optional<std::vector<std::string>> placement;
    if (free_slots_ >= job.min_ranks) {
      if (EndsBeforeReservation(job, *reservation, snapshot_.now_ms)) placement = Place(job);
      if (!placement) placement = PlaceSpare(job, *reservation);
    }
    if (placement) {
      Start(job, std::move(*placement));
      if (spare_index_) {
        SyncSpare(out_.starts.back().rank_workers, *reservation);
      } else {
        RefreshSpare(workers_, *reservation);
      }
      return true;
    }
    if (options_.explain_waits) {
      Wait(job, kReasonPriority,
           "waiting behind job " + std::to_string(head_->id) + " (reserved to start in " +
               std::to_string((reservation->start_ms - snapshot_.now_ms) / 1000) + "s)");
    }
    return true;
  }

  // PlaceInSpare through a second index over the spare slots (min(free now, reservation.extra)),
  // for the jobs the first index can place: a cycle whose head is blocked while other slots are
  // free (a pool of several GPU types) tries most of the queue there. Same result.
  std::optional<std::vector<std::string>> PlaceSpare(const SnapshotJob& job,
                                                     Reservation& reservation) {
    if (reservation.spare_now < job.min_ranks) return std::nullopt;
    if (!Indexable(job)) return PlaceInSpare(job, workers_, reservation);
    if (!spare_index_) {
      spare_workers_ = workers_;
      for (size_t i = 0; i < spare_workers_.size(); ++i) {
        spare_workers_[i].free_slots =
            std::max(0, std::min(workers_[i].free_slots, reservation.extra[i]));
      }
      spare_index_.emplace(spare_workers_);
    }
    auto p = spare_index_->Place(job);
    if (p) {
      for (const std::string& id : *p) --reservation.extra[*Index().Position(id)];
    }
    return p;
  }

  // Brings the spare index in step with the workers of a start (their free slots, and
  // reservation.extra when it used spare slots, shrank), and spare_now with it.
  void SyncSpare(const std::vector<std::string>& placement, Reservation& reservation) {
    std::vector<std::string> taken;  // one entry per spare slot gone, as Commit counts them
    std::vector<std::string_view> seen;
    for (const std::string& id : placement) {
      if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
      seen.push_back(id);
      const std::optional<size_t> i = Index().Position(id);
      if (!i) continue;
      const int now = std::max(0, std::min(workers_[*i].free_slots, reservation.extra[*i]));
      for (int s = now; s < spare_workers_[*i].free_slots; ++s) taken.push_back(id);
    }
    spare_index_->Commit(taken);
    reservation.spare_now = spare_index_->free_total();
  }

  // The head job's reservation, computed once: when the first job behind the head asks (the
  // head's start is fixed by then: nothing ahead of it starts later in the cycle), or at the end.
  Reservation* HeadReservation() {
    if (!reservation_done_) {
      std::vector<const SnapshotRunning*> all;
      all.reserve(snapshot_.running.size() + running_.size());
      for (const auto& r : snapshot_.running) all.push_back(&r);
      for (const auto& r : running_) all.push_back(&r);
      reservation_ = ReserveHead(*head_, workers_, all, snapshot_.now_ms);
      reservation_done_ = true;
    }
    return reservation_ ? &*reservation_ : nullptr;
  }

  // `squeue --start`: the head job's reserved start, also when no job behind it asked for it.
  void EstimateHeadStart() {
    const Reservation* reservation = HeadReservation();
    if (reservation && head_wait_ < out_.waits.size() &&
        out_.waits[head_wait_].job_id == head_->id) {
      out_.waits[head_wait_].estimated_start_ms = reservation->start_ms;
    }
  }

  const Snapshot& snapshot_;
  const PolicyOptions& options_;
  const QueueIndex* queue_index_;  // the queue's order, kept by the caller (null: sort it here)
  Decisions out_;
  FactorMap factor_;
  std::vector<SnapshotWorker> workers_;  // free slots shrink as we commit
  // Commits go through it, so it and `workers_` stay in step. Built when first needed: most of a
  // busy cluster's cycles start nothing.
  std::optional<FreeSlotIndex> index_;
  int free_slots_;
  std::map<std::tuple<Backend, int, int64_t>, Fit> fit_cache_;  // + the rank's memory need
  const bool any_capped_;
  const bool any_cached_;  // some worker reported cached registry data
  // Jobs holding slots, plus the ones this cycle starts (for the head job's reservation).
  std::vector<SnapshotRunning> running_;
  const SnapshotJob* head_ = nullptr;
  size_t head_wait_ = 0;  // index of the head job's entry in out_.waits
  bool blocked_ = false;  // a queued job waits for slots (not for a Constraint)
  std::optional<Reservation> reservation_;
  bool reservation_done_ = false;
  // The reservation's spare slots for PlaceSpare: a copy of the workers with min(free, extra)
  // free slots, and its index; built at the first PlaceSpare that can use them.
  std::vector<SnapshotWorker> spare_workers_;
  std::optional<FreeSlotIndex> spare_index_;
};

}  // namespace

Decisions Decide(const Snapshot& snapshot, const PolicyOptions& options) {
  return Cycle(snapshot, options, nullptr).Run();
}

Decisions Decide(const Snapshot& snapshot, const PolicyOptions& options, QueueIndex& index) {
  const bool usable = index.size() == snapshot.queue.size() && index.Orders(options);
  if (usable) index.Advance(snapshot.now_ms);
  return Cycle(snapshot, options, usable ? &index : nullptr).Run();
}

}  // namespace shoal

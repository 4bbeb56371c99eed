#include "scheduler/policy/policy.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <map>
#include <tuple>
#include <utility>

#include "scheduler/policy/backfill.h"
#include "scheduler/policy/elastic.h"
#include "scheduler/policy/order.h"
#include "scheduler/policy/placement.h"
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
                           "\": expected fifo, priority or fairshare, optionally +backfill "
                           "(and +preempt for fairshare)");
  }
  std::string_view rest = plus == std::string_view::npos ? "" : name.substr(plus);
  while (!rest.empty()) {
    const size_t next = rest.find('+', 1);
    const std::string_view mod = rest.substr(1, next == std::string_view::npos ? rest.npos : next - 1);
    if (mod == "backfill" && !o.backfill) {
      o.backfill = true;
    } else if (mod == "preempt" && !o.preempt && o.kind == PolicyKind::kFairShare) {
      o.preempt = true;
    } else if (mod == "elastic" && !o.elastic) {
      o.elastic = true;
    } else {
      return InvalidArgument("bad policy modifier \"+" + std::string(mod) + "\" in \"" +
                             std::string(name) +
                             "\": each of +backfill, +preempt and +elastic at most once, "
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
  return s;
}

namespace {

// Fair-share preemption for the blocked `head` (policy.h, PolicyOptions::preempt and elastic).
// `workers` are the free slots after this cycle's starts.
void PreemptFor(const SnapshotJob& head, const Snapshot& snapshot,
                const std::vector<SnapshotWorker>& workers, const PolicyOptions& options,
                FactorMap& factor, Decisions& out) {
  const double mine = factor[head.account];
  if (mine <= 0.5) return;  // at or above its share: it waits its turn
  std::vector<const SnapshotRunning*> victims;
  for (const auto& r : snapshot.running) {
    const double theirs = factor[r.account];
    if (theirs < 0.5 && mine - theirs >= options.preempt_margin &&
        snapshot.now_ms - r.start_ms >= options.preempt_min_runtime_ms) {
      victims.push_back(&r);
    }
  }
  std::sort(victims.begin(), victims.end(), [&](const auto* a, const auto* b) {
    const double fa = factor[a->account], fb = factor[b->account];
    if (fa != fb) return fa < fb;
    return a->start_ms != b->start_ms ? a->start_ms > b->start_ms : a->id < b->id;
  });
  // Slots of ranks already told to stop (an earlier preemption, a failure) count as free: if
  // they make room, wait for them instead of preempting more.
  std::vector<SnapshotWorker> freed = workers;
  for (auto& w : freed) w.free_slots += w.stopping_slots;
  if (PlaceGang(head, freed)) return;
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < freed.size(); ++i) index[freed[i].id] = i;
  auto release = [&](const std::string& wid) {
    if (auto it = index.find(wid); it != index.end()) ++freed[it->second].free_slots;
  };
  auto why = [&](const SnapshotRunning& v, const char* what) {
    char buf[200];
    std::snprintf(buf, sizeof(buf), "%sfair share: account %s (%.2f) for job %lld of %s (%.2f)",
                  what, v.account.c_str(), factor[v.account], static_cast<long long>(head.id),
                  head.account.c_str(), mine);
    return std::string(buf);
  };
  std::vector<const SnapshotRunning*> chosen;  // preempted entirely
  auto commit = [&] {
    for (const SnapshotRunning* c : chosen) out.preempts.push_back({c->id, head.id, why(*c, "")});
  };
  for (const SnapshotRunning* v : victims) {
    std::vector<std::string> kept = v->rank_workers;
    if (options.elastic && IsElastic(*v)) {
      // Shrink first: give up ranks on workers the head can use, one at a time, down to min.
      for (size_t i = kept.size(); i-- > 0 && static_cast<int>(kept.size()) > v->min_ranks;) {
        auto it = index.find(kept[i]);
        if (it == index.end() || !WorkerFits(head, freed[it->second])) continue;
        ++freed[it->second].free_slots;
        kept.erase(kept.begin() + static_cast<ptrdiff_t>(i));
        if (PlaceGang(head, freed)) {
          commit();
          const std::string what = "shrink " + std::to_string(v->rank_workers.size()) + " -> " +
                                   std::to_string(kept.size()) + " ranks: ";
          out.resizes.push_back({v->id, std::move(kept), why(*v, what.c_str())});
          return;
        }
      }
    }
    for (const std::string& wid : kept) release(wid);
    chosen.push_back(v);
    if (PlaceGang(head, freed)) {
      commit();
      return;
    }
  }
  // Even every candidate together would not make room: preempt nobody.
}
}  // namespace

Decisions Decide(const Snapshot& snapshot, const PolicyOptions& options) {
  Decisions out;
  // Computed once: the order and preemption both need them.
  FactorMap factor;
  if (options.kind == PolicyKind::kFairShare) factor = FactorByAccount(snapshot);
  const std::vector<int> order = options.kind == PolicyKind::kFifo ? FifoOrder(snapshot)
                                 : options.kind == PolicyKind::kPriority
                                     ? PriorityOrder(snapshot)
                                     : FairShareOrder(snapshot, factor);
  std::vector<SnapshotWorker> workers = snapshot.workers;  // free slots shrink as we commit
  FreeSlotIndex index(workers);  // commits go through it, so it and `workers` stay in step
  int free_slots = index.free_total();
  // Which workers a job fits depends, for jobs without GPU-type or memory constraints, only on
  // its backend and GPUs per rank: computed once per such shape. Jobs every worker fits (the
  // common, uniform case) are placed through the index.
  struct Fit {
    bool all = true;   // every worker fits
    int capacity = 0;  // total slots of the workers that fit (commits do not change it)
  };
  std::map<std::tuple<Backend, int, int64_t>, Fit> fit_cache;  // + the rank's memory need
  // A worker with a cap on its share of strangers' jobs fits some jobs by fewer slots than it
  // has: the index does not know that, PlaceGang does.
  const bool any_capped = std::any_of(workers.begin(), workers.end(), [](const SnapshotWorker& w) {
    return w.foreign_job_rank_cap > 0;
  });
  auto fit_of = [&](const SnapshotJob& job) {
    if (!job.gpu_types.empty() || job.min_gpu_memory_gib > 0 || any_capped) {
      return Fit{false, FittingCapacity(job, workers)};
    }
    auto [it, added] =
        fit_cache.try_emplace(std::tuple{job.backend, job.gpus_per_rank, job.rank_memory_bytes});
    if (added) {
      for (const auto& w : workers) it->second.all = it->second.all && WorkerFits(job, w);
      it->second.capacity = FittingCapacity(job, workers);
    }
    return it->second;
  };
  auto place = [&](const SnapshotJob& job) {
    return fit_of(job).all ? index.Place(job) : PlaceGang(job, workers);
  };
  // Jobs holding slots, plus the ones this cycle starts (for the head job's reservation).
  std::vector<SnapshotRunning> running;
  const SnapshotJob* head = nullptr;
  size_t head_wait = 0;  // index of the head job's entry in out.waits
  bool blocked = false;  // a queued job waits for slots (not for a Constraint)
  std::optional<Reservation> reservation;
  bool reservation_done = false;

  auto start = [&](const SnapshotJob& job, std::vector<std::string> placement) {
    index.Commit(placement);
    free_slots -= static_cast<int>(placement.size());
    if (options.backfill) {
      SnapshotRunning r;
      r.id = job.id;
      r.account = job.account;
      r.start_ms = snapshot.now_ms;
      r.max_runtime_ms = job.max_runtime_ms;
      r.rank_workers = placement;
      running.push_back(std::move(r));
    }
    out.starts.push_back({job.id, std::move(placement)});
  };
  auto wait = [&](const SnapshotJob& job, const char* reason, std::string detail) {
    if (options.explain_waits) out.waits.push_back({job.id, reason, std::move(detail)});
  };

  for (const int i : order) {
    const SnapshotJob& job = snapshot.queue[i];
    if (!options.explain_waits) {
      // Without explanations to write, stop as soon as nothing else can start.
      if (free_slots <= 0 || (head != nullptr && !options.backfill)) {
        if (head == nullptr && options.preempt) head = &job;  // whom preemption would serve
        blocked = true;
        break;
      }
      if (head != nullptr && job.min_ranks > free_slots) continue;
    }
    const int capacity = fit_of(job).capacity;
    if (!workers.empty() && capacity < job.min_ranks) {
      // Waiting cannot help it, so it holds up nobody. (With no worker at all, every job waits
      // for Resources: the pool is starting or empty, not unable.)
      std::string memory = DescribeMemoryShortfall(job, workers);
      wait(
          job, kReasonConstraint,
          !memory.empty()
              ? std::move(memory)
              : DescribeNeed(job) + "; " +
                    (capacity == 0 ? std::string("no alive worker fits")
                                   : "the alive workers that fit have " + std::to_string(capacity) +
                                         (capacity == 1 ? " slot" : " slots") + " in all"));
      continue;
    }
    if (head == nullptr) {
      if (auto placement = place(job)) {
        start(job, std::move(*placement));
        continue;
      }
      head = &job;
      head_wait = out.waits.size();
      blocked = true;
      int usable = 0;
      for (const auto& w : workers) usable += UsableSlots(job, w);
      wait(job, kReasonResources,
           DescribeNeed(job) + "; " +
               (workers.empty() ? std::string("no worker is alive")
                                : std::to_string(usable) + " of the " + std::to_string(capacity) +
                                      " slots that fit are free"));
      continue;
    }
    if (options.backfill) {
      if (!reservation_done) {
        // Computed once, when the first job behind the head asks (the head's start is fixed by
        // then: nothing ahead of it starts later in the cycle).
        std::vector<SnapshotRunning> all = snapshot.running;
        all.insert(all.end(), running.begin(), running.end());
        reservation = ReserveHead(*head, workers, all, snapshot.now_ms);
        reservation_done = true;
      }
      if (reservation) {
        std::optional<std::vector<std::string>> placement;
        if (free_slots >= job.min_ranks) {
          if (EndsBeforeReservation(job, *reservation, snapshot.now_ms)) placement = place(job);
          if (!placement) placement = PlaceInSpare(job, workers, *reservation);
        }
        if (placement) {
          start(job, std::move(*placement));
          RefreshSpare(workers, *reservation);
          continue;
        }
        wait(job, kReasonPriority,
             "waiting behind job " + std::to_string(head->id) + " (reserved to start in " +
                 std::to_string((reservation->start_ms - snapshot.now_ms) / 1000) + "s)");
        continue;
      }
    }
    wait(job, kReasonPriority, "waiting behind job " + std::to_string(head->id));
  }
  if (options.backfill && options.explain_waits && head != nullptr) {
    // `squeue --start`: the head job's reserved start, also when no job behind it asked for it.
    if (!reservation_done) {
      std::vector<SnapshotRunning> all = snapshot.running;
      all.insert(all.end(), running.begin(), running.end());
      reservation = ReserveHead(*head, workers, all, snapshot.now_ms);
      reservation_done = true;
    }
    if (reservation && head_wait < out.waits.size() && out.waits[head_wait].job_id == head->id) {
      out.waits[head_wait].estimated_start_ms = reservation->start_ms;
    }
  }
  if (options.preempt && head != nullptr) {
    PreemptFor(*head, snapshot, workers, options, factor, out);
  }
  if (options.elastic && !blocked) GrowJobs(snapshot, options, factor, workers, out);
  return out;
}

}  // namespace shoal

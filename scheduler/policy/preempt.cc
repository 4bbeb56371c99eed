// Fair-share preemption for a blocked head job (policy.h, PolicyOptions::preempt and elastic):
// whom to stop or shrink, and which guard spared whom. Internal to scheduler/policy (order.h).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scheduler/policy/elastic.h"
#include "scheduler/policy/order.h"
#include "scheduler/policy/placement.h"

namespace shoal::policy_internal {
namespace {

// How long running job r has worked since its last checkpoint (or its start, before its first).
int64_t UnsavedMs(const SnapshotRunning& r, int64_t now_ms) {
  return now_ms - std::max(r.start_ms, r.last_checkpoint_ms);
}

}  // namespace

void PreemptFor(const SnapshotJob& head, const Snapshot& snapshot,
                std::vector<SnapshotWorker>& workers, const PolicyOptions& options,
                const FactorMap& factor, Decisions& out) {
  // Outside fairshare (tests may ask for +preempt with any ordering) nobody is rated: all 0.
  auto factor_at = [&](const std::string& account) { return factor.Get(account, 0.0); };
  const double mine = factor_at(head.account);
  // At or above its share the head waits its turn, unless +las lets it preempt jobs that have
  // received more service than it has.
  if (mine <= 0.5 && !options.las) return;
  const int head_level = options.las ? LasLevel(head, snapshot.now_ms, options) : 0;
  // The fair-share rule for a victim of an account with factor `theirs` (else only +las's).
  auto by_fair_share = [&](double theirs) {
    return mine > 0.5 && theirs < 0.5 && mine - theirs >= options.preempt_margin;
  };
  // Running jobs' factors, by account_id where given (a name lookup per running job is most of a
  // busy cycle's cost otherwise).
  std::vector<double> by_id;
  auto factor_of = [&](const SnapshotRunning& r) {
    if (r.account_id < 0) return factor_at(r.account);
    if (static_cast<size_t>(r.account_id) >= by_id.size()) by_id.resize(r.account_id + 1, NAN);
    double& f = by_id[r.account_id];
    if (std::isnan(f)) f = factor_at(r.account);
    return f;
  };
  // A candidate with what orders it, computed once (the sort, the heap and the what-if below
  // compare candidates many times per blocked cycle).
  struct Candidate {
    const SnapshotRunning* r;
    int level;  // +las's, else 0
    double factor;
    int64_t unsaved_ms;
  };
  // Who is taken first: the deepest +las level, the most over-served account, the least work
  // lost (without checkpoints: the most recently started), the lowest id.
  auto first_victim = [](const Candidate& a, const Candidate& b) {
    if (a.level != b.level) return a.level > b.level;
    if (a.factor != b.factor) return a.factor < b.factor;
    if (a.unsaved_ms != b.unsaved_ms) return a.unsaved_ms < b.unsaved_ms;
    return a.r->id < b.r->id;
  };
  std::vector<Candidate> victims;
  victims.reserve(snapshot.running.size());
  // Candidates a guard spares, with why; reported only if the preemption would have taken them.
  std::vector<std::pair<Candidate, GuardedJob>> spared;
  size_t first_spared = 0;  // the one of `spared` that would be taken first
  // This runs in every cycle whose head is blocked, over every running job: the cheap tests
  // first, and a job's level only when it can decide or order (it is only read for victims).
  for (const auto& r : snapshot.running) {
    if (snapshot.now_ms - r.start_ms < options.preempt_min_runtime_ms) continue;
    const double theirs = factor_of(r);
    const bool fair_share = by_fair_share(theirs);
    bool las = false;
    int level = 0;
    // +las never takes from an account more under-served than the head's: fair share rules.
    if (options.las && (fair_share || theirs <= mine)) {
      level = LasLevelRunning(r, snapshot.now_ms, options);
      las = level > head_level && theirs <= mine;
    }
    if (!fair_share && !las) continue;
    const int64_t unsaved_ms = UnsavedMs(r, snapshot.now_ms);
    const Candidate c{&r, level, theirs, unsaved_ms};
    if (options.preempt_max_per_job > 0 && r.preemptions >= options.preempt_max_per_job) {
      spared.push_back({c,
                        {r.id, GuardedJob::Guard::kMaxPreemptions, r.preemptions,
                         options.preempt_max_per_job, head.id}});
    } else if (options.preempt_max_unsaved_ms > 0 && unsaved_ms > options.preempt_max_unsaved_ms) {
      spared.push_back({c,
                        {r.id, GuardedJob::Guard::kMaxUnsaved, unsaved_ms,
                         options.preempt_max_unsaved_ms, head.id}});
    } else {
      victims.push_back(c);
      continue;
    }
    if (first_victim(c, spared[first_spared].first)) first_spared = spared.size() - 1;
  }
  if (victims.empty() && spared.empty()) return;
  std::sort(victims.begin(), victims.end(), first_victim);
  // Slots of ranks already told to stop (an earlier preemption, a failure) count as free: if
  // they make room, wait for them instead of preempting more. `freed` is the cycle's workers
  // themselves (a copy of every worker per blocked cycle was 4 % of a busy replay's time),
  // with their free slots put back as they were on the way out.
  std::vector<SnapshotWorker>& freed = workers;
  std::vector<int> free_before(freed.size());
  for (size_t i = 0; i < freed.size(); ++i) {
    free_before[i] = freed[i].free_slots;
    freed[i].free_slots += freed[i].stopping_slots;
  }
  struct Restore {
    std::vector<SnapshotWorker>& ws;
    const std::vector<int>& slots;
    ~Restore() {
      for (size_t i = 0; i < ws.size(); ++i) ws[i].free_slots = slots[i];
    }
  } restore{freed, free_before};
  if (PlaceGang(head, freed)) return;
  // Worker id -> position in `freed`: `freed` itself when its ids are in order, shorter ids
  // first (shoal-sim's n0, n1, ..., n10, ... are), else a sorted vector of views (a hash map of
  // string copies cost more than the lookups it served).
  auto id_before = [](std::string_view a, std::string_view b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  };
  const bool sorted = std::is_sorted(
      freed.begin(), freed.end(),
      [&](const SnapshotWorker& a, const SnapshotWorker& b) { return id_before(a.id, b.id); });
  std::vector<std::pair<std::string_view, size_t>> ids;
  if (!sorted) {
    ids.reserve(freed.size());
    for (size_t i = 0; i < freed.size(); ++i) ids.emplace_back(freed[i].id, i);
    std::sort(ids.begin(), ids.end());
  }
  auto position = [&](const std::string& wid) -> std::optional<size_t> {
    if (sorted) {
      auto it = std::lower_bound(
          freed.begin(), freed.end(), wid,
          [&](const SnapshotWorker& w, const std::string& id) { return id_before(w.id, id); });
      if (it == freed.end() || it->id != wid) return std::nullopt;
      return static_cast<size_t>(it - freed.begin());
    }
    auto it =
        std::lower_bound(ids.begin(), ids.end(), std::make_pair(std::string_view(wid), size_t{0}));
    if (it == ids.end() || it->first != wid) return std::nullopt;
    return it->second;
  };
  // Each rank takes one slot, so a gang cannot be placed on fewer free slots than its minimum:
  // counting them spares the PlaceGang calls that could not succeed.
  int free_total = 0;
  for (const auto& w : freed) free_total += w.free_slots;
  const int free_at_start = free_total;
  auto fits = [&] { return free_total >= head.min_ranks && PlaceGang(head, freed).has_value(); };
  std::vector<size_t> released;  // the workers whose slots the choice counted as freed
  auto release_at = [&](size_t i) {
    ++freed[i].free_slots;
    ++free_total;
    released.push_back(i);
  };
  auto release = [&](const std::string& wid) {
    if (auto i = position(wid)) release_at(*i);
  };
  auto why = [&](const Candidate& v, const char* what) {
    char buf[200];
    std::snprintf(buf, sizeof(buf), "%s%s: account %s (%.2f) for job %lld of %s (%.2f)", what,
                  by_fair_share(v.factor) ? "fair share" : "attained service", v.r->account.c_str(),
                  v.factor, static_cast<long long>(head.id), head.account.c_str(), mine);
    return std::string(buf);
  };
  // Takes victims in order until the head fits and records them; returns the last one it took,
  // or nullptr when even all of them together would not make room (then it preempts nobody).
  auto choose = [&]() -> const Candidate* {
    std::vector<const Candidate*> chosen;  // preempted entirely
    auto commit = [&] {
      for (const Candidate* c : chosen) out.preempts.push_back({c->r->id, head.id, why(*c, "")});
    };
    for (const Candidate& cv : victims) {
      const SnapshotRunning* v = cv.r;
      // Its ranks not given up to a shrink: all of them unless it is elastic (copied only then,
      // since this loop runs for many candidates in every blocked cycle).
      const std::vector<std::string>* remaining = &v->rank_workers;
      std::vector<std::string> kept;
      if (options.elastic && IsElastic(*v)) {
        kept = v->rank_workers;
        remaining = &kept;
        // Shrink first: give up ranks on workers the head can use, one at a time, down to min.
        for (size_t i = kept.size(); i-- > 0 && static_cast<int>(kept.size()) > v->min_ranks;) {
          auto at = position(kept[i]);
          if (!at || !WorkerFits(head, freed[*at])) continue;
          release_at(*at);
          kept.erase(kept.begin() + static_cast<ptrdiff_t>(i));
          if (fits()) {
            commit();
            const std::string what = "shrink " + std::to_string(v->rank_workers.size()) + " -> " +
                                     std::to_string(kept.size()) + " ranks: ";
            out.resizes.push_back({v->id, std::move(kept), why(cv, what.c_str())});
            return &cv;
          }
        }
      }
      for (const std::string& wid : *remaining) release(wid);
      chosen.push_back(&cv);
      if (fits()) {
        commit();
        return &cv;
      }
    }
    return nullptr;
  };
  const Candidate* last = choose();
  if (spared.empty()) return;
  // Which guard changed the outcome: the spared jobs that the same choice made without the
  // guards (whole jobs, in the same order, until the head fits) would have stopped; none when
  // all sort after the last victim the choice needed. They come off a heap as the walk needs
  // them (it usually stops after a few).
  if (last != nullptr && !first_victim(spared[first_spared].first, *last)) return;
  auto after = [&](const auto& a, const auto& b) { return first_victim(b.first, a.first); };
  std::make_heap(spared.begin(), spared.end(), after);
  for (size_t i : released) --freed[i].free_slots;  // the slots as they were before the choice
  free_total = free_at_start;
  size_t vi = 0, left = spared.size();
  while (vi < victims.size() || left > 0) {
    const SnapshotRunning* c = nullptr;
    if (left > 0 && (vi == victims.size() || first_victim(spared.front().first, victims[vi]))) {
      std::pop_heap(spared.begin(), spared.begin() + static_cast<ptrdiff_t>(left), after);
      c = spared[--left].first.r;  // now past the heap, with the others taken (last taken first)
    } else {
      c = victims[vi++].r;
    }
    for (const std::string& wid : c->rank_workers) release(wid);
    if (fits()) {
      for (size_t k = spared.size(); k-- > left;) out.guarded.push_back(spared[k].second);
      return;
    }
  }
}

}  // namespace shoal::policy_internal

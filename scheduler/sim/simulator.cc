#include "scheduler/sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <queue>
#include <tuple>
#include <random>
#include <unordered_map>

namespace shoal::sim {
namespace {

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(std::ceil(p * v.size())) - (p > 0));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

Result<SimResult> Simulate(const Trace& trace, const Cluster& cluster, const SimOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  if (cluster.groups.empty()) return InvalidArgument("the cluster has no nodes");
  if (options.misestimate <= 0) return InvalidArgument("misestimate must be > 0");
  if (options.elastic_min_fraction < 0 || options.elastic_min_fraction > 1) {
    return InvalidArgument("the elastic minimum fraction must be in 0..1");
  }
  SimResult result;
  PolicyOptions policy = options.policy;
  policy.explain_waits = false;

  Snapshot snap;
  snap.workers = cluster.Workers();
  std::unordered_map<std::string, size_t> worker_index;
  for (size_t i = 0; i < snap.workers.size(); ++i) worker_index[snap.workers[i].id] = i;
  int max_gpus_one_job = 0;  // the most GPUs any job can get: the whole cluster
  for (const auto& w : snap.workers) max_gpus_one_job += w.total_slots;

  // Accounts: one per vc, usage in GPU-seconds decayed by the half-life.
  std::unordered_map<std::string, int> vc_index;
  std::vector<double> used;            // decayed GPU-seconds per vc
  std::vector<int> running_gpus;       // GPUs each vc holds now
  const size_t n = trace.jobs.size();
  result.jobs.resize(n);
  std::mt19937_64 rng(options.seed);
  std::normal_distribution<double> noise(0.0, options.misestimate_sigma);
  std::vector<int64_t> estimate_ms(n);
  for (size_t i = 0; i < n; ++i) {
    const TraceJob& t = trace.jobs[i];
    auto [it, added] = vc_index.try_emplace(t.vc, static_cast<int>(result.vcs.size()));
    if (added) {
      result.vcs.push_back(t.vc);
      used.push_back(0);
      running_gpus.push_back(0);
    }
    JobOutcome& o = result.jobs[i];
    o.submit_s = t.submit_s;
    o.gpus = t.gpus;
    o.duration_s = t.duration_s;
    o.vc = it->second;
    double factor = options.misestimate;
    if (options.misestimate_sigma > 0) factor *= std::exp(noise(rng));
    estimate_ms[i] = std::max<int64_t>(1000, std::llround(t.duration_s * 1000.0 * factor));
  }

  // Completions: (end ms, job index), earliest first.
  // (end ms, job index, generation): a preempted job's old end is skipped by its generation.
  using Event = std::tuple<int64_t, int64_t, int64_t>;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> ends;
  std::vector<char> started(n, 0);
  // Work left, in ms at the job's full size; stale-event guard; ranks it runs on now.
  std::vector<int64_t> remaining_ms(n), generation(n, 0);
  std::vector<int> ranks_now(n, 0);
  for (size_t i = 0; i < n; ++i) remaining_ms[i] = trace.jobs[i].duration_s * 1000;
  // Time job j needs on k ranks for the rest of its work.
  auto time_left_ms = [&](int64_t j, int k) {
    return static_cast<int64_t>(std::ceil(static_cast<double>(remaining_ms[j]) *
                                          trace.jobs[j].gpus / std::max(1, k)));
  };
  // The declared limit of job j's remaining work: its estimate scaled by the work left.
  auto estimate_left_ms = [&](int64_t j) {
    return std::max<int64_t>(1000, std::llround(static_cast<double>(estimate_ms[j]) *
                                                remaining_ms[j] /
                                                (trace.jobs[j].duration_s * 1000.0)));
  };
  // Job j as it waits in the queue (on arrival, and again after a preemption).
  auto queued = [&](int64_t j) {
    SnapshotJob sj;
    sj.id = j;
    sj.account = trace.jobs[j].vc;
    sj.submit_ms = trace.jobs[j].submit_s * 1000;
    sj.min_ranks = sj.max_ranks = trace.jobs[j].gpus;
    if (options.elastic_min_fraction > 0 && sj.max_ranks >= 2) {
      sj.min_ranks = std::max(
          1, static_cast<int>(std::ceil(sj.max_ranks * options.elastic_min_fraction - 1e-9)));
    }
    sj.backend = Backend::kCuda;
    sj.gpus_per_rank = 1;
    sj.max_runtime_ms = estimate_left_ms(j);
    return sj;
  };
  size_t next_arrival = 0;
  int64_t now_ms = 0, last_decay_ms = 0;
  int free_gpus = max_gpus_one_job;
  // Runs job j on `placement` from now (a start, or the restart after a resize).
  auto run = [&](int64_t j, std::vector<std::string> placement) {
    const int k = static_cast<int>(placement.size());
    ranks_now[j] = k;
    running_gpus[result.jobs[j].vc] += k;
    free_gpus -= k;
    for (const std::string& wid : placement) --snap.workers[worker_index[wid]].free_slots;
    ends.emplace(now_ms + time_left_ms(j, k), j, generation[j]);
    SnapshotRunning r = AsRunning(queued(j));  // its shape and the limit of the work left
    r.start_ms = now_ms;
    r.rank_workers = std::move(placement);
    snap.running.push_back(std::move(r));
  };
  // Stops running job j now: it keeps the work up to its last checkpoint. False if not running.
  auto stop = [&](int64_t j) {
    auto it = std::find_if(snap.running.begin(), snap.running.end(),
                           [&](const SnapshotRunning& r) { return r.id == j; });
    if (it == snap.running.end()) return false;
    const int k = ranks_now[j];
    const int64_t ran = now_ms - it->start_ms;
    const int64_t lost = static_cast<int64_t>(options.checkpoint_interval_s * 500.0);
    const double done = static_cast<double>(ran - std::min(ran, lost)) * k / trace.jobs[j].gpus;
    remaining_ms[j] = std::max<int64_t>(1000, remaining_ms[j] - std::llround(done));
    ++generation[j];
    running_gpus[result.jobs[j].vc] -= k;
    free_gpus += k;
    for (const std::string& wid : it->rank_workers) ++snap.workers[worker_index[wid]].free_slots;
    *it = std::move(snap.running.back());
    snap.running.pop_back();
    return true;
  };
  const double decay_per_ms = std::log(2.0) / (options.half_life_s * 1000.0);

  while (next_arrival < n || !ends.empty()) {
    while (!ends.empty() && std::get<2>(ends.top()) != generation[std::get<1>(ends.top())]) {
      ends.pop();
    }
    if (next_arrival >= n && ends.empty()) break;
    const int64_t next_end = ends.empty() ? INT64_MAX : std::get<0>(ends.top());
    const int64_t arrive =
        next_arrival < n ? trace.jobs[next_arrival].submit_s * 1000 : INT64_MAX;
    now_ms = std::min(next_end, arrive);
    // Fair-share ledger: decay, then charge the GPUs held since the last event.
    const double dt = static_cast<double>(now_ms - last_decay_ms);
    if (dt > 0) {
      const double keep = std::exp(-decay_per_ms * dt);
      for (size_t a = 0; a < used.size(); ++a) {
        used[a] = used[a] * keep + running_gpus[a] * dt / 1000.0;
      }
      last_decay_ms = now_ms;
    }
    bool changed = false;
    while (!ends.empty() && std::get<0>(ends.top()) == now_ms) {
      const int64_t j = std::get<1>(ends.top());
      const bool stale = std::get<2>(ends.top()) != generation[j];
      ends.pop();
      if (stale) continue;
      JobOutcome& o = result.jobs[j];
      o.end_s = now_ms / 1000;
      running_gpus[o.vc] -= ranks_now[j];
      free_gpus += ranks_now[j];
      auto it = std::find_if(snap.running.begin(), snap.running.end(),
                             [&](const SnapshotRunning& r) { return r.id == j; });
      for (const std::string& wid : it->rank_workers) ++snap.workers[worker_index[wid]].free_slots;
      *it = std::move(snap.running.back());
      snap.running.pop_back();
      changed = true;
    }
    while (next_arrival < n && trace.jobs[next_arrival].submit_s * 1000 == now_ms) {
      const size_t i = next_arrival++;
      const TraceJob& t = trace.jobs[i];
      if (t.gpus > max_gpus_one_job) {
        ++result.metrics.unschedulable;
        continue;
      }
      snap.queue.push_back(queued(static_cast<int64_t>(i)));
      changed = true;
    }
    // Cycles at this instant: one, plus one more after each round of preemptions (their slots
    // are free at once in the simulator, i.e. a zero grace period).
    for (int round = 0; round < 4 && changed; ++round) {
      changed = false;
      const bool may_grow = policy.elastic && free_gpus > 0 && !snap.running.empty();
      if ((snap.queue.empty() && !may_grow) || (free_gpus == 0 && !policy.preempt)) break;
      snap.now_ms = now_ms;
      if (policy.kind == PolicyKind::kFairShare) {
        snap.accounts.clear();
        for (size_t a = 0; a < used.size(); ++a) {
          snap.accounts.push_back({result.vcs[a], 0, used[a]});
        }
      }
      Decisions d = Decide(snap, policy);
      ++result.metrics.cycles;
      for (auto& s : d.starts) {
        const int64_t j = s.job_id;
        started[j] = 1;
        JobOutcome& o = result.jobs[j];
        if (o.start_s < 0) o.start_s = now_ms / 1000;
        run(j, std::move(s.rank_workers));
      }
      if (!d.starts.empty()) {
        snap.queue.erase(std::remove_if(snap.queue.begin(), snap.queue.end(),
                                        [&](const SnapshotJob& q) { return started[q.id] != 0; }),
                         snap.queue.end());
      }
      for (const PreemptDecision& p : d.preempts) {
        const int64_t j = p.job_id;
        if (!stop(j)) continue;
        ++result.jobs[j].preemptions;
        ++result.metrics.preemptions;
        started[j] = 0;
        // Back into the queue at its submission position.
        SnapshotJob sj = queued(j);
        auto pos = std::lower_bound(snap.queue.begin(), snap.queue.end(), sj,
                                    [](const SnapshotJob& a, const SnapshotJob& b) {
                                      return a.submit_ms != b.submit_ms ? a.submit_ms < b.submit_ms
                                                                        : a.id < b.id;
                                    });
        snap.queue.insert(pos, std::move(sj));
        changed = true;
      }
      for (ResizeDecision& r : d.resizes) {
        const int64_t j = r.job_id;
        const int before = ranks_now[j];
        if (!stop(j)) continue;
        ++result.jobs[j].resizes;
        ++result.metrics.resizes;
        if (static_cast<int>(r.rank_workers.size()) < before) changed = true;  // slots freed
        run(j, std::move(r.rank_workers));
      }
    }
  }

  // Metrics over the jobs that ran.
  SimMetrics& m = result.metrics;
  m.jobs = static_cast<int64_t>(n);
  std::vector<double> jct, queue;
  double gpu_seconds = 0;
  int64_t first_submit = n > 0 ? trace.jobs.front().submit_s : 0, last_end = first_submit;
  std::vector<double> service_sum(result.vcs.size(), 0);
  std::vector<int64_t> service_n(result.vcs.size(), 0);
  for (const JobOutcome& o : result.jobs) {
    if (o.start_s < 0) continue;
    ++m.finished;
    const double j = static_cast<double>(o.end_s - o.submit_s);
    jct.push_back(j);
    queue.push_back(static_cast<double>(o.start_s - o.submit_s));
    gpu_seconds += static_cast<double>(o.gpus) * static_cast<double>(o.duration_s);
    last_end = std::max(last_end, o.end_s);
    service_sum[o.vc] += static_cast<double>(o.duration_s) / std::max(1.0, j);
    ++service_n[o.vc];
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return v.empty() ? 0.0 : s / static_cast<double>(v.size());
  };
  m.avg_jct_s = mean(jct);
  m.avg_queue_s = mean(queue);
  m.p50_jct_s = Percentile(jct, 0.50);
  m.p95_jct_s = Percentile(jct, 0.95);
  m.p99_jct_s = Percentile(jct, 0.99);
  m.p50_queue_s = Percentile(queue, 0.50);
  m.p99_queue_s = Percentile(queue, 0.99);
  m.makespan_s = static_cast<double>(last_end - first_submit);
  m.gpu_utilization =
      m.makespan_s > 0 ? gpu_seconds / (static_cast<double>(cluster.total_gpus()) * m.makespan_s)
                       : 0;
  double sum = 0, sum_sq = 0;
  int vcs = 0;
  for (size_t a = 0; a < service_sum.size(); ++a) {
    if (service_n[a] == 0) continue;
    const double x = service_sum[a] / static_cast<double>(service_n[a]);
    sum += x;
    sum_sq += x * x;
    ++vcs;
  }
  m.jain_fairness = vcs > 0 && sum_sq > 0 ? sum * sum / (vcs * sum_sq) : 1.0;
  m.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

}  // namespace shoal::sim

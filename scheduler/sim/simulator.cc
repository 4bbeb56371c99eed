#include "scheduler/sim/simulator.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>
#include <queue>
#include <random>
#include <tuple>
#include <unordered_map>

#include "scheduler/policy/hetero.h"
#include "scheduler/policy/queue_index.h"

namespace shoal::sim {
namespace {

double Percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(std::ceil(p * v.size())) - (p > 0));
  std::nth_element(v.begin(), v.begin() + static_cast<ptrdiff_t>(k), v.end());
  return v[k];
}

// One replay: the cluster's snapshot, the jobs' progress and the event queue, advanced event by
// event through the scheduler's Decide.
class Replay {
 public:
  Replay(const Trace& trace, const Cluster& cluster, const SimOptions& options)
      : trace_(trace),
        options_(options),
        n_(trace.jobs.size()),
        failures_(options.failures, static_cast<int>(cluster.Workers().size())) {
    policy_ = options.policy;
    policy_.explain_waits = false;
    index_.emplace(policy_);
    snap_.workers = cluster.Workers();
    for (size_t i = 0; i < snap_.workers.size(); ++i) worker_index_[snap_.workers[i].id] = i;
    for (const auto& w : snap_.workers) max_gpus_one_job_ += w.total_slots;
    for (const auto& w : snap_.workers) slots_of_.push_back(w.total_slots);
    free_gpus_ = max_gpus_one_job_;
    decay_per_ms_ = std::log(2.0) / (options.half_life_s * 1000.0);
    AddJobs();
  }

  // Replays every arrival and completion; returns the jobs' outcomes and the counts (cycles,
  // preemptions, resizes, unschedulable), the rest of the metrics left to Summarize.
  SimResult Run() && {
    while (next_arrival_ < n_ || !ends_.empty() || !snap_.queue.empty()) {
      DropStaleEnds();
      if (next_arrival_ >= n_ && ends_.empty() && snap_.queue.empty()) break;
      now_ms_ = NextEventMs();
      if (now_ms_ == INT64_MAX) break;  // jobs wait for nodes that never come back
      ChargeLedger();
      bool changed = FinishJobsEndingNow();
      changed |= FailOrReturnNodesNow();
      changed |= AdmitArrivalsNow();
      RunCycles(changed);
    }
    return std::move(result_);
  }

 private:
  // (end ms, job index, generation): a preempted job's old end is skipped by its generation.
  using Event = std::tuple<int64_t, int64_t, int64_t>;

  // The jobs' outcomes, vcs (accounts: one per vc, usage in GPU-seconds decayed by the
  // half-life) and declared runtimes, in trace order (the noise is drawn in that order).
  void AddJobs() {
    result_.jobs.resize(n_);
    std::mt19937_64 rng(options_.seed);
    std::normal_distribution<double> noise(0.0, options_.misestimate_sigma);
    estimate_ms_.resize(n_);
    for (size_t i = 0; i < n_; ++i) {
      const TraceJob& t = trace_.jobs[i];
      auto [it, added] = vc_index_.try_emplace(t.vc, static_cast<int>(result_.vcs.size()));
      if (added) {
        result_.vcs.push_back(t.vc);
        used_.push_back(0);
        charged_.push_back(0);
      }
      JobOutcome& o = result_.jobs[i];
      o.submit_s = t.submit_s;
      o.gpus = t.gpus;
      o.duration_s = t.duration_s;
      o.vc = it->second;
      double factor = options_.misestimate;
      if (options_.misestimate_sigma > 0) factor *= std::exp(noise(rng));
      // The user's estimate of its run, plus one start's delay (the trace's duration is the run
      // itself); restarts after preemptions and resizes spend the same limit, as in the daemon.
      // A trace that gives the limit (shoal's own, job_trace.h) is taken at its word: the
      // daemon's limit already covers every start.
      estimate_ms_[i] =
          t.limit_s > 0 ? t.limit_s * 1000
                        : std::max<int64_t>(1000, std::llround(t.duration_s * 1000.0 * factor)) +
                              restart_delay_ms_;
      o.limit_s = static_cast<double>(estimate_ms_[i]) / 1000.0;
    }
    times_out_.assign(n_, 0);
    run_ms_.assign(n_, 0);
    speed_.assign(n_, 1.0);
    checkpoint_speed_.assign(n_, 1.0);
    interval_ms_.assign(n_, 0);
    queued_ms_.assign(n_, 0);
    remaining_ms_.resize(n_);
    generation_.assign(n_, 0);
    ranks_now_.assign(n_, 0);
    for (size_t i = 0; i < n_; ++i) remaining_ms_[i] = trace_.jobs[i].duration_s * 1000;
    // Heterogeneous pools: each job's class, the cluster's GPU types, each class's speed on them.
    const ThroughputMatrix& m = options_.throughput;
    class_.assign(n_, 0);
    rate_.assign(n_, 0);
    for (size_t i = 0; i < n_ && !m.classes.empty(); ++i) class_[i] = m.ClassOf(i, options_.seed);
    for (const auto& w : snap_.workers) {
      if (std::find(types_.begin(), types_.end(), w.gpu_type) == types_.end()) {
        types_.push_back(w.gpu_type);
      }
    }
    for (size_t c = 0; c < m.classes.size(); ++c) {
      class_speeds_.emplace_back();
      for (const std::string& t : types_) class_speeds_[c].push_back(m.Speed(c, t));
    }
    for (size_t i = 0; i < n_; ++i) {
      double best = 1.0;
      if (!m.classes.empty() && !types_.empty()) {
        const auto& speeds = class_speeds_[class_[i]];
        best = *std::max_element(speeds.begin(), speeds.end());
      }
      JobOutcome& o = result_.jobs[i];
      o.no_wait_s =
          std::min(o.limit_s, options_.restart_delay_s + static_cast<double>(o.duration_s) / best);
    }
  }

  // Job j's current attempt stores a checkpoint every this many ms after its restart delay (its
  // interval and the writing); 0 = none periodic.
  int64_t PeriodMs(int64_t j) const {
    return interval_ms_[j] > 0 ? interval_ms_[j] + std::llround(options_.checkpoint_cost_s * 1000)
                               : 0;
  }

  // Time job j needs on k ranks for the rest of its work, at its current speed.
  int64_t TimeLeftMs(int64_t j, int k) const {
    return static_cast<int64_t>(std::ceil(static_cast<double>(remaining_ms_[j]) *
                                          trace_.jobs[j].gpus / std::max(1, k) / speed_[j]));
  }

  // What is left of job j's limits.maxRuntime: like the daemon's, it covers the run time of
  // every attempt so far (scheduler_snapshot.cc), and is at least 1 ms.
  int64_t LimitLeftMs(int64_t j) const {
    return std::max<int64_t>(1, estimate_ms_[j] - run_ms_[j]);
  }

  // Job j as it waits in the queue (on arrival, and again after a preemption).
  SnapshotJob Queued(int64_t j) const {
    SnapshotJob sj;
    sj.id = j;
    sj.account = trace_.jobs[j].vc;
    sj.account_id = result_.jobs[j].vc;
    sj.submit_ms = trace_.jobs[j].submit_s * 1000;
    sj.min_ranks = sj.max_ranks = trace_.jobs[j].gpus;
    if (options_.elastic_min_fraction > 0 && sj.max_ranks >= 2) {
      sj.min_ranks = std::max(
          1, static_cast<int>(std::ceil(sj.max_ranks * options_.elastic_min_fraction - 1e-9)));
    }
    sj.backend = Backend::kCuda;
    sj.gpus_per_rank = 1;
    sj.max_runtime_ms = LimitLeftMs(j);
    sj.preemptions = result_.jobs[j].preemptions;
    sj.attained_gpu_s = result_.jobs[j].held_gpu_s;
    sj.queued_ms = queued_ms_[j];
    return sj;
  }

  // Runs job j on `placement` from now (a start, or the restart after a resize): after the
  // restart delay, until its work is done or its time limit is reached, whichever comes first.
  void StartOn(int64_t j, std::vector<std::string> placement) {
    const int k = static_cast<int>(placement.size());
    ranks_now_[j] = k;
    free_gpus_ -= k;
    const ThroughputMatrix& m = options_.throughput;
    double type_speed = INFINITY;  // the slowest rank's GPU type sets the gang's pace
    for (const std::string& wid : placement) {
      SnapshotWorker& w = snap_.workers[worker_index_[wid]];
      --w.free_slots;
      type_speed = std::min(type_speed, m.classes.empty() ? 1.0 : m.Speed(class_[j], w.gpu_type));
    }
    result_.jobs[j].type_speed = type_speed;
    // Fair share charges GPU-seconds, or normalised work (Gavel) when asked to.
    rate_[j] = k * (options_.normalized_share ? type_speed : 1.0);
    charged_[result_.jobs[j].vc] += rate_[j];
    JobOutcome& o = result_.jobs[j];
    ++o.starts;
    std::vector<std::string> nodes = placement;
    std::sort(nodes.begin(), nodes.end());
    const int spread = static_cast<int>(std::unique(nodes.begin(), nodes.end()) - nodes.begin());
    o.nodes = std::max(o.nodes, spread);
    speed_[j] = (spread > 1 ? 1.0 / (1.0 + options_.spread_slowdown) : 1.0) * type_speed;
    // Checkpoints: every interval the job stalls for their cost.
    interval_ms_[j] = std::llround(
        1000.0 * (options_.young_daly
                      ? YoungDalyIntervalS(options_.checkpoint_cost_s,
                                           options_.failures.mtbf_s / std::max(1, spread))
                      : options_.checkpoint_interval_s));
    checkpoint_speed_[j] =
        interval_ms_[j] > 0 && options_.checkpoint_cost_s > 0
            ? static_cast<double>(interval_ms_[j]) /
                  (static_cast<double>(interval_ms_[j]) + options_.checkpoint_cost_s * 1000.0)
            : 1.0;
    speed_[j] *= checkpoint_speed_[j];
    const int64_t finish_ms = restart_delay_ms_ + TimeLeftMs(j, k);
    const int64_t limit_ms = LimitLeftMs(j);
    times_out_[j] = limit_ms < finish_ms;
    ends_.emplace(now_ms_ + std::min(finish_ms, limit_ms), j, generation_[j]);
    SnapshotRunning r = AsRunning(Queued(j));  // its shape, and start + limit = its kill time
    r.start_ms = now_ms_;
    r.rank_workers = std::move(placement);
    snap_.running.push_back(std::move(r));
  }

  // Removes `it` from the running jobs and gives its slots back.
  void ReleaseSlots(std::vector<SnapshotRunning>::iterator it) {
    for (const std::string& wid : it->rank_workers) ++snap_.workers[worker_index_[wid]].free_slots;
    *it = std::move(snap_.running.back());
    snap_.running.pop_back();
  }

  std::vector<SnapshotRunning>::iterator FindRunning(int64_t j) {
    return std::find_if(snap_.running.begin(), snap_.running.end(),
                        [&](const SnapshotRunning& r) { return r.id == j; });
  }

  // Accounts for job j's current attempt, which ran until now: its run time (against the limit)
  // and the GPU time it held, of which the restart delay and, when `stopped` early, the work
  // since its last checkpoint were lost. Returns the wall ms of progress that counts.
  int64_t EndAttempt(int64_t j, int64_t start_ms, bool stopped) {
    const int k = ranks_now_[j];
    const int64_t ran = now_ms_ - start_ms;
    run_ms_[j] += ran;
    result_.attempts.push_back({j, start_ms, now_ms_, k});
    const int64_t progress = ran - std::min(ran, restart_delay_ms_);
    // Stopped, it redoes what it did since its last checkpoint.
    const int64_t redone = stopped ? UnsavedMs(progress, PeriodMs(j)) : 0;
    // Of what it kept, the checkpoints' writing made no progress.
    const double writing = static_cast<double>(progress - redone) * (1.0 - checkpoint_speed_[j]);
    JobOutcome& o = result_.jobs[j];
    o.held_gpu_s += static_cast<double>(k) * static_cast<double>(ran) / 1000.0;
    o.lost_gpu_s +=
        static_cast<double>(k) * (static_cast<double>(ran - progress + redone) + writing) / 1000.0;
    return progress - redone;
  }

  // Stops running job j now: it keeps the work up to its last checkpoint. False if not running.
  bool Stop(int64_t j) {
    auto it = FindRunning(j);
    if (it == snap_.running.end()) return false;
    const int k = ranks_now_[j];
    const double done = static_cast<double>(EndAttempt(j, it->start_ms, /*stopped=*/true)) * k /
                        trace_.jobs[j].gpus * speed_[j];
    remaining_ms_[j] = std::max<int64_t>(1000, remaining_ms_[j] - std::llround(done));
    ++generation_[j];
    charged_[result_.jobs[j].vc] -= rate_[j];
    free_gpus_ += k;
    ReleaseSlots(it);
    return true;
  }

  void DropStaleEnds() {
    while (!ends_.empty() && std::get<2>(ends_.top()) != generation_[std::get<1>(ends_.top())]) {
      ends_.pop();
    }
  }

  // The next instant anything happens: the earliest completion or arrival.
  int64_t NextEventMs() const {
    const int64_t next_end = ends_.empty() ? INT64_MAX : std::get<0>(ends_.top());
    const int64_t arrive =
        next_arrival_ < n_ ? trace_.jobs[next_arrival_].submit_s * 1000 : INT64_MAX;
    return std::min({next_end, arrive, failures_.NextMs()});
  }

  // Node failures and returns due now. A failure stops every job with a rank there (they keep
  // the work up to their last checkpoint) and requeues it; the node's slots leave the pool until
  // it is back. True if the pool changed.
  bool FailOrReturnNodesNow() {
    bool changed = false;
    while (failures_.NextMs() == now_ms_) {
      const NodeFailures::Event e = failures_.Pop();
      SnapshotWorker& w = snap_.workers[static_cast<size_t>(e.node)];
      changed = true;
      if (!e.down) {
        w.total_slots = w.free_slots = slots_of_[static_cast<size_t>(e.node)];
        free_gpus_ += w.free_slots;
        continue;
      }
      std::vector<int64_t> hit;
      for (const SnapshotRunning& r : snap_.running) {
        if (std::find(r.rank_workers.begin(), r.rank_workers.end(), w.id) != r.rank_workers.end()) {
          hit.push_back(r.id);
        }
      }
      for (const int64_t j : hit) {
        Stop(j);
        ++result_.jobs[j].failures;
        ++result_.metrics.failures;
        Requeue(j);
      }
      free_gpus_ -= w.free_slots;
      w.total_slots = w.free_slots = 0;
    }
    return changed;
  }

  // Puts a stopped job back in the queue at its submission position.
  void Requeue(int64_t j) {
    queued_ms_[j] = now_ms_;
    index_->Push(snap_.queue, Queued(j), now_ms_);
  }

  // Fair-share ledger: decay, then charge the GPUs held since the last event.
  void ChargeLedger() {
    const double dt = static_cast<double>(now_ms_ - last_decay_ms_);
    if (dt > 0) {
      const double keep = std::exp(-decay_per_ms_ * dt);
      for (size_t a = 0; a < used_.size(); ++a) {
        used_[a] = used_[a] * keep + charged_[a] * dt / 1000.0;
      }
      last_decay_ms_ = now_ms_;
    }
  }

  // Ends the jobs that finish, or reach their time limit, now. True if any did.
  bool FinishJobsEndingNow() {
    bool changed = false;
    while (!ends_.empty() && std::get<0>(ends_.top()) == now_ms_) {
      const int64_t j = std::get<1>(ends_.top());
      const bool stale = std::get<2>(ends_.top()) != generation_[j];
      ends_.pop();
      if (stale) continue;
      JobOutcome& o = result_.jobs[j];
      o.end_s = now_ms_ / 1000;
      auto it = FindRunning(j);
      EndAttempt(j, it->start_ms, /*stopped=*/false);
      if (times_out_[j]) {
        // Killed like the daemon's EnforceTimeLimits: DeadlineExceeded, not retried.
        o.timed_out = true;
        ++result_.metrics.timed_out;
      }
      charged_[o.vc] -= rate_[j];
      free_gpus_ += ranks_now_[j];
      ReleaseSlots(it);
      changed = true;
    }
    return changed;
  }

  // Queues the jobs that arrive now; one bigger than the whole cluster is unschedulable. True if
  // any was queued.
  bool AdmitArrivalsNow() {
    bool changed = false;
    while (next_arrival_ < n_ && trace_.jobs[next_arrival_].submit_s * 1000 == now_ms_) {
      const size_t i = next_arrival_++;
      const TraceJob& t = trace_.jobs[i];
      if (t.gpus > max_gpus_one_job_) {
        ++result_.metrics.unschedulable;
        continue;
      }
      index_->Push(snap_.queue, Queued(static_cast<int64_t>(i)), now_ms_);
      changed = true;
    }
    return changed;
  }

  // Cycles at this instant: one, plus one more after each round of preemptions (their slots
  // are free at once in the simulator, i.e. a zero grace period).
  void RunCycles(bool changed) {
    for (int round = 0; round < 4 && changed; ++round) {
      changed = false;
      const bool may_grow = policy_.elastic && free_gpus_ > 0 && !snap_.running.empty();
      if ((snap_.queue.empty() && !may_grow) || (free_gpus_ == 0 && !policy_.preempt)) break;
      snap_.now_ms = now_ms_;
      if (policy_.kind == PolicyKind::kFairShare) {
        snap_.accounts.clear();
        for (size_t a = 0; a < used_.size(); ++a) {
          snap_.accounts.push_back({result_.vcs[a], 0, used_[a]});
        }
      }
      if (options_.hetero_aware && !class_speeds_.empty()) {
        std::vector<std::vector<double>> speeds;
        for (const SnapshotJob& q : snap_.queue) speeds.push_back(class_speeds_[class_[q.id]]);
        PreferGpuTypes(types_, speeds, snap_);
      }
      // Cost-aware preemption reads when each running job last stored a checkpoint.
      if (policy_.preempt) {
        for (SnapshotRunning& r : snap_.running) {
          const int64_t progress = now_ms_ - r.start_ms - restart_delay_ms_;
          const int64_t period = PeriodMs(r.id);
          if (period > 0 && progress >= period) {
            r.last_checkpoint_ms = now_ms_ - UnsavedMs(progress, period);
          }
        }
      }
      Decisions d = options_.queue_index ? Decide(snap_, policy_, *index_) : Decide(snap_, policy_);
      ++result_.metrics.cycles;
      for (const GuardedJob& g : d.guarded) {
        if (!result_.jobs[g.job_id].guarded) ++result_.metrics.guarded_jobs;
        result_.jobs[g.job_id].guarded = true;
      }
      ApplyStarts(d.starts);
      changed |= ApplyPreemptions(d.preempts);
      changed |= ApplyResizes(d.resizes);
    }
  }

  void ApplyStarts(std::vector<StartDecision>& starts) {
    for (auto& s : starts) {
      const int64_t j = s.job_id;
      JobOutcome& o = result_.jobs[j];
      if (o.start_s < 0) o.start_s = now_ms_ / 1000;
      StartOn(j, std::move(s.rank_workers));
      index_->Erase(snap_.queue, j);
    }
  }

  // Stops the preempted jobs and queues them again at their submission position. True if any
  // was stopped (its slots are free for another cycle now).
  bool ApplyPreemptions(const std::vector<PreemptDecision>& preempts) {
    bool changed = false;
    for (const PreemptDecision& p : preempts) {
      const int64_t j = p.job_id;
      if (!Stop(j)) continue;
      ++result_.jobs[j].preemptions;
      ++result_.metrics.preemptions;
      Requeue(j);
      changed = true;
    }
    return changed;
  }

  // Restarts each resized job on its new ranks. True if a shrink freed slots.
  bool ApplyResizes(std::vector<ResizeDecision>& resizes) {
    bool changed = false;
    for (ResizeDecision& r : resizes) {
      const int64_t j = r.job_id;
      const int before = ranks_now_[j];
      if (!Stop(j)) continue;
      ++result_.jobs[j].resizes;
      ++result_.metrics.resizes;
      if (static_cast<int>(r.rank_workers.size()) < before) changed = true;  // slots freed
      StartOn(j, std::move(r.rank_workers));
    }
    return changed;
  }

  const Trace& trace_;
  const SimOptions& options_;
  const size_t n_;
  PolicyOptions policy_;
  SimResult result_;
  Snapshot snap_;
  // The queue's order, kept as jobs come and go; it also keeps snap_.queue (in no particular
  // order: a started job's place goes to the last one).
  std::optional<QueueIndex> index_;
  std::unordered_map<std::string, size_t> worker_index_;
  int max_gpus_one_job_ = 0;  // the most GPUs any job can get: the whole cluster
  std::unordered_map<std::string, int> vc_index_;
  std::vector<double> used_;        // decayed GPU-seconds (or normalised work) per vc
  std::vector<double> charged_;     // what each vc is charged per second now: its GPUs (or work)
  std::vector<int> class_;          // each job's class in options_.throughput
  std::vector<double> rate_;        // what job j's current attempt adds to charged_
  std::vector<std::string> types_;  // the cluster's GPU types
  std::vector<std::vector<double>> class_speeds_;  // each class's speed on each of types_
  std::vector<int64_t> estimate_ms_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> ends_;
  std::vector<char> times_out_;  // the current attempt ends at the time limit, not done
  std::vector<int64_t> run_ms_;  // run time of every attempt so far (against the limit)
  std::vector<double> speed_;    // progress per ms of the current attempt (< 1 when spread)
  std::vector<double> checkpoint_speed_;  // the part of speed_ left by checkpoint writing
  std::vector<int64_t> interval_ms_;      // the current attempt's checkpoint interval
  std::vector<int64_t> queued_ms_;        // when it was last requeued (0: never)
  NodeFailures failures_;
  std::vector<int> slots_of_;  // each node's GPUs, to give back when it returns
  const int64_t restart_delay_ms_ = std::llround(options_.restart_delay_s * 1000.0);
  // Work left, in ms at the job's full size; stale-event guard; ranks it runs on now.
  std::vector<int64_t> remaining_ms_, generation_;
  std::vector<int> ranks_now_;
  size_t next_arrival_ = 0;
  int64_t now_ms_ = 0, last_decay_ms_ = 0;
  int free_gpus_ = 0;
  double decay_per_ms_ = 0;
};

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// Jain's index over the vcs that ran a job of their mean service ratio (sum / count per vc).
double JainFairness(const std::vector<double>& service_sum, const std::vector<int64_t>& service_n) {
  double sum = 0, sum_sq = 0;
  int vcs = 0;
  for (size_t a = 0; a < service_sum.size(); ++a) {
    if (service_n[a] == 0) continue;
    const double x = service_sum[a] / static_cast<double>(service_n[a]);
    sum += x;
    sum_sq += x * x;
    ++vcs;
  }
  return vcs > 0 && sum_sq > 0 ? sum * sum / (vcs * sum_sq) : 1.0;
}

// Metrics over the jobs that ran.
void Summarize(const Trace& trace, const Cluster& cluster, SimResult* result) {
  SimMetrics& m = result->metrics;
  m.jobs = static_cast<int64_t>(trace.jobs.size());
  std::vector<double> jct, queue, no_wait;
  double gpu_seconds = 0, held = 0, work = 0;
  int64_t first_submit = !trace.jobs.empty() ? trace.jobs.front().submit_s : 0;
  int64_t last_end = first_submit;
  std::vector<double> service_sum(result->vcs.size(), 0);
  std::vector<int64_t> service_n(result->vcs.size(), 0);
  std::vector<std::vector<double>> vc_jct(result->vcs.size());
  for (const JobOutcome& o : result->jobs) {
    if (o.start_s < 0) continue;
    ++m.finished;
    const double j = static_cast<double>(o.end_s - o.submit_s);
    jct.push_back(j);
    queue.push_back(static_cast<double>(o.start_s - o.submit_s));
    no_wait.push_back(o.no_wait_s);
    gpu_seconds += o.held_gpu_s - o.lost_gpu_s;
    m.gpu_seconds_lost += o.lost_gpu_s;
    held += o.held_gpu_s;
    if (!o.timed_out) work += static_cast<double>(o.duration_s) * o.gpus;
    last_end = std::max(last_end, o.end_s);
    service_sum[o.vc] += static_cast<double>(o.duration_s) / std::max(1.0, j);
    vc_jct[o.vc].push_back(j);
    ++service_n[o.vc];
  }
  m.avg_jct_s = Mean(jct);
  m.avg_queue_s = Mean(queue);
  m.p50_jct_s = Percentile(jct, 0.50);
  m.p95_jct_s = Percentile(jct, 0.95);
  m.p99_jct_s = Percentile(jct, 0.99);
  m.p50_queue_s = Percentile(queue, 0.50);
  m.p99_queue_s = Percentile(queue, 0.99);
  m.no_wait_avg_jct_s = Mean(no_wait);
  m.no_wait_p99_jct_s = Percentile(no_wait, 0.99);
  m.makespan_s = static_cast<double>(last_end - first_submit);
  m.gpu_utilization = m.makespan_s > 0
                          ? gpu_seconds / (static_cast<double>(cluster.total_gpus()) * m.makespan_s)
                          : 0;
  m.jain_fairness = JainFairness(service_sum, service_n);
  m.goodput = held > 0 ? gpu_seconds / held : 1.0;
  m.normalized_throughput = held > 0 ? work / held : 0;
  for (auto& v : vc_jct) {
    m.vc_jobs.push_back(static_cast<int64_t>(v.size()));
    m.vc_p99_jct_s.push_back(Percentile(v, 0.99));
  }
}

}  // namespace

Result<SimResult> Simulate(const Trace& trace, const Cluster& cluster, const SimOptions& options) {
  const auto wall_start = std::chrono::steady_clock::now();
  if (cluster.groups.empty()) return InvalidArgument("the cluster has no nodes");
  if (options.misestimate <= 0) return InvalidArgument("misestimate must be > 0");
  if (options.elastic_min_fraction < 0 || options.elastic_min_fraction > 1) {
    return InvalidArgument("the elastic minimum fraction must be in 0..1");
  }
  if (!(options.spread_slowdown >= 0 && options.spread_slowdown <= 100)) {
    return InvalidArgument("the spread slowdown must be in 0..100");
  }
  if (!(options.failures.mtbf_s >= 0) || !(options.failures.repair_s > 0) ||
      !(options.checkpoint_cost_s >= 0)) {
    return InvalidArgument("node MTBF and checkpoint cost must be >= 0, repair time > 0");
  }
  if (options.young_daly && !(options.failures.mtbf_s > 0 && options.checkpoint_cost_s > 0)) {
    return InvalidArgument("Young/Daly intervals need a node MTBF and a checkpoint cost");
  }
  if (!(options.restart_delay_s >= 0 && options.restart_delay_s <= 86400)) {
    return InvalidArgument("the restart delay must be in 0..86400 s");
  }
  SimResult result = Replay(trace, cluster, options).Run();
  Summarize(trace, cluster, &result);
  result.metrics.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  return result;
}

}  // namespace shoal::sim

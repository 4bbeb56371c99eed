#include "scheduler/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "scheduler/policy/policy.h"
#include "scheduler/scheduler.h"

namespace shoal {

namespace {

std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.10g", v);
  return buf;
}

// A label value escaped as the exposition format wants (backslash, quote, newline).
std::string Escape(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

void Header(std::string* out, std::string_view name, std::string_view type, std::string_view help) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  *out += help;
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
}

void Sample(std::string* out, std::string_view name, std::string_view labels, double value) {
  *out += name;
  if (!labels.empty()) {
    *out += '{';
    *out += labels;
    *out += '}';
  }
  *out += ' ';
  *out += Number(value);
  *out += '\n';
}

std::string Label(std::string_view key, std::string_view value) {
  return std::string(key) + "=\"" + Escape(value) + "\"";
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++counts_[i];
  ++count_;
  sum_ += value;
}

void Histogram::Render(std::string_view name, std::string_view labels, std::string* out) const {
  const std::string bucket = std::string(name) + "_bucket";
  const std::string sep = labels.empty() ? "" : std::string(labels) + ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    Sample(out, bucket, sep + "le=\"" + Number(bounds_[i]) + "\"", static_cast<double>(cumulative));
  }
  Sample(out, bucket, sep + "le=\"+Inf\"", static_cast<double>(count_));
  Sample(out, std::string(name) + "_sum", labels, sum_);
  Sample(out, std::string(name) + "_count", labels, static_cast<double>(count_));
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> WaitBuckets() {
  return {1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400};
}

namespace {

// Jobs by state; pending jobs by reason (the Slurm-style code before any ':').
void RenderJobs(const std::vector<const Job*>& jobs, std::string* out) {
  std::map<std::string, int> by_state, by_reason;
  for (JobState st : {JobState::kPending, JobState::kRunning, JobState::kRestarting,
                      JobState::kSucceeded, JobState::kFailed, JobState::kCancelled}) {
    by_state[std::string(ToString(st))] = 0;
  }
  for (const Job* j : jobs) {
    ++by_state[std::string(ToString(j->state))];
    if (j->state == JobState::kPending) {
      std::string reason = j->reason.substr(0, j->reason.find(':'));
      ++by_reason[reason.empty() ? "None" : reason];
    }
  }
  Header(out, "shoal_jobs", "gauge", "Jobs by state.");
  for (const auto& [state, n] : by_state) Sample(out, "shoal_jobs", Label("state", state), n);
  Header(out, "shoal_jobs_pending", "gauge", "Pending jobs by reason.");
  for (const auto& [reason, n] : by_reason) {
    Sample(out, "shoal_jobs_pending", Label("reason", reason), n);
  }
}

// What the live ranks of the jobs' current attempts hold, per worker id.
struct WorkerUse {
  std::map<std::string, int> gpus, slots;
};
WorkerUse UseByWorker(const std::vector<const Job*>& jobs) {
  WorkerUse use;
  for (const Job* j : jobs) {
    const Attempt* a = j->current_attempt();
    if (a == nullptr) continue;
    const bool gpu_job = j->spec.resources.backend != Backend::kCpu;
    for (const auto& r : a->ranks) {
      if (r.state == RankState::kExited) continue;
      ++use.slots[r.worker_id];
      if (gpu_job) use.gpus[r.worker_id] += std::max(1, j->spec.resources.gpus_per_worker);
    }
  }
  return use;
}

// Workers by state; GPUs by state (used / free on live workers, unavailable on lost ones) and
// model; CPU slots likewise.
void RenderWorkers(const std::vector<const Job*>& jobs, const std::vector<const Worker*>& workers,
                   std::string* out) {
  std::map<std::string, int> workers_by_state = {{"alive", 0}, {"lost", 0}, {"quarantined", 0}};
  for (const Worker* w : workers) ++workers_by_state[std::string(ToString(w->state))];
  WorkerUse use = UseByWorker(jobs);
  std::map<std::pair<std::string, std::string>, int> gpus;  // (state, model) ->
  int slots_used = 0, slots_free = 0;
  for (const Worker* w : workers) {
    const bool alive = w->state == WorkerState::kAlive;
    std::map<std::string, int> models;
    for (const auto& g : w->gpus) ++models[g.name];
    int used = std::min<int>(use.gpus[w->id], static_cast<int>(w->gpus.size()));
    for (const auto& [model, n] : models) {
      const int u = std::min(used, n);
      used -= u;
      if (alive) {
        gpus[{"used", model}] += u;
        gpus[{"free", model}] += n - u;
      } else {
        gpus[{"unavailable", model}] += n;
      }
    }
    if (alive) {
      slots_used += std::min(use.slots[w->id], w->slots);
      slots_free += std::max(0, w->slots - use.slots[w->id]);
    }
  }
  Header(out, "shoal_workers", "gauge", "Registered workers by state.");
  for (const auto& [state, n] : workers_by_state) {
    Sample(out, "shoal_workers", Label("state", state), n);
  }
  Header(out, "shoal_gpus", "gauge", "GPUs of registered workers by state and model.");
  for (const auto& [key, n] : gpus) {
    Sample(out, "shoal_gpus", Label("state", key.first) + "," + Label("type", key.second), n);
  }
  Header(out, "shoal_slots", "gauge", "Rank slots of live workers by state.");
  Sample(out, "shoal_slots", Label("state", "used"), slots_used);
  Sample(out, "shoal_slots", Label("state", "free"), slots_free);
}

// Audits (docs/audits.md): how many workers are quarantined, for an alert; and, like the cache
// series, each worker's audit rate in effect (label `worker`, its id) only with names.
void RenderAudits(const Scheduler& s, const std::vector<const Worker*>& workers, bool with_names,
                  std::string* out) {
  int quarantined = 0;
  for (const Worker* w : workers) quarantined += w->state == WorkerState::kQuarantined;
  Header(out, "shoal_workers_quarantined", "gauge",
         "Workers quarantined for wrong gradients, until an admin clears them.");
  Sample(out, "shoal_workers_quarantined", "", quarantined);
  if (!with_names) return;
  Header(out, "shoal_worker_audit_rate", "gauge",
         "Chance per step that a rank of the worker is audited.");
  for (const Worker* w : workers) {
    Sample(out, "shoal_worker_audit_rate", Label("worker", w->id), s.AuditRate(*w));
  }
}

// The chunk caches of live workers, as their heartbeats report them: per worker (label `worker`,
// its id) with names, else pool-wide sums; and the pool's hit ratio, once fetches looked anything
// up. A worker's counters restart with its agent (a counter reset, as Prometheus expects).
void RenderWorkerCaches(const std::vector<const Worker*>& workers, bool with_names,
                        std::string* out) {
  struct Family {
    const char* name;
    const char* type;
    const char* help;
    int64_t wire::CacheStats::*field;
  };
  static const Family kFamilies[] = {
      {"shoal_worker_cache_hits_total", "counter",
       "Registry chunks that workers' fetches found in their chunk caches.",
       &wire::CacheStats::hits},
      {"shoal_worker_cache_misses_total", "counter",
       "Registry chunks that workers' fetches had to download.", &wire::CacheStats::misses},
      {"shoal_worker_cache_bytes", "gauge", "Bytes stored in workers' chunk caches.",
       &wire::CacheStats::bytes},
      {"shoal_worker_cache_max_bytes", "gauge", "Byte budgets of workers' chunk caches.",
       &wire::CacheStats::max_bytes},
  };
  std::vector<const Worker*> reporting;
  for (const Worker* w : workers) {
    if (w->state == WorkerState::kAlive && w->cache_reported) reporting.push_back(w);
  }
  for (const Family& f : kFamilies) {
    Header(out, f.name, f.type,
           std::string(f.help) + (with_names ? " Per worker." : " Pool-wide sum."));
    int64_t sum = 0;
    for (const Worker* w : reporting) {
      sum += w->cache_stats.*f.field;
      if (with_names) {
        Sample(out, f.name, Label("worker", w->id), static_cast<double>(w->cache_stats.*f.field));
      }
    }
    if (!with_names) Sample(out, f.name, "", static_cast<double>(sum));
  }
  int64_t hits = 0, lookups = 0;
  for (const Worker* w : reporting) {
    hits += w->cache_stats.hits;
    lookups += w->cache_stats.hits + w->cache_stats.misses;
  }
  Header(out, "shoal_worker_cache_hit_ratio", "gauge",
         "Of the registry chunks live workers' fetches looked up, the part found in their caches.");
  if (lookups > 0) {
    Sample(out, "shoal_worker_cache_hit_ratio", "",
           static_cast<double>(hits) / static_cast<double>(lookups));
  }
}

// The contribution ledger (decayed GPU-seconds: gauges, they go down as well as up). Without
// names, one pool-wide sum: who contributes and who uses the pool is the accounts' business.
void RenderLedger(const std::vector<LedgerEntry>& ledger, bool with_names, std::string* out) {
  double contributed = 0, used = 0;
  for (const auto& e : ledger) {
    contributed += e.contributed;
    used += e.used;
  }
  Header(out, "shoal_account_contributed_gpu_seconds", "gauge",
         with_names
             ? "GPU-seconds an account's workers contributed, decayed with fairShareHalfLife."
             : "GPU-seconds all accounts' workers contributed, decayed with "
               "fairShareHalfLife (per account with visibility.metricsNames).");
  if (!with_names) Sample(out, "shoal_account_contributed_gpu_seconds", "", contributed);
  for (size_t i = 0; with_names && i < ledger.size(); ++i) {
    Sample(out, "shoal_account_contributed_gpu_seconds", Label("account", ledger[i].account),
           ledger[i].contributed);
  }
  Header(out, "shoal_account_used_gpu_seconds", "gauge",
         with_names ? "GPU-seconds an account's jobs used, decayed with fairShareHalfLife."
                    : "GPU-seconds all accounts' jobs used, decayed with fairShareHalfLife (per "
                      "account with visibility.metricsNames).");
  if (!with_names) Sample(out, "shoal_account_used_gpu_seconds", "", used);
  for (size_t i = 0; with_names && i < ledger.size(); ++i) {
    Sample(out, "shoal_account_used_gpu_seconds", Label("account", ledger[i].account),
           ledger[i].used);
  }
}

// Training figures of running jobs, as their rank 0 last reported them.
void RenderTraining(const std::vector<const Job*>& jobs, bool with_names, std::string* out) {
  struct Series {
    const char* name;
    const char* key;
    const char* help;
  };
  static const Series kTraining[] = {
      {"shoal_job_samples_per_second", "samplesPerSec", "Training throughput of a running job."},
      {"shoal_job_loss", "loss", "Training loss of a running job (last reporting window)."},
      {"shoal_job_step_seconds", "stepSec", "Mean time of one training step of a running job."},
      {"shoal_job_allreduce_seconds", "allReduceSec",
       "Mean all-reduce time per step of a running job."},
      {"shoal_job_epoch", "epoch", "Current epoch of a running job."},
      {"shoal_job_tokens_per_second", "tokensPerSec",
       "Training throughput of a running language model, in tokens."},
      {"shoal_job_mfu", "mfu",
       "Model FLOPs utilisation of a running job: model FLOP/s over its GPUs' peak (0..1)."},
      {"shoal_job_learning_rate", "lr", "Learning rate of a running job's latest update."},
      {"shoal_job_grad_norm", "gradNorm",
       "Gradient L2 norm of a running job's latest update, before clipping."},
      {"shoal_job_test_loss", "testLoss", "Latest evaluation loss of a running job."},
  };
  for (const Series& series : kTraining) {
    Header(out, series.name, "gauge", series.help);
    for (const Job* j : jobs) {
      if (j->state != JobState::kRunning || !j->progress.is_object()) continue;
      auto it = j->progress.find(series.key);
      if (it == j->progress.end() || !it->is_number()) continue;
      std::string labels = Label("job", std::to_string(j->id));
      if (with_names) {
        labels += "," + Label("name", j->spec.metadata.name) + "," + Label("account", j->owner);
      }
      Sample(out, series.name, labels, it->get<double>());
    }
  }
}

// What happened since the scheduler started.
void RenderHistory(const SchedulerMetrics& m, std::string* out) {
  Header(out, "shoal_scheduling_cycle_duration_seconds", "histogram",
         "Duration of one scheduling pass (snapshot, policy, applying its decisions).");
  m.cycle_seconds.Render("shoal_scheduling_cycle_duration_seconds", "", out);
  Header(out, "shoal_job_admission_wait_seconds", "histogram",
         "Time from a job's submission to the start of its first attempt.");
  m.admission_wait_seconds.Render("shoal_job_admission_wait_seconds", "", out);
  Header(out, "shoal_jobs_submitted_total", "counter",
         "Jobs accepted since the scheduler started.");
  Sample(out, "shoal_jobs_submitted_total", "", static_cast<double>(m.jobs_submitted_total));
  Header(out, "shoal_attempts_started_total", "counter", "Attempts started (gangs placed).");
  Sample(out, "shoal_attempts_started_total", "", static_cast<double>(m.attempts_started_total));
  Header(out, "shoal_preemptions_total", "counter", "Attempts preempted by the policy.");
  Sample(out, "shoal_preemptions_total", "", static_cast<double>(m.preemptions_total));
  Header(out, "shoal_resizes_total", "counter", "Elastic resizes (grow or shrink).");
  Sample(out, "shoal_resizes_total", "", static_cast<double>(m.resizes_total));
  Header(out, "shoal_preemptions_guarded_total", "counter",
         "Attempts a guard kept from a preemption that would have stopped them (once per attempt "
         "and guard).");
  Sample(out, "shoal_preemptions_guarded_total",
         Label("guard", GuardSetting(GuardedJob::Guard::kMaxPreemptions)),
         static_cast<double>(m.guarded_max_preemptions_total));
  Sample(out, "shoal_preemptions_guarded_total",
         Label("guard", GuardSetting(GuardedJob::Guard::kMaxUnsaved)),
         static_cast<double>(m.guarded_max_unsaved_total));
}

}  // namespace

std::string RenderMetrics(const Scheduler& s, bool with_names) {
  std::string out;
  out.reserve(16 << 10);
  const auto jobs = s.ListJobs(std::nullopt, "");
  RenderJobs(jobs, &out);
  const auto workers = s.ListWorkers();
  RenderWorkers(jobs, workers, &out);
  RenderWorkerCaches(workers, with_names, &out);
  RenderAudits(s, workers, with_names, &out);
  RenderLedger(s.LedgerEntries(), with_names, &out);
  RenderTraining(jobs, with_names, &out);
  RenderHistory(s.metrics(), &out);
  return out;
}

}  // namespace shoal

#include "scheduler/scheduler.h"

#include <chrono>

#include <algorithm>
#include <cstdio>
#include <set>

#include "common/log.h"
#include "common/memory_estimate.h"
#include "scheduler/policy/placement.h"
#include "scheduler/policy/policy.h"

namespace shoal {
namespace {

// A trainer exits with 2 when its input (spec, data) is bad: running it again cannot help.
constexpr int kExitBadInput = 2;
constexpr int kExitOutOfMemory = 4;  // shoal-train's kTrainOutOfMemory: an allocation failed
constexpr size_t kMaxLogLinesPerEvent = 10000;
constexpr size_t kMaxLogLineBytes = 16 * 1024;

bool HoldsSlot(RankState s) { return s != RankState::kExited; }

// Whether the job's current attempt must wait before its ranks are handed out: ranks of the
// attempt before it still hold slots (they are stopping). A new attempt starts only from a
// finished one, so that both never train at once on the same slots (or checkpoint).
bool AwaitsPreviousAttempt(const Job& job) {
  if (job.attempts.size() < 2) return false;
  const Attempt& previous = job.attempts[job.attempts.size() - 2];
  return std::any_of(previous.ranks.begin(), previous.ranks.end(),
                     [](const RankPlacement& r) { return HoldsSlot(r.state); });
}

std::string WorkerLabel(const Worker* w, const std::string& id) {
  return w != nullptr ? id + " (" + w->name + ")" : id;
}

// The policy's view of a job's shape (the fields a queued and a running job share).
SnapshotJob ShapeOf(const Job& job) {
  const JobSpec& spec = job.spec;
  SnapshotJob shape;
  shape.id = job.id;
  shape.account = job.owner;  // the account that submitted it is charged (the ledger)
  shape.priority = spec.priority;
  shape.submit_ms = job.submitted_ms;
  shape.min_ranks = spec.workers.min;
  shape.max_ranks = spec.workers.max;
  shape.backend = spec.resources.backend;
  shape.gpus_per_rank =
      spec.resources.backend == Backend::kCpu ? 0 : spec.resources.gpus_per_worker;
  shape.gpu_types = spec.resources.gpu_types;
  shape.min_gpu_memory_gib = spec.resources.min_gpu_memory_gib;
  shape.rank_memory_bytes = RankMemoryNeed(spec);
  return shape;
}

// The policy's view of a worker with `held` of its slots in use, `stopping` of them freeing.
SnapshotWorker SnapshotWorkerOf(const Worker& w, int held, int stopping) {
  SnapshotWorker sw;
  sw.id = w.id;
  sw.node = w.host.empty() ? w.id : w.host;
  sw.total_slots = w.slots;
  sw.free_slots = w.slots - held;
  sw.stopping_slots = stopping;
  sw.gpus = static_cast<int>(w.gpus.size());
  if (!w.gpus.empty()) {
    sw.gpu_type = w.gpus.front().name;
    int64_t min_mib = w.gpus.front().memory_mib;
    for (const auto& g : w.gpus) min_mib = std::min(min_mib, g.memory_mib);
    sw.gpu_memory_gib = static_cast<double>(min_mib) / 1024.0;
  }
  sw.memory_per_slot_bytes = w.slots > 0 ? w.memory_lent_bytes / w.slots : 0;
  return sw;
}

}  // namespace

Result<std::unique_ptr<Scheduler>> Scheduler::Open(Store* store, SchedulerOptions options,
                                                   Clock clock) {
  std::unique_ptr<Scheduler> s(new Scheduler(store, options, std::move(clock)));
  ASSIGN_OR_RETURN(Store::Snapshot snap, store->LoadAll());
  int64_t now = s->clock_();
  for (Worker& w : snap.workers) {
    w.last_seen_ms = now;  // a fresh deadline: workers re-attach after a scheduler restart
    int number = 0;
    if (w.id.rfind("w-", 0) == 0) number = std::atoi(w.id.c_str() + 2);
    s->next_worker_number_ = std::max(s->next_worker_number_, number + 1);
    s->worker_by_name_[w.name] = w.id;
    s->workers_.emplace(w.id, std::move(w));
  }
  for (Job& j : snap.jobs) {
    if (!j.idempotency_key.empty()) s->job_by_key_[{j.owner, j.idempotency_key}] = j.id;
    if (!IsTerminal(j.state)) ++s->active_jobs_[j.owner];
    s->jobs_.emplace(j.id, std::move(j));
  }
  s->ledger_.Load(snap.ledger, now);
  s->ledger_saved_ms_ = now;
  LOG_INFO << "loaded " << s->jobs_.size() << " jobs and " << s->workers_.size() << " workers";
  return s;
}

void Scheduler::Changed() {
  if (on_change_) on_change_();
}

Scheduler::~Scheduler() {
  if (!unsaved_jobs_.empty() || !unsaved_workers_.empty()) (void)CommitWithUnsaved({});
}

void Scheduler::Persist(const Job& job) {
  if (post_schedule_) {
    // Written with every other change of this event-loop round in one transaction, before any
    // reply goes out (SaveChanges): a pass that touches many jobs costs one fsync, not one each.
    unsaved_jobs_.insert(job.id);
    if (!unsaved_since_) unsaved_since_ = std::chrono::steady_clock::now();
    PostRun();
    return;
  }
  Status st = store_->SaveJob(job);
  if (!st.ok()) LOG_ERROR << "persisting job " << job.id << " failed: " << st.ToString();
}

Status Scheduler::SaveChanges() {
  // Only job changes are ever in a reply; workers' liveness rides along, or waits (see Heartbeat).
  if (unsaved_jobs_.empty()) return Status::Ok();
  return CommitWithUnsaved({}).status();
}

Result<std::vector<int64_t>> Scheduler::CommitWithUnsaved(Store::Batch batch) {
  // The current state of each unsaved job and worker, whatever happened in between (later writes
  // never go back); workers before the batch's own rows, which thus win.
  for (int64_t id : unsaved_jobs_) {
    if (const Job* job = FindJob(id)) batch.jobs.push_back(job);
  }
  std::vector<const Worker*> workers;
  for (const std::string& id : unsaved_workers_) {
    if (const Worker* w = FindWorker(id)) workers.push_back(w);
  }
  const Store::Batch own = batch;
  batch.workers.insert(batch.workers.begin(), workers.begin(), workers.end());
  auto ids = store_->WriteBatch(batch);
  const bool piggybacked = !unsaved_jobs_.empty() || !unsaved_workers_.empty();
  const bool has_own = !own.new_jobs.empty() || !own.jobs.empty() || !own.workers.empty();
  if (!ids.ok() && piggybacked && has_own) {
    // Unsaved changes must not fail the batch's own writes (a submission's 201): alone, then.
    auto alone = store_->WriteBatch(own);
    if (alone.ok()) {
      LOG_ERROR << "storing " << unsaved_jobs_.size() << " jobs and " << unsaved_workers_.size()
                << " workers failed (retried with the next write): " << ids.status().ToString();
      return alone;
    }
  }
  if (!ids.ok()) {
    LOG_ERROR << "storing " << batch.new_jobs.size() << " new jobs, " << batch.jobs.size()
              << " jobs and " << batch.workers.size()
              << " workers failed (unsaved changes are retried with the next write): "
              << ids.status().ToString();
    return ids;
  }
  unsaved_jobs_.clear();
  unsaved_workers_.clear();
  unsaved_since_.reset();
  return ids;
}

Job* Scheduler::MutableJob(int64_t id) {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

Worker* Scheduler::MutableWorker(const std::string& id) {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

const Job* Scheduler::FindJob(int64_t id) const {
  auto it = jobs_.find(id);
  return it == jobs_.end() ? nullptr : &it->second;
}

const Job* Scheduler::FindJobByKey(const std::string& owner, const std::string& key) const {
  auto it = job_by_key_.find({owner, key});
  return it == job_by_key_.end() ? nullptr : FindJob(it->second);
}

const Worker* Scheduler::FindWorker(const std::string& id) const {
  auto it = workers_.find(id);
  return it == workers_.end() ? nullptr : &it->second;
}

std::vector<const Job*> Scheduler::ListJobs(std::optional<JobState> state,
                                            const std::string& owner,
                                            const std::string& name) const {
  std::vector<const Job*> out;
  for (const auto& [id, job] : jobs_) {
    if (state && job.state != *state) continue;
    if (!owner.empty() && job.owner != owner) continue;
    if (!name.empty() && job.spec.metadata.name != name) continue;
    out.push_back(&job);
  }
  return out;
}

std::vector<const Worker*> Scheduler::ListWorkers() const {
  std::vector<const Worker*> out;
  for (const auto& [id, w] : workers_) out.push_back(&w);
  return out;
}

Result<const Job*> Scheduler::Submit(const std::string& spec_text, const std::string& owner,
                                     std::string* field) {
  ASSIGN_OR_RETURN(Job job, PrepareSubmission(spec_text, owner, field));
  std::vector<Job> one;
  one.push_back(std::move(job));
  ASSIGN_OR_RETURN(std::vector<const Job*> stored, SubmitPrepared(std::move(one)));
  return stored.front();
}

Result<Job> Scheduler::PrepareSubmission(const std::string& spec_text, const std::string& owner,
                                         std::string* field) {
  const QuotaOptions& quotas = options_.quotas;
  if (quotas.max_spec_bytes > 0 && static_cast<int64_t>(spec_text.size()) > quotas.max_spec_bytes) {
    if (field != nullptr) *field = "spec";
    return ResourceExhausted("the job spec is " + std::to_string(spec_text.size()) +
                             " bytes; this scheduler accepts at most " +
                             std::to_string(quotas.max_spec_bytes) + " (maxSpecBytes)");
  }
  if (auto it = active_jobs_.find(owner); quotas.max_active_jobs > 0 && it != active_jobs_.end() &&
                                          it->second >= quotas.max_active_jobs) {
    if (field != nullptr) *field = "maxActiveJobs";
    return ResourceExhausted("account " + owner + " has " + std::to_string(it->second) +
                             " unfinished jobs, its limit (maxActiveJobs); wait for some to "
                             "finish or cancel some");
  }
  std::vector<SpecError> errors;
  auto spec = ParseJobSpec(spec_text, "request body", &errors);
  if (!spec.ok()) {
    if (field != nullptr && !errors.empty()) *field = errors.front().field;
    return spec.status();
  }
  const std::string& queue = spec->queue;
  if (std::find(options_.queues.begin(), options_.queues.end(), queue) ==
      options_.queues.end()) {
    if (field != nullptr) *field = "spec.queue";
    std::string known;
    for (const auto& q : options_.queues) known += (known.empty() ? "" : ", ") + q;
    return InvalidArgument("spec.queue: unknown queue \"" + queue.substr(0, 80) +
                           "\" (this scheduler has: " + known + ")");
  }
  Job job;
  job.owner = owner;
  job.spec_text = spec_text;
  job.spec = std::move(spec).value();
  job.state = JobState::kPending;
  job.reason = kReasonResources;
  job.submitted_ms = clock_();
  AddJobEvent(job, job.submitted_ms, "submitted",
              "by account " + owner + ": " + std::to_string(job.spec.workers.min) +
                  (job.spec.workers.max > job.spec.workers.min
                       ? ".." + std::to_string(job.spec.workers.max)
                       : "") +
                  " ranks, backend " + ToString(job.spec.resources.backend));
  return job;
}

Result<std::vector<const Job*>> Scheduler::SubmitPrepared(std::vector<Job> jobs) {
  // Repeats of an idempotency key (stored, or earlier in this batch) are answered with that job.
  std::vector<int64_t> repeat_of(jobs.size(), 0);   // > 0: a stored job's id
  std::vector<int> same_as(jobs.size(), -1);         // >= 0: an earlier entry of the batch
  std::map<std::pair<std::string, std::string>, int> in_batch;
  std::vector<const Job*> rows;
  rows.reserve(jobs.size());
  for (size_t i = 0; i < jobs.size(); ++i) {
    const Job& job = jobs[i];
    if (!job.idempotency_key.empty()) {
      const auto key = std::make_pair(job.owner, job.idempotency_key);
      if (auto it = job_by_key_.find(key); it != job_by_key_.end()) {
        repeat_of[i] = it->second;
        continue;
      }
      if (auto [it, added] = in_batch.emplace(key, static_cast<int>(i)); !added) {
        same_as[i] = it->second;
        continue;
      }
    }
    rows.push_back(&job);
  }
  // One transaction for the batch (with any unsaved change, which thus costs no fsync of its
  // own): it is stored (and may be acknowledged) as a whole or not at all, and nothing of it is
  // queued before the commit.
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, CommitWithUnsaved({rows, {}, {}}));
  std::vector<const Job*> out(jobs.size(), nullptr);
  size_t next_id = 0;
  bool any_new = false;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (repeat_of[i] > 0 || same_as[i] >= 0) continue;
    jobs[i].id = ids[next_id++];
    if (!jobs[i].idempotency_key.empty()) {
      job_by_key_[{jobs[i].owner, jobs[i].idempotency_key}] = jobs[i].id;
    }
    const int64_t id = jobs[i].id;
    auto [it, inserted] = jobs_.emplace(id, std::move(jobs[i]));
    LOG_INFO << "job " << it->first << " (" << it->second.spec.metadata.name << ") submitted by "
             << it->second.owner;
    out[i] = &it->second;
    ++active_jobs_[it->second.owner];
    any_new = true;
    ++metrics_.jobs_submitted_total;
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (repeat_of[i] > 0) out[i] = FindJob(repeat_of[i]);
    if (same_as[i] >= 0) out[i] = out[same_as[i]];
  }
  if (any_new) {
    RequestSchedule();  // one pass for the whole batch
    Changed();
  }
  return out;
}

Result<const Job*> Scheduler::Cancel(int64_t job_id) {
  Job* job = MutableJob(job_id);
  if (job == nullptr) return NotFound("job " + std::to_string(job_id) + " not found");
  if (IsTerminal(job->state)) {
    return FailedPrecondition("job " + std::to_string(job_id) + " already finished (" +
                              ToString(job->state) + ")");
  }
  Attempt* a = job->current_attempt();
  if (a != nullptr && a->state == AttemptState::kRunning) {
    a->state = AttemptState::kCancelled;
    a->reason = "cancelled by user";
    a->ended_ms = clock_();
    for (auto& r : a->ranks) {
      if (HoldsSlot(r.state)) r.state = RankState::kStopping;
    }
  }
  job->state = JobState::kCancelled;
  job->reason = "cancelled by user";
  job->finished_ms = clock_();
  JobEnded(*job);
  AddJobEvent(*job, job->finished_ms, "cancelled",
              a != nullptr && a->state == AttemptState::kCancelled
                  ? "by user; the ranks of attempt " + std::to_string(a->number) + " are told to stop"
                  : "by user, before it started");
  Persist(*job);
  LOG_INFO << "job " << job_id << " cancelled";
  RequestSchedule();
  Changed();
  return job;
}

Result<const Worker*> Scheduler::RegisterWorker(const WorkerRegistration& reg) {
  return std::move(RegisterWorkers({reg}).front());
}

std::vector<Result<const Worker*>> Scheduler::RegisterWorkers(
    const std::vector<WorkerRegistration>& regs) {
  std::vector<Result<const Worker*>> out(regs.size(), Result<const Worker*>(Internal("unset")));
  // The workers to commit; staged_of[i] is registration i's entry (-1: rejected).
  std::vector<Worker> staged;
  std::vector<int> staged_of(regs.size(), -1);
  std::unordered_map<std::string, int> staged_by_name;
  const int64_t now = clock_();
  for (size_t i = 0; i < regs.size(); ++i) {
    const WorkerRegistration& reg = regs[i];
    if (reg.name.empty() || reg.name.size() > 253) {
      out[i] = InvalidArgument("worker name must be 1..253 characters");
      continue;
    }
    if (reg.slots < 1 || reg.slots > 1024) {
      out[i] = InvalidArgument("slots must be in 1..1024");
      continue;
    }
    if (reg.memory_total_bytes < 0 || reg.memory_lent_bytes < 0) {
      out[i] = InvalidArgument("memoryBytes and memoryLentBytes must be >= 0");
      continue;
    }
    if (!IsDnsLabel(reg.account)) {
      out[i] = InvalidArgument("account must be a DNS label (1..63 of a-z, 0-9, '-'), got \"" +
                               reg.account.substr(0, 80) + "\"");
      continue;
    }
    Worker w;
    // Names are unique: an index, since a pool of thousands registering at once would otherwise
    // scan every worker per registration. A name seen earlier in this batch re-registers that
    // entry (as a second call would), so it keeps its id and the later fields win.
    auto dup = staged_by_name.find(reg.name);
    if (dup != staged_by_name.end()) {
      w.id = staged[dup->second].id;
    } else if (auto it = worker_by_name_.find(reg.name); it != worker_by_name_.end()) {
      const Worker& known = workers_.at(it->second);
      if (known.account != reg.account) {
        out[i] = PermissionDenied("worker name \"" + reg.name + "\" is registered to account \"" +
                                  known.account + "\"; choose another --name");
        continue;
      }
      // Another live process already holds this name (two agents on one host with one --name):
      // refused, or both would run the same ranks under one id. Once it is lost (no heartbeat for
      // worker_timeout_ms), the name is free again, e.g. for its own restart.
      if (known.state == WorkerState::kAlive && !known.instance.empty() &&
          known.instance != reg.instance) {
        const int64_t silent_s = (now - known.last_seen_ms) / 1000;
        out[i] = AlreadyExists(
            "worker name \"" + reg.name + "\" is held by a live worker (" + known.id + " on host " +
            known.host + ", last heartbeat " + std::to_string(silent_s) +
            " s ago); give this one another --name, or stop the other (its name is free once it "
            "has been silent for " + std::to_string(options_.worker_timeout_ms / 1000) + " s)");
        continue;
      }
      w.id = it->second;
    } else {
      // Not reused even if the commit fails: the id was never acknowledged, but stays burnt.
      w.id = "w-" + std::to_string(next_worker_number_++);
    }
    w.name = reg.name;
    w.host = reg.host;
    w.account = reg.account;
    w.instance = reg.instance;
    w.slots = reg.slots;
    w.cpus = reg.cpus;
    w.gpus = reg.gpus;
    w.memory_total_bytes = reg.memory_total_bytes;
    w.memory_lent_bytes = reg.memory_lent_bytes;
    w.state = WorkerState::kAlive;
    w.registered_ms = now;
    w.last_seen_ms = now;
    if (dup != staged_by_name.end()) {
      staged[dup->second] = std::move(w);
      staged_of[i] = dup->second;
    } else {
      staged_of[i] = static_cast<int>(staged.size());
      staged_by_name[reg.name] = staged_of[i];
      staged.push_back(std::move(w));
    }
  }
  if (staged.empty()) return out;
  std::vector<const Worker*> rows;
  rows.reserve(staged.size());
  for (const Worker& w : staged) rows.push_back(&w);
  // One transaction for every registration of the batch (a registration is acknowledged with its
  // id, which must be stored first); nothing of the batch changes memory before it commits.
  Status st = CommitWithUnsaved({{}, {}, rows}).status();
  if (!st.ok()) {
    for (size_t i = 0; i < regs.size(); ++i) {
      if (staged_of[i] >= 0) out[i] = st;
    }
    return out;
  }
  std::vector<std::string> ids;
  for (const Worker& w : staged) ids.push_back(w.id);
  bool restarted_any = false;
  for (Worker& w : staged) {
    // Only a re-registration can have ranks to clean up: new workers skip the scans of every job
    // (O(jobs) each, which a pool of thousands joining cannot afford).
    if (Worker* existing = MutableWorker(w.id)) {
      restarted_any = true;
      // The worker process restarted, so the trainers it ran died with it (PDEATHSIG).
      for (auto& [id, job] : jobs_) {
        Attempt* a = job.current_attempt();
        if (a == nullptr || a->state != AttemptState::kRunning) continue;
        for (auto& r : a->ranks) {
          if (r.worker_id == w.id && HoldsSlot(r.state)) {
            r.state = RankState::kExited;
            r.exit_code = -1;
            r.message = "worker restarted";
            FailAttempt(job, "WorkerRestarted: worker " + WorkerLabel(existing, w.id) +
                                 " re-registered while rank " + std::to_string(r.rank) + " ran",
                        /*retryable=*/true);
            break;
          }
        }
      }
      // Anything still marked as held on this worker from before is gone now.
      for (auto& [id, job] : jobs_) {
        bool touched = false;
        for (auto& a : job.attempts) {
          for (auto& r : a.ranks) {
            if (r.worker_id == w.id && HoldsSlot(r.state)) {
              r.state = RankState::kExited;
              r.exit_code = -1;
              touched = true;
            }
          }
        }
        if (touched) Persist(job);
      }
    }
    worker_by_name_[w.name] = w.id;
    Worker& stored = workers_[w.id];
    stored = std::move(w);
    LOG_INFO << "worker " << stored.id << " (" << stored.name << ") registered: " << stored.slots
             << " slots, " << stored.cpus << " cpus, " << stored.gpus.size() << " gpus";
  }
  for (size_t i = 0; i < regs.size(); ++i) {
    if (staged_of[i] >= 0) out[i] = &workers_.at(ids[staged_of[i]]);
  }
  RequestSchedule();
  // Long-polls care only when ranks were taken away; a new worker changes nothing they wait for.
  if (restarted_any) Changed();
  return out;
}

Status Scheduler::Heartbeat(const std::string& worker_id, const std::vector<RankKey>& running) {
  Worker* w = MutableWorker(worker_id);
  if (w == nullptr) return NotFound("worker " + worker_id + " is not registered");
  w->last_seen_ms = clock_();
  if (w->state == WorkerState::kLost) {
    w->state = WorkerState::kAlive;
    if (post_schedule_) {
      // Written in the next batch, not before this answer: the stored liveness only decides what
      // a restarted scheduler shows until the worker's next heartbeat, and a pool coming back at
      // once cannot afford one fsync each. Whatever a pass then starts on it is stored with it.
      unsaved_workers_.insert(worker_id);
      if (!unsaved_since_) unsaved_since_ = std::chrono::steady_clock::now();
      PostRun();
    } else {
      RETURN_IF_ERROR(store_->SaveWorker(*w));
    }
    LOG_INFO << "worker " << worker_id << " is back";
    RequestSchedule();
    // No Changed(): no long-poll waits for a worker's liveness; a pass that starts something on
    // it wakes them.
  }
  std::set<RankKey> reported(running.begin(), running.end());
  for (auto& [id, job] : jobs_) {
    bool touched = false;
    for (auto& a : job.attempts) {
      for (auto& r : a.ranks) {
        if (r.worker_id != worker_id) continue;
        bool held = reported.count({job.id, a.number, r.rank}) > 0;
        if (r.state == RankState::kAssigned && held) {
          r.state = RankState::kRunning;
          touched = true;
        } else if (r.state == RankState::kStopping && !held) {
          // The worker holds nothing for it any more (never started, or exit delivered).
          r.state = RankState::kExited;
          touched = true;
        }
      }
    }
    if (touched) {
      // The attempt's last rank to come up completes its start (the "started" event, once).
      Attempt* cur = job.current_attempt();
      if (cur != nullptr && cur->state == AttemptState::kRunning &&
          std::all_of(cur->ranks.begin(), cur->ranks.end(),
                      [](const RankPlacement& r) { return r.state == RankState::kRunning; }) &&
          std::none_of(job.events.begin(), job.events.end(), [&](const JobEvent& e) {
            return e.type == "started" && e.ts_ms >= cur->started_ms;
          })) {
        AddJobEvent(job, clock_(), "started",
                    "attempt " + std::to_string(cur->number) + ": all " +
                        std::to_string(cur->ranks.size()) + " ranks running");
      }
      Persist(job);
      Changed();
    }
  }
  return Status::Ok();
}

std::vector<std::pair<const Job*, RankKey>> Scheduler::DesiredRanks(
    const std::string& worker_id) const {
  std::vector<std::pair<const Job*, RankKey>> out;
  for (const auto& [id, job] : jobs_) {
    const Attempt* a = job.current_attempt();
    if (a == nullptr || a->state != AttemptState::kRunning || AwaitsPreviousAttempt(job)) continue;
    for (const auto& r : a->ranks) {
      if (r.worker_id != worker_id) continue;
      if (r.state != RankState::kAssigned && r.state != RankState::kRunning) continue;
      out.push_back({&job, RankKey{job.id, a->number, r.rank}});
    }
  }
  return out;
}

nlohmann::json Scheduler::Assignments(const std::string& worker_id) const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [job, key] : DesiredRanks(worker_id)) {
    out.push_back({{"job", key.job_id},
                   {"attempt", key.attempt},
                   {"rank", key.rank},
                   {"worldSize", job->current_attempt()->world_size},
                   {"name", job->spec.metadata.name},
                   {"spec", job->spec_text}});
  }
  return out;
}

bool Scheduler::AssignmentsDiffer(const std::string& worker_id,
                                  const std::vector<RankKey>& running) const {
  // Called on every long-poll wake-up: compare keys only, without rendering specs.
  std::set<RankKey> desired;
  for (const auto& [job, key] : DesiredRanks(worker_id)) desired.insert(key);
  return desired != std::set<RankKey>(running.begin(), running.end());
}

RankPlacement* Scheduler::FindRank(Job& job, int attempt, int rank) {
  for (auto& a : job.attempts) {
    if (a.number != attempt) continue;
    if (rank < 0 || rank >= static_cast<int>(a.ranks.size())) return nullptr;
    return &a.ranks[rank];
  }
  return nullptr;
}

Status Scheduler::ApplyEvents(const std::string& worker_id, const nlohmann::json& events) {
  if (FindWorker(worker_id) == nullptr) {
    return NotFound("worker " + worker_id + " is not registered");
  }
  if (!events.is_array()) return InvalidArgument("\"events\" must be an array");
  // Validate everything first so a bad batch changes nothing.
  for (const auto& ev : events) {
    if (!ev.is_object() || !ev.contains("type") || !ev["type"].is_string() ||
        !ev.contains("job") || !ev["job"].is_number_integer() || !ev.contains("attempt") ||
        !ev["attempt"].is_number_integer() || !ev.contains("rank") ||
        !ev["rank"].is_number_integer()) {
      return InvalidArgument("each event needs string \"type\" and integer job, attempt, rank");
    }
    const std::string type = ev["type"];
    if (type == "log") {
      if (!ev.contains("lines") || !ev["lines"].is_array() ||
          ev["lines"].size() > kMaxLogLinesPerEvent) {
        return InvalidArgument("log event needs \"lines\": an array of at most 10000 strings");
      }
      for (const auto& l : ev["lines"]) {
        if (!l.is_string()) return InvalidArgument("log lines must be strings");
      }
    } else if (type == "progress") {
      if (!ev.contains("data") || !ev["data"].is_object()) {
        return InvalidArgument("progress event needs an object \"data\"");
      }
    } else if (type == "exit") {
      if (!ev.contains("exitCode") || !ev["exitCode"].is_number_integer()) {
        return InvalidArgument("exit event needs an integer \"exitCode\"");
      }
      // Optional fields, typed here so that applying the exit cannot throw halfway.
      if ((ev.contains("signal") && !ev["signal"].is_number_integer()) ||
          (ev.contains("message") && !ev["message"].is_string()) ||
          (ev.contains("cause") && !ev["cause"].is_string()) ||
          (ev.contains("result") && !ev["result"].is_object())) {
        return InvalidArgument(
            "exit event: \"signal\" must be an integer, \"message\" a string, \"result\" an "
            "object");
      }
    } else {
      return InvalidArgument("unknown event type \"" + type + "\" (log, progress, exit)");
    }
  }
  int64_t now = clock_();
  for (const auto& ev : events) {
    Job* job = MutableJob(ev["job"].get<int64_t>());
    if (job == nullptr) continue;
    int attempt = ev["attempt"].get<int>();
    int rank = ev["rank"].get<int>();
    RankPlacement* rp = FindRank(*job, attempt, rank);
    if (rp == nullptr || rp->worker_id != worker_id) continue;  // not this worker's rank
    const std::string type = ev["type"];
    if (type == "log") {
      std::vector<std::string> lines;
      for (const auto& l : ev["lines"]) {
        std::string s = l.get<std::string>();
        if (s.size() > kMaxLogLineBytes) s.resize(kMaxLogLineBytes);
        lines.push_back(std::move(s));
      }
      AppendJobLogs(*job, attempt, rank, now, lines);
    } else if (type == "progress") {
      if (rank != 0) continue;
      nlohmann::json data = ev["data"];
      data["attempt"] = attempt;
      data["timeMs"] = now;
      job->progress = data;
      AppendJobMetric(*job, attempt, now, data);
      Persist(*job);
    } else if (type == "exit") {
      RETURN_IF_ERROR(ApplyExit(*job, *rp, attempt, ev));
    }
  }
  Changed();
  return Status::Ok();
}

Status Scheduler::ApplyExit(Job& job, RankPlacement& rp, int attempt, const nlohmann::json& ev) {
  if (rp.state == RankState::kExited) return Status::Ok();  // duplicate delivery
  rp.state = RankState::kExited;
  rp.exit_code = ev["exitCode"].get<int>();
  rp.signal = ev.value("signal", 0);
  rp.message = ev.value("message", "");
  if (rp.message.size() > 4096) rp.message.resize(4096);
  if (ev.contains("result") && ev["result"].is_object()) rp.result = ev["result"];
  Attempt* current = job.current_attempt();
  bool current_running = current != nullptr && current->number == attempt &&
                         current->state == AttemptState::kRunning;
  if (current_running) {
    if (rp.exit_code != 0 || rp.signal != 0) {
      std::string how = rp.signal != 0 ? "was killed by signal " + std::to_string(rp.signal)
                                       : "exited with code " + std::to_string(rp.exit_code);
      // Out of memory (the worker's watchdog killed the rank over its limit, or the trainer's
      // allocation failed) is the job's fault: another contributor's machine of the same size
      // would fail the same way, so it is not retried.
      const bool oom =
          ev.value("cause", "") == kReasonOutOfMemory || rp.exit_code == kExitOutOfMemory;
      std::string reason = std::string(oom ? kReasonOutOfMemory : "RankFailed") + ": rank " +
                           std::to_string(rp.rank) + " on worker " + rp.worker_id + " " + how;
      if (!rp.message.empty()) reason += ": " + rp.message;
      FailAttempt(job, reason, /*retryable=*/!oom && rp.exit_code != kExitBadInput);
    } else {
      MaybeFinishAttempt(job);
    }
  }
  Persist(job);
  RequestSchedule();
  return Status::Ok();
}

Status Scheduler::CheckCheckpointWriter(int64_t job_id, int attempt,
                                        const std::string& worker_id) const {
  const Job* job = FindJob(job_id);
  if (job == nullptr) return NotFound("job " + std::to_string(job_id) + " not found");
  if (attempt < 1 || attempt > static_cast<int>(job->attempts.size())) {
    return NotFound("job " + std::to_string(job_id) + " has no attempt " + std::to_string(attempt));
  }
  const Attempt& a = job->attempts[attempt - 1];
  if (a.ranks.empty() || a.ranks[0].worker_id != worker_id) {
    return PermissionDenied("worker " + worker_id + " does not run rank 0 of job " +
                            std::to_string(job_id) + " attempt " + std::to_string(attempt));
  }
  if (!HoldsSlot(a.ranks[0].state)) {
    return FailedPrecondition("rank 0 of job " + std::to_string(job_id) + " attempt " +
                              std::to_string(attempt) + " has already exited");
  }
  return Status::Ok();
}

bool Scheduler::AccountRunsAttempt(const std::string& account, int64_t job_id,
                                   int attempt) const {
  const Job* job = FindJob(job_id);
  if (job == nullptr) return false;
  const Attempt* a = attempt == 0 ? job->current_attempt()
                     : attempt >= 1 && attempt <= static_cast<int>(job->attempts.size())
                         ? &job->attempts[attempt - 1]
                         : nullptr;
  if (a == nullptr) return false;
  for (const auto& r : a->ranks) {
    if (!HoldsSlot(r.state)) continue;
    const Worker* w = FindWorker(r.worker_id);
    if (w != nullptr && w->account == account) return true;
  }
  return false;
}

void Scheduler::RecordCheckpoint(int64_t job_id, int attempt, int64_t step, int64_t bytes) {
  Job* job = MutableJob(job_id);
  if (job == nullptr) return;
  char size[32];
  std::snprintf(size, sizeof size, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  AddJobEvent(*job, clock_(), "checkpoint",
              "step " + std::to_string(step) + " of attempt " + std::to_string(attempt) +
                  " stored (" + size + ")");
  Persist(*job);
}

std::string Scheduler::GangWarning(const Job& job) const {
  SnapshotJob shape = ShapeOf(job);
  std::vector<SnapshotWorker> all;
  for (const auto& [id, w] : workers_) all.push_back(SnapshotOf(w, 0, 0));
  const int capacity = FittingCapacity(shape, all);
  if (capacity >= shape.min_ranks) return "";
  if (std::string memory = DescribeMemoryShortfall(shape, all); !memory.empty()) {
    return memory +
           " (of the registered workers); it stays PENDING (Constraint) until such "
           "workers join";
  }
  return DescribeNeed(shape) + ": " +
         (workers_.empty() ? std::string("no worker has registered yet")
          : capacity == 0  ? "none of the " + std::to_string(workers_.size()) +
                                " registered workers fits"
                           : "the registered workers that fit have " + std::to_string(capacity) +
                                (capacity == 1 ? " slot" : " slots") + " in all") +
         "; it stays PENDING (Constraint) until such workers join";
}

void Scheduler::MaybeFinishAttempt(Job& job) {
  Attempt* a = job.current_attempt();
  for (const auto& r : a->ranks) {
    if (r.state != RankState::kExited || r.exit_code != 0) return;
  }
  // Data-parallel ranks end with the same parameters: a rank that reports none, or others, did
  // not do the work (or did it wrong). The attempt fails and is retried, and nobody is credited.
  auto checksum = [](const RankPlacement& r) {
    // A worker may report an exit without a result (or with junk in it): never throw here.
    const auto it = r.result.is_object() ? r.result.find("paramChecksum") : r.result.end();
    return it != r.result.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const std::string first = checksum(a->ranks.front());
  for (const auto& r : a->ranks) {
    const std::string sum = checksum(r);
    if (sum.empty() || sum != first) {
      FailAttempt(job,
                  sum.empty() ? "ParamChecksum: rank " + std::to_string(r.rank) + " (worker " +
                                    r.worker_id + ") exited 0 but reported no parameter checksum"
                              : "ParamChecksum: rank " + std::to_string(r.rank) + " (worker " +
                                    r.worker_id + ") ended with parameters " + sum.substr(0, 16) +
                                    ", rank 0 with " + first.substr(0, 16),
                  /*retryable=*/true);
      return;
    }
  }
  a->state = AttemptState::kSucceeded;
  a->ended_ms = clock_();
  CreditAttempt(job, *a, /*history=*/true);
  job.state = JobState::kSucceeded;
  JobEnded(job);
  AddJobEvent(job, a->ended_ms, "succeeded",
              "attempt " + std::to_string(a->number) + ": every rank exited 0");
  job.reason.clear();
  job.finished_ms = a->ended_ms;
  job.result = a->ranks.front().result;
  nlohmann::json checksums = nlohmann::json::array();
  for (const auto& r : a->ranks) checksums.push_back(checksum(r));
  job.result["rankChecksums"] = checksums;
  LOG_INFO << "job " << job.id << " succeeded: " << job.result.dump();
}

void Scheduler::CreditAttempt(const Job& job, const Attempt& a, bool history) {
  const double per_rank = job.spec.resources.backend == Backend::kCpu
                              ? 1.0
                              : std::max(1, job.spec.resources.gpus_per_worker);
  const double seconds =
      static_cast<double>(std::max<int64_t>(0, a.ended_ms - a.started_ms)) / 1000.0;
  for (const auto& r : a.ranks) {
    Worker* w = MutableWorker(r.worker_id);
    if (w == nullptr) continue;
    ledger_.Credit(w->account, per_rank * seconds);
    if (history) {
      ++w->completed_ranks;
      if (post_schedule_) {
        unsaved_workers_.insert(w->id);  // written with the job's success, in its batch
        if (!unsaved_since_) unsaved_since_ = std::chrono::steady_clock::now();
      } else if (Status st = store_->SaveWorker(*w); !st.ok()) {
        LOG_ERROR << "persisting worker " << w->id << ": " << st.ToString();
      }
    }
  }
}

SnapshotWorker Scheduler::SnapshotOf(const Worker& w, int held, int stopping) const {
  SnapshotWorker sw = SnapshotWorkerOf(w, held, stopping);
  sw.account = w.account;
  if (options_.new_worker_ranks_per_job > 0 && w.completed_ranks < options_.trusted_after_ranks) {
    sw.foreign_job_rank_cap = options_.new_worker_ranks_per_job;
  }
  return sw;
}

Attempt* Scheduler::EndAttempt(Job& job, AttemptState state, const std::string& reason) {
  Attempt* a = job.current_attempt();
  if (a == nullptr || a->state != AttemptState::kRunning) return nullptr;
  a->state = state;
  a->reason = reason;
  a->ended_ms = clock_();
  for (auto& r : a->ranks) {
    if (!HoldsSlot(r.state)) continue;
    const Worker* w = FindWorker(r.worker_id);
    if (w == nullptr || w->state == WorkerState::kLost) {
      r.state = RankState::kExited;
      r.exit_code = -1;
      r.message = "worker lost";
    } else {
      r.state = RankState::kStopping;
    }
  }
  return a;
}

void Scheduler::FailAttempt(Job& job, const std::string& reason, bool retryable) {
  Attempt* a = EndAttempt(job, AttemptState::kFailed, reason);
  if (a == nullptr) return;
  // Preempted attempts were the policy's doing, not failures: they do not use up retries.
  int retries_used = -1;  // the attempt failing now is not a retry of itself
  for (const auto& at : job.attempts) retries_used += at.state == AttemptState::kFailed;
  if (retryable && retries_used < job.spec.limits.max_retries) {
    job.state = JobState::kRestarting;
    job.reason = reason;
    AddJobEvent(job, a->ended_ms, "restarting",
                "attempt " + std::to_string(a->number) + " failed (retry " +
                    std::to_string(retries_used + 1) + " of " +
                    std::to_string(job.spec.limits.max_retries) + "): " + reason);
    LOG_WARN << "job " << job.id << " attempt " << a->number << " failed, restarting: " << reason;
  } else {
    job.state = JobState::kFailed;
    job.reason = retryable ? reason + " (no retries left)" : reason;
    job.finished_ms = a->ended_ms;
    JobEnded(job);
    AddJobEvent(job, a->ended_ms, "failed",
                "attempt " + std::to_string(a->number) + ": " + job.reason);
    LOG_WARN << "job " << job.id << " failed: " << job.reason;
  }
  Persist(job);
}

void Scheduler::ResizeJob(Job& job, const std::vector<std::string>& rank_workers,
                          const std::string& reason) {
  Attempt* a = EndAttempt(job, AttemptState::kResized, reason);
  if (a == nullptr) return;
  CreditAttempt(job, *a, /*history=*/false);
  LOG_INFO << "job " << job.id << " attempt " << a->number << " resized: " << reason;
  AddJobEvent(job, a->ended_ms, "resized", "attempt " + std::to_string(a->number) + ": " + reason);
  StartJob(job, rank_workers);  // persists
}

void Scheduler::PreemptAttempt(Job& job, const std::string& reason) {
  Attempt* a = EndAttempt(job, AttemptState::kPreempted, reason);
  if (a == nullptr) return;
  CreditAttempt(job, *a, /*history=*/false);
  job.state = JobState::kPending;
  job.reason = kReasonPreempted;
  AddJobEvent(job, a->ended_ms, "preempted",
              "attempt " + std::to_string(a->number) + ": " + reason);
  LOG_WARN << "job " << job.id << " attempt " << a->number << " preempted: " << reason;
  Persist(job);
}

int64_t Scheduler::RunMs(const Job& job) const {
  const int64_t now = clock_();
  int64_t ran = 0;
  for (const auto& a : job.attempts) {
    ran += std::max<int64_t>(0, (a.state == AttemptState::kRunning ? now : a.ended_ms) -
                                    a.started_ms);
  }
  return ran;
}

void Scheduler::MarkLostWorkers() {
  int64_t now = clock_();
  for (auto& [wid, w] : workers_) {
    if (w.state != WorkerState::kAlive || now - w.last_seen_ms <= options_.worker_timeout_ms) {
      continue;
    }
    w.state = WorkerState::kLost;
    if (post_schedule_) {
      // With the next batch, as in Heartbeat: a pool that drops off at once (a network split)
      // must not cost one fsync per worker on the event loop.
      unsaved_workers_.insert(wid);
      if (!unsaved_since_) unsaved_since_ = std::chrono::steady_clock::now();
      PostRun();
    } else {
      Status st = store_->SaveWorker(w);
      if (!st.ok()) LOG_ERROR << "persisting worker " << wid << ": " << st.ToString();
    }
    LOG_WARN << "worker " << wid << " (" << w.name << ") lost: no heartbeat for "
             << (now - w.last_seen_ms) << " ms";
    for (auto& [id, job] : jobs_) {
      bool touched = false;
      for (auto& a : job.attempts) {
        for (auto& r : a.ranks) {
          if (r.worker_id == wid && HoldsSlot(r.state)) {
            r.state = RankState::kExited;
            r.exit_code = -1;
            r.message = "worker lost";
            touched = true;
            if (&a == job.current_attempt() && a.state == AttemptState::kRunning) {
              FailAttempt(job,
                          "WorkerLost: worker " + WorkerLabel(&w, wid) + " running rank " +
                              std::to_string(r.rank) + " missed heartbeats for " +
                              std::to_string(options_.worker_timeout_ms / 1000) + "s",
                          /*retryable=*/true);
            }
          }
        }
      }
      if (touched) Persist(job);
    }
    Changed();
  }
}

Snapshot Scheduler::BuildSnapshot() const {
  Snapshot snap;
  snap.now_ms = clock_();
  std::map<std::string, int> held, stopping;
  // jobs_ is keyed by id, so the queue comes out in submission order.
  for (const auto& [id, job] : jobs_) {
    const JobSpec& spec = job.spec;
    for (const auto& a : job.attempts) {
      for (const auto& r : a.ranks) {
        if (HoldsSlot(r.state)) ++held[r.worker_id];
        if (r.state == RankState::kStopping) ++stopping[r.worker_id];
      }
    }
    const bool queued = job.state == JobState::kPending || job.state == JobState::kRestarting;
    const bool running = job.state == JobState::kRunning && job.current_attempt() != nullptr;
    if (!queued && !running) continue;
    SnapshotJob shape = ShapeOf(job);
    if (queued) {
      shape.max_runtime_ms =
          std::max<int64_t>(1, spec.limits.max_runtime_seconds * 1000 - RunMs(job));
      snap.queue.push_back(std::move(shape));
    } else {
      const Attempt& a = *job.current_attempt();
      SnapshotRunning sr = AsRunning(shape);
      sr.start_ms = a.started_ms;
      // The time limit covers every attempt (EnforceTimeLimits), so the job ends by then.
      sr.max_runtime_ms = std::max<int64_t>(
          0, spec.limits.max_runtime_seconds * 1000 - (RunMs(job) - (snap.now_ms - a.started_ms)));
      // Resizable only while every rank runs: not while some finish, nor while the attempt waits
      // for the previous one to stop.
      const bool whole = !AwaitsPreviousAttempt(job) &&
                         std::all_of(a.ranks.begin(), a.ranks.end(),
                                     [](const RankPlacement& r) { return HoldsSlot(r.state); });
      if (!whole) sr.min_ranks = sr.max_ranks = 0;
      for (const auto& r : a.ranks) {
        if (HoldsSlot(r.state)) sr.rank_workers.push_back(r.worker_id);
      }
      snap.running.push_back(std::move(sr));
    }
  }
  for (const LedgerEntry& e : ledger_.Entries()) {
    snap.accounts.push_back({e.account, e.contributed, e.used});
  }
  for (const auto& [id, w] : workers_) {
    if (w.state != WorkerState::kAlive) continue;
    snap.workers.push_back(SnapshotOf(w, held[id], stopping[id]));
  }
  return snap;
}

void Scheduler::StartJob(Job& job, const std::vector<std::string>& rank_workers) {
  Attempt a;
  a.number = static_cast<int>(job.attempts.size()) + 1;
  a.world_size = static_cast<int>(rank_workers.size());
  a.started_ms = clock_();
  for (size_t r = 0; r < rank_workers.size(); ++r) {
    RankPlacement rp;
    rp.rank = static_cast<int>(r);
    rp.worker_id = rank_workers[r];
    a.ranks.push_back(rp);
  }
  job.attempts.push_back(std::move(a));
  job.state = JobState::kRunning;
  job.reason.clear();
  job.reason_message.clear();
  job.estimated_start_ms = 0;
  if (job.started_ms == 0) {
    job.started_ms = clock_();
    metrics_.admission_wait_seconds.Observe(
        static_cast<double>(std::max<int64_t>(0, job.started_ms - job.submitted_ms)) / 1000.0);
  }
  ++metrics_.attempts_started_total;
  std::string where;
  for (const auto& w : rank_workers) where += (where.empty() ? "" : ",") + w;
  std::string placed;
  for (size_t r = 0; r < rank_workers.size(); ++r) {
    placed += (r == 0 ? "" : ", ") + std::string("rank ") + std::to_string(r) + " on " +
              WorkerLabel(FindWorker(rank_workers[r]), rank_workers[r]);
  }
  AddJobEvent(job, job.attempts.back().started_ms, "placed",
              "attempt " + std::to_string(job.attempts.back().number) + ": " + placed);
  // Recorded before any worker hears of it (the heartbeat answers read this state).
  Persist(job);
  LOG_INFO << "job " << job.id << " attempt " << job.attempts.size() << " started on " << where;
}

namespace {
// Requested passes may take about 1/kPassDuty of the event loop's time (see SetSchedulePoster).
constexpr int kPassDuty = 10;
// RunPendingSchedule() writes unsaved changes that are older than this.
constexpr auto kMaxUnsavedAge = std::chrono::milliseconds(500);
}  // namespace

void Scheduler::PostRun() {
  if (run_posted_) return;
  run_posted_ = true;
  post_schedule_();
}

void Scheduler::RequestSchedule() {
  if (!post_schedule_) {
    Schedule();
    return;
  }
  schedule_pending_ = true;
  PostRun();
}

void Scheduler::RunPendingSchedule() {
  if (schedule_pending_) {
    // A pass is O(queue + workers): with 20k queued jobs it takes milliseconds, and a stream of
    // submissions or returning workers would otherwise run one per event-loop round. After a pass
    // of d, the next requested one waits 9d (until then, requests stay pending for the next
    // RunPendingSchedule or RunCycle), so small queues are scheduled at once and big ones cost
    // at most ~10% of the loop.
    const auto start = std::chrono::steady_clock::now();
    if (start >= next_pass_at_) {
      schedule_pending_ = false;
      Schedule();
      const auto end = std::chrono::steady_clock::now();
      next_pass_at_ = end + (end - start) * (kPassDuty - 1);
    }
  }
  // Changes are written with the next commit or before the next reply (SaveChanges), whichever
  // comes first; here only once they are old, so that an idle scheduler stores them too.
  if (unsaved_since_ && std::chrono::steady_clock::now() - *unsaved_since_ >= kMaxUnsavedAge) {
    (void)CommitWithUnsaved({});  // logs its own failure
  }
  run_posted_ = false;
}

void Scheduler::Schedule() {
  const auto pass_start = std::chrono::steady_clock::now();
  auto observe = [&] {
    metrics_.cycle_seconds.Observe(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - pass_start).count());
  };
  Snapshot snap = BuildSnapshot();
  // Without a queue only elastic growth could change anything.
  if (snap.queue.empty() && !options_.policy.elastic) return observe();
  Decisions d = Decide(snap, options_.policy);
  bool changed = false;
  for (const auto& p : d.preempts) {
    if (Job* job = MutableJob(p.job_id); job != nullptr && job->state == JobState::kRunning) {
      PreemptAttempt(*job, "Preempted: " + p.reason);
      ++metrics_.preemptions_total;
      changed = true;
    }
  }
  for (const auto& r : d.resizes) {
    if (Job* job = MutableJob(r.job_id); job != nullptr && job->state == JobState::kRunning) {
      ResizeJob(*job, r.rank_workers, "Resized: " + r.reason);
      ++metrics_.resizes_total;
      changed = true;
    }
  }
  for (const auto& start : d.starts) {
    if (Job* job = MutableJob(start.job_id)) {
      StartJob(*job, start.rank_workers);
      changed = true;
    }
  }
  for (const auto& wait : d.waits) {
    Job* job = MutableJob(wait.job_id);
    if (job == nullptr) continue;
    // In memory only: the numbers change with every cycle, the reason code rarely.
    job->reason_message = wait.detail;
    job->estimated_start_ms = wait.estimated_start_ms;
    // A restarting job keeps its failure reason visible until it starts again.
    if (job->state == JobState::kPending && job->reason != wait.reason) {
      job->reason = wait.reason;
      Persist(*job);
      changed = true;
    }
  }
  if (changed) Changed();
  observe();
}

void Scheduler::EnforceTimeLimits() {
  for (auto& [id, job] : jobs_) {
    if (job.state != JobState::kRunning || job.started_ms == 0) continue;
    int64_t limit_ms = job.spec.limits.max_runtime_seconds * 1000;
    if (RunMs(job) <= limit_ms) continue;
    // Like Slurm's TIMEOUT: the time limit covers the run time of every attempt (time spent
    // queued after a failure or a preemption does not count), and is not retried.
    FailAttempt(job,
                "DeadlineExceeded: ran longer than limits.maxRuntime (" +
                    std::to_string(job.spec.limits.max_runtime_seconds) + "s)",
                /*retryable=*/false);
    Changed();
  }
}

void Scheduler::AccrueLedger() {
  const int64_t now = clock_();
  std::map<std::string, double> earning, spending;
  for (const auto& [id, w] : workers_) {
    // Listed (at 0) so that a contributing account has an entry; what it earns is credited when
    // an attempt completes (CreditAttempt), never for what a worker advertises.
    if (w.state == WorkerState::kAlive) earning[w.account] += 0;
  }
  for (const auto& [id, job] : jobs_) {
    const Attempt* a = job.current_attempt();
    if (job.state != JobState::kRunning || a == nullptr) continue;
    const int per_rank = job.spec.resources.backend == Backend::kCpu
                             ? 1
                             : std::max(1, job.spec.resources.gpus_per_worker);
    for (const auto& r : a->ranks) {
      if (HoldsSlot(r.state)) spending[job.owner] += per_rank;
    }
  }
  ledger_.Advance(now, earning, spending);
  if (now - ledger_saved_ms_ >= options_.ledger_save_interval_ms) {
    Status st = store_->SaveLedger(ledger_.Entries());
    if (!st.ok()) LOG_ERROR << "saving the ledger failed: " << st.ToString();
    ledger_saved_ms_ = now;
  }
}

void Scheduler::RunCycle() {
  schedule_pending_ = false;  // this cycle's pass serves any request still waiting
  MarkLostWorkers();
  EnforceTimeLimits();
  AccrueLedger();
  ExpireLogs();
  Schedule();
}

void Scheduler::JobEnded(const Job& job) {
  auto it = active_jobs_.find(job.owner);
  if (it != active_jobs_.end() && --it->second <= 0) active_jobs_.erase(it);
  checkpoint_refused_ms_.erase(job.id);
}

void Scheduler::AppendJobLogs(const Job& job, int attempt, int rank, int64_t now,
                              const std::vector<std::string>& lines) {
  Status st = store_->AppendLogs(job.id, attempt, rank, now, lines);
  if (!st.ok()) {
    LOG_ERROR << "storing logs of job " << job.id << ": " << st.ToString();
    return;
  }
  const int64_t cap = options_.quotas.job_log_bytes;
  if (cap <= 0) return;
  auto [it, first] = log_bytes_.try_emplace(job.id, 0);
  if (first) {
    // Once per job and scheduler start; this includes the lines just appended.
    auto stored = store_->LogBytes(job.id);
    if (!stored.ok()) {
      LOG_ERROR << "log size of job " << job.id << ": " << stored.status().ToString();
      log_bytes_.erase(it);
      return;
    }
    it->second = *stored;
  } else {
    for (const auto& l : lines) it->second += static_cast<int64_t>(l.size());
  }
  if (it->second <= cap) return;
  // Down to three quarters of the cap, so that the scan and delete happen once per quarter.
  auto kept = store_->DropOldestLogs(
      job.id, cap / 4 * 3,
      "[shoal] older lines of this job's log were dropped: it keeps the newest " +
          std::to_string(cap >> 20) + " MiB (the scheduler's jobLogBytes)");
  if (!kept.ok()) {
    LOG_ERROR << "dropping old logs of job " << job.id << ": " << kept.status().ToString();
    return;
  }
  it->second = *kept;
}

void Scheduler::AppendJobMetric(const Job& job, int attempt, int64_t now,
                                const nlohmann::json& point) {
  Status st = store_->AppendMetric(job.id, attempt, now, point);
  if (!st.ok()) {
    LOG_ERROR << "storing metrics of job " << job.id << ": " << st.ToString();
    return;
  }
  const int64_t cap = options_.quotas.job_metric_points;
  if (cap <= 0) return;
  auto [it, first] = metric_points_.try_emplace(job.id, 0);
  if (first) {
    auto n = store_->MetricCount(job.id);
    if (!n.ok()) {
      metric_points_.erase(it);
      return;
    }
    it->second = *n;
  } else {
    ++it->second;
  }
  if (it->second <= cap) return;
  st = store_->ThinMetrics(job.id);
  if (!st.ok()) {
    LOG_ERROR << "thinning metrics of job " << job.id << ": " << st.ToString();
    return;
  }
  it->second -= it->second / 4;  // every other point of the older half
}

void Scheduler::ExpireLogs() {
  const int64_t now = clock_();
  if (now < next_log_expiry_ms_) return;
  next_log_expiry_ms_ = now + 60000;
  const int64_t cutoff = now - options_.quotas.log_retention_ms;
  std::vector<std::pair<int64_t, int64_t>> expired;  // (finished_ms, id)
  for (const auto& [id, job] : jobs_) {
    if (IsTerminal(job.state) && job.finished_ms >= logs_expired_before_ms_ &&
        job.finished_ms < cutoff) {
      expired.emplace_back(job.finished_ms, id);
    }
  }
  // At most kBatch jobs a pass (one transaction on the event loop); the rest next cycle.
  constexpr size_t kBatch = 1000;
  int64_t watermark = cutoff;
  if (expired.size() > kBatch) {
    std::nth_element(expired.begin(), expired.begin() + kBatch - 1, expired.end());
    expired.resize(kBatch);
    std::sort(expired.begin(), expired.end());
    // Jobs that ended in the same millisecond as the last one taken come again next pass
    // (deleting nothing twice is harmless), unless the whole batch ended in it.
    watermark = expired.back().first + (expired.front().first == expired.back().first);
    next_log_expiry_ms_ = now;
  }
  if (!expired.empty()) {
    std::vector<int64_t> ids;
    for (const auto& e : expired) ids.push_back(e.second);
    Status st = store_->DeleteJobLogs(ids);
    if (!st.ok()) {
      LOG_ERROR << "deleting the logs of " << ids.size() << " ended jobs: " << st.ToString();
      return;  // tried again next minute
    }
    for (int64_t id : ids) {
      log_bytes_.erase(id);
      metric_points_.erase(id);
    }
    if (logs_expired_before_ms_ > 0) {
      LOG_INFO << "deleted the logs and metrics of " << ids.size() << " jobs that ended over "
               << options_.quotas.log_retention_ms / 3600000 << " h ago";
    }
  }
  logs_expired_before_ms_ = watermark;
}

bool Scheduler::CheckpointsExpired(int64_t job_id) const {
  const Job* job = FindJob(job_id);
  if (job == nullptr) return true;
  return IsTerminal(job->state) && !job->spec.checkpoint.keep_after_end &&
         job->finished_ms + options_.quotas.checkpoint_retention_ms <= clock_();
}

void Scheduler::RecordCheckpointRefused(int64_t job_id, const std::string& why) {
  Job* job = MutableJob(job_id);
  if (job == nullptr) return;
  const int64_t now = clock_();
  auto [it, first] = checkpoint_refused_ms_.try_emplace(job_id, now);
  if (!first && now - it->second < 60000) return;
  it->second = now;
  AddJobEvent(*job, now, "checkpoint", "refused: " + why);
  Persist(*job);
  Changed();
}

}  // namespace shoal

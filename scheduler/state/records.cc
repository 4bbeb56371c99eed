#include "scheduler/state/records.h"

#include <algorithm>

namespace shoal {

const char* ToString(JobState state) {
  switch (state) {
    case JobState::kPending:
      return "PENDING";
    case JobState::kRunning:
      return "RUNNING";
    case JobState::kRestarting:
      return "RESTARTING";
    case JobState::kSucceeded:
      return "SUCCEEDED";
    case JobState::kFailed:
      return "FAILED";
    case JobState::kCancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

Result<JobState> ParseJobState(std::string_view name) {
  for (JobState s : {JobState::kPending, JobState::kRunning, JobState::kRestarting,
                     JobState::kSucceeded, JobState::kFailed, JobState::kCancelled}) {
    std::string_view n = ToString(s);
    if (name.size() == n.size() &&
        std::equal(name.begin(), name.end(), n.begin(),
                   [](char a, char b) { return std::toupper(a) == b; })) {
      return s;
    }
  }
  return InvalidArgument("unknown job state \"" + std::string(name) +
                         "\"; allowed: PENDING, RUNNING, RESTARTING, SUCCEEDED, FAILED, CANCELLED");
}

int64_t JobRunMs(const Job& job, int64_t now_ms) {
  int64_t ran = 0;
  for (const auto& a : job.attempts) {
    ran += std::max<int64_t>(
        0, (a.state == AttemptState::kRunning ? now_ms : a.ended_ms) - a.started_ms);
  }
  return ran;
}

bool IsTerminal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

const char* ToString(RankState state) {
  switch (state) {
    case RankState::kAssigned:
      return "assigned";
    case RankState::kRunning:
      return "running";
    case RankState::kStopping:
      return "stopping";
    case RankState::kExited:
      return "exited";
  }
  return "unknown";
}

const char* ToString(AttemptState state) {
  switch (state) {
    case AttemptState::kRunning:
      return "running";
    case AttemptState::kSucceeded:
      return "succeeded";
    case AttemptState::kFailed:
      return "failed";
    case AttemptState::kCancelled:
      return "cancelled";
    case AttemptState::kPreempted:
      return "preempted";
    case AttemptState::kResized:
      return "resized";
  }
  return "unknown";
}

const char* ToString(WorkerState state) {
  switch (state) {
    case WorkerState::kAlive:
      return "alive";
    case WorkerState::kLost:
      return "lost";
    case WorkerState::kQuarantined:
      return "quarantined";
  }
  return "unknown";
}

Result<WorkerState> ParseWorkerState(std::string_view name) {
  for (WorkerState s : {WorkerState::kAlive, WorkerState::kLost, WorkerState::kQuarantined}) {
    if (name == ToString(s)) return s;
  }
  return InvalidArgument("unknown worker state \"" + std::string(name.substr(0, 40)) + "\"");
}

bool RolledBack(const Job& job, int written_by, int64_t step) {
  for (const Attempt& a : job.attempts) {
    if (a.rollback_to_step >= 0 && written_by <= a.number && step > a.rollback_to_step) return true;
  }
  return false;
}

std::vector<const std::map<std::string, int64_t>*> CleanAuditsByAttempt(const Job& job) {
  std::vector<const std::map<std::string, int64_t>*> out;
  for (const Attempt& a : job.attempts) out.push_back(&a.clean_audit_steps);
  return out;
}

audit::CheckpointAttestations* AttestedStep(Attempt& a, int64_t step) {
  auto& steps = a.attestations;
  if (!steps.contains(step) && steps.size() >= kMaxAttestedSteps && step < steps.begin()->first) {
    return nullptr;
  }
  audit::CheckpointAttestations& c = steps[step];
  while (steps.size() > kMaxAttestedSteps) steps.erase(steps.begin());  // never `step` itself
  return &c;
}

void AddJobEvent(Job& job, int64_t ts_ms, std::string type, std::string message) {
  if (message.size() > 1024) message.resize(1024);
  if (static_cast<int>(job.events.size()) >= kMaxJobEvents) {
    job.events.erase(job.events.begin() + kKeepFirstJobEvents);
    ++job.events_dropped;
  }
  job.events.push_back({ts_ms, std::move(type), std::move(message)});
}

}  // namespace shoal

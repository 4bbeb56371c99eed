#include "scheduler/api/views.h"

#include "common/spec/job_spec.h"
#include "scheduler/state/codec.h"

namespace shoal {

nlohmann::json ToJson(const RankPlacement& r) {
  nlohmann::json j = {{"rank", r.rank}, {"worker", r.worker_id}, {"state", ToString(r.state)}};
  if (r.state == RankState::kExited) {
    j["exitCode"] = r.exit_code;
    if (r.signal != 0) j["signal"] = r.signal;
  }
  if (!r.message.empty()) j["message"] = r.message;
  if (!r.result.is_null() && !r.result.empty()) j["result"] = r.result;
  return j;
}

nlohmann::json ToJson(const Attempt& a) {
  nlohmann::json ranks = nlohmann::json::array();
  for (const auto& r : a.ranks) ranks.push_back(ToJson(r));
  nlohmann::json j = {{"number", a.number},   {"worldSize", a.world_size},
                      {"state", ToString(a.state)}, {"startedMs", a.started_ms},
                      {"ranks", ranks}};
  if (!a.reason.empty()) j["reason"] = a.reason;
  if (a.ended_ms != 0) j["endedMs"] = a.ended_ms;
  return j;
}

nlohmann::json ToJson(const Job& job, bool detail) {
  nlohmann::json j = {
      {"id", job.id},
      {"name", job.spec.metadata.name},
      {"project", job.spec.metadata.project},
      {"owner", job.owner},
      {"queue", job.spec.queue},
      {"priority", job.spec.priority},
      {"state", ToString(job.state)},
      {"reason", job.reason},
      {"submittedMs", job.submitted_ms},
      {"startedMs", job.started_ms},
      {"finishedMs", job.finished_ms},
      {"workers", {{"min", job.spec.workers.min}, {"max", job.spec.workers.max}}},
      {"attempts", static_cast<int>(job.attempts.size())},
      {"progress", job.progress},
      {"result", job.result},
  };
  // Only while it waits: the last cycle's numbers say nothing about a running or finished job.
  if (job.state == JobState::kPending || job.state == JobState::kRestarting) {
    if (!job.reason_message.empty()) j["reasonMessage"] = job.reason_message;
    if (job.estimated_start_ms != 0) j["estimatedStartMs"] = job.estimated_start_ms;
  }
  if (const Attempt* a = job.current_attempt()) {
    j["worldSize"] = a->world_size;
    nlohmann::json nodes = nlohmann::json::array();
    for (const auto& r : a->ranks) nodes.push_back(r.worker_id);
    j["placement"] = nodes;
  }
  if (detail) {
    nlohmann::json attempts = nlohmann::json::array();
    for (const auto& a : job.attempts) attempts.push_back(ToJson(a));
    j["attemptHistory"] = attempts;
    j["spec"] = JobSpecToJson(job.spec);
    j["events"] = EventsToJson(job.events);
    if (job.events_dropped > 0) j["eventsDropped"] = job.events_dropped;
  }
  return j;
}

nlohmann::json ToJson(const Worker& w) {
  nlohmann::json gpus = nlohmann::json::array();
  for (const auto& g : w.gpus) gpus.push_back(ToJson(g));
  return {{"id", w.id},
          {"name", w.name},
          {"host", w.host},
          {"account", w.account},
          {"slots", w.slots},
          {"cpus", w.cpus},
          {"gpus", gpus},
          {"memoryBytes", w.memory_total_bytes},
          {"memoryLentBytes", w.memory_lent_bytes},
          {"state", ToString(w.state)},
          {"registeredMs", w.registered_ms},
          {"lastSeenMs", w.last_seen_ms},
          {"completedRanks", w.completed_ranks}};
}

}  // namespace shoal

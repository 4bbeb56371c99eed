#include "scheduler/state/model.h"

namespace shoal {

const char* ToString(JobState state) {
  switch (state) {
    case JobState::kPending: return "PENDING";
    case JobState::kRunning: return "RUNNING";
    case JobState::kRestarting: return "RESTARTING";
    case JobState::kSucceeded: return "SUCCEEDED";
    case JobState::kFailed: return "FAILED";
    case JobState::kCancelled: return "CANCELLED";
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

bool IsTerminal(JobState state) {
  return state == JobState::kSucceeded || state == JobState::kFailed ||
         state == JobState::kCancelled;
}

const char* ToString(RankState state) {
  switch (state) {
    case RankState::kAssigned: return "assigned";
    case RankState::kRunning: return "running";
    case RankState::kStopping: return "stopping";
    case RankState::kExited: return "exited";
  }
  return "unknown";
}

const char* ToString(AttemptState state) {
  switch (state) {
    case AttemptState::kRunning: return "running";
    case AttemptState::kSucceeded: return "succeeded";
    case AttemptState::kFailed: return "failed";
    case AttemptState::kCancelled: return "cancelled";
    case AttemptState::kPreempted: return "preempted";
    case AttemptState::kResized: return "resized";
  }
  return "unknown";
}

const char* ToString(WorkerState state) {
  return state == WorkerState::kAlive ? "alive" : "lost";
}

void AddJobEvent(Job& job, int64_t ts_ms, std::string type, std::string message) {
  if (message.size() > 1024) message.resize(1024);
  if (static_cast<int>(job.events.size()) >= kMaxJobEvents) {
    job.events.erase(job.events.begin() + kKeepFirstJobEvents);
    ++job.events_dropped;
  }
  job.events.push_back({ts_ms, std::move(type), std::move(message)});
}

nlohmann::json ToJson(const JobEvent& e) {
  return {{"timeMs", e.ts_ms}, {"type", e.type}, {"message", e.message}};
}

nlohmann::json EventsToJson(const std::vector<JobEvent>& events) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : events) out.push_back(ToJson(e));
  return out;
}

std::vector<JobEvent> EventsFromJson(const nlohmann::json& j) {
  std::vector<JobEvent> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("timeMs") || !e["timeMs"].is_number_integer() ||
        !e.contains("type") || !e["type"].is_string() || !e.contains("message") ||
        !e["message"].is_string()) {
      continue;
    }
    out.push_back({e["timeMs"].get<int64_t>(), e["type"].get<std::string>(),
                   e["message"].get<std::string>()});
  }
  return out;
}

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

nlohmann::json ToJson(const GpuInfo& g) {
  return {{"name", g.name}, {"memoryMiB", g.memory_mib}, {"computeCapability", g.compute_capability}};
}

Result<GpuInfo> GpuInfoFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("gpus[]: expected an object");
  GpuInfo g;
  try {
    g.name = j.value("name", "");
    g.memory_mib = j.value("memoryMiB", int64_t{0});
    g.compute_capability = j.value("computeCapability", "");
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("gpus[]: ") + e.what());
  }
  if (g.name.size() > 256 || g.compute_capability.size() > 16 || g.memory_mib < 0) {
    return InvalidArgument("gpus[]: implausible GPU description");
  }
  return g;
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

nlohmann::json AttemptToStored(const Attempt& a) {
  nlohmann::json ranks = nlohmann::json::array();
  for (const auto& r : a.ranks) {
    ranks.push_back({{"rank", r.rank},
                     {"worker", r.worker_id},
                     {"state", static_cast<int>(r.state)},
                     {"exitCode", r.exit_code},
                     {"signal", r.signal},
                     {"message", r.message},
                     {"result", r.result}});
  }
  return {{"number", a.number},         {"worldSize", a.world_size},
          {"state", static_cast<int>(a.state)}, {"reason", a.reason},
          {"startedMs", a.started_ms},  {"endedMs", a.ended_ms},
          {"ranks", ranks}};
}

Result<Attempt> AttemptFromStored(const nlohmann::json& j) {
  try {
    Attempt a;
    a.number = j.at("number").get<int>();
    a.world_size = j.at("worldSize").get<int>();
    const int state = j.at("state").get<int>();
    if (state < 0 || state > static_cast<int>(AttemptState::kResized)) {
      return Internal("stored attempt has an unknown state " + std::to_string(state));
    }
    a.state = static_cast<AttemptState>(state);
    a.reason = j.at("reason").get<std::string>();
    a.started_ms = j.at("startedMs").get<int64_t>();
    a.ended_ms = j.at("endedMs").get<int64_t>();
    for (const auto& rj : j.at("ranks")) {
      RankPlacement r;
      r.rank = rj.at("rank").get<int>();
      r.worker_id = rj.at("worker").get<std::string>();
      r.state = static_cast<RankState>(rj.at("state").get<int>());
      r.exit_code = rj.at("exitCode").get<int>();
      r.signal = rj.at("signal").get<int>();
      r.message = rj.at("message").get<std::string>();
      r.result = rj.at("result");
      a.ranks.push_back(std::move(r));
    }
    return a;
  } catch (const nlohmann::json::exception& e) {
    return Internal(std::string("corrupt stored attempt: ") + e.what());
  }
}

}  // namespace shoal

#include "common/wire/worker_event.h"

#include <utility>

namespace shoal::wire {

const char* ToString(WorkerEventType type) {
  switch (type) {
    case WorkerEventType::kLog:
      return "log";
    case WorkerEventType::kProgress:
      return "progress";
    case WorkerEventType::kExit:
      return "exit";
    case WorkerEventType::kAudit:
      return "audit";
  }
  return "?";
}

namespace {

// Assigned field by field: a designated initializer that leaves the optional fields out draws
// -Wmissing-field-initializers from GCC 12.
WorkerEvent EventOf(WorkerEventType type, int64_t job, int attempt, int rank) {
  WorkerEvent e;
  e.type = type;
  e.job = job;
  e.attempt = attempt;
  e.rank = rank;
  return e;
}

}  // namespace

WorkerEvent LogEvent(int64_t job, int attempt, int rank, std::vector<std::string> lines) {
  WorkerEvent e = EventOf(WorkerEventType::kLog, job, attempt, rank);
  e.lines = std::move(lines);
  return e;
}

WorkerEvent ProgressEvent(int64_t job, int attempt, int rank, nlohmann::json data) {
  WorkerEvent e = EventOf(WorkerEventType::kProgress, job, attempt, rank);
  e.data = std::move(data);
  return e;
}

WorkerEvent AuditEvent(int64_t job, int attempt, int rank, nlohmann::json data) {
  WorkerEvent e = EventOf(WorkerEventType::kAudit, job, attempt, rank);
  e.data = std::move(data);
  return e;
}

WorkerEvent ExitEvent(int64_t job, int attempt, int rank, int exit_code) {
  WorkerEvent e = EventOf(WorkerEventType::kExit, job, attempt, rank);
  e.exit_code = exit_code;
  return e;
}

nlohmann::json ToJson(const WorkerEvent& e) {
  nlohmann::json j = {
      {"type", ToString(e.type)}, {"job", e.job}, {"attempt", e.attempt}, {"rank", e.rank}};
  switch (e.type) {
    case WorkerEventType::kLog:
      j["lines"] = e.lines;
      break;
    case WorkerEventType::kProgress:
    case WorkerEventType::kAudit:
      j["data"] = e.data;
      break;
    case WorkerEventType::kExit:
      j["exitCode"] = e.exit_code;
      if (e.signal) j["signal"] = *e.signal;
      if (e.message) j["message"] = *e.message;
      if (e.cause) j["cause"] = *e.cause;
      if (e.result) j["result"] = *e.result;
      break;
  }
  if (e.fetched_bytes) j["fetchedBytes"] = *e.fetched_bytes;
  return j;
}

Result<WorkerEvent> WorkerEventFromJson(const nlohmann::json& ev) {
  // The checks and messages the scheduler has always applied (tests and workers rely on them).
  if (!ev.is_object() || !ev.contains("type") || !ev["type"].is_string() || !ev.contains("job") ||
      !ev["job"].is_number_integer() || !ev.contains("attempt") ||
      !ev["attempt"].is_number_integer() || !ev.contains("rank") ||
      !ev["rank"].is_number_integer()) {
    return InvalidArgument("each event needs string \"type\" and integer job, attempt, rank");
  }
  WorkerEvent e;
  e.job = ev["job"].get<int64_t>();
  e.attempt = ev["attempt"].get<int>();
  e.rank = ev["rank"].get<int>();
  const std::string type = ev["type"];
  if (type == "log") {
    e.type = WorkerEventType::kLog;
    if (!ev.contains("lines") || !ev["lines"].is_array() ||
        ev["lines"].size() > kMaxLogLinesPerEvent) {
      return InvalidArgument("log event needs \"lines\": an array of at most 10000 strings");
    }
    for (const auto& l : ev["lines"]) {
      if (!l.is_string()) return InvalidArgument("log lines must be strings");
      e.lines.push_back(l.get<std::string>());
    }
  } else if (type == "progress") {
    e.type = WorkerEventType::kProgress;
    if (!ev.contains("data") || !ev["data"].is_object()) {
      return InvalidArgument("progress event needs an object \"data\"");
    }
    e.data = ev["data"];
  } else if (type == "audit") {
    e.type = WorkerEventType::kAudit;
    if (!ev.contains("data") || !ev["data"].is_object()) {
      return InvalidArgument("audit event needs an object \"data\"");
    }
    e.data = ev["data"];
  } else if (type == "exit") {
    e.type = WorkerEventType::kExit;
    if (!ev.contains("exitCode") || !ev["exitCode"].is_number_integer()) {
      return InvalidArgument("exit event needs an integer \"exitCode\"");
    }
    if ((ev.contains("signal") && !ev["signal"].is_number_integer()) ||
        (ev.contains("message") && !ev["message"].is_string()) ||
        (ev.contains("cause") && !ev["cause"].is_string()) ||
        (ev.contains("result") && !ev["result"].is_object())) {
      return InvalidArgument(
          "exit event: \"signal\" must be an integer, \"message\" a string, \"result\" an "
          "object");
    }
    e.exit_code = ev["exitCode"].get<int>();
    if (ev.contains("signal")) e.signal = ev["signal"].get<int>();
    if (ev.contains("message")) e.message = ev["message"].get<std::string>();
    if (ev.contains("cause")) e.cause = ev["cause"].get<std::string>();
    if (ev.contains("result")) e.result = ev["result"];
  } else {
    return InvalidArgument("unknown event type \"" + type + "\" (log, progress, exit, audit)");
  }
  if (auto it = ev.find("fetchedBytes"); it != ev.end()) {
    if (!it->is_number_integer() || it->get<int64_t>() < 0) {
      return InvalidArgument("\"fetchedBytes\" must be a non-negative integer");
    }
    e.fetched_bytes = it->get<int64_t>();
  }
  return e;
}

Result<std::vector<WorkerEvent>> WorkerEventsFromJson(const nlohmann::json& events) {
  if (!events.is_array()) return InvalidArgument("\"events\" must be an array");
  std::vector<WorkerEvent> out;
  out.reserve(events.size());
  for (const auto& ev : events) {
    ASSIGN_OR_RETURN(WorkerEvent e, WorkerEventFromJson(ev));
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace shoal::wire

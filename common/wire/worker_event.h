// WorkerEvent: what a worker reports about its ranks, as the "events" array of
// POST /v1/workers/{id}/events (docs/api.md): log lines, progress, and a rank's exit.
//
// On the wire every event has a string "type" and integer "job", "attempt" and "rank", plus
//   log:      "lines": [string] (at most kMaxLogLinesPerEvent)
//   progress: "data": object (the trainer's progress report, passed through)
//   audit:    "data": object (an audit record or a checkpoint attestation the rank reported,
//             docs/audits.md; the scheduler judges its contents, so a malformed record is its
//             rank's silence, not a bad batch)
//   exit:     "exitCode": int, and optional "signal": int, "message": string, "cause": string
//             ("OutOfMemory"), "result": object (the trainer's result report)
// and, on any type, optional "fetchedBytes": int >= 0, the registry bytes the worker downloaded
// for the rank (the rest of its data came from the worker's chunk cache). Other keys are ignored.
// The parser is the scheduler's validation of a batch: its messages are what a worker sees in the
// 400 reply. Value types; the functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace shoal::wire {

// Most lines one log event may carry.
inline constexpr size_t kMaxLogLinesPerEvent = 10000;

enum class WorkerEventType { kLog, kProgress, kExit, kAudit };

// "log", "progress", "exit" or "audit".
const char* ToString(WorkerEventType type);

struct WorkerEvent {
  WorkerEventType type = WorkerEventType::kLog;
  int64_t job = 0;
  int attempt = 0;
  int rank = 0;
  // kLog: the rank's output lines, oldest first.
  std::vector<std::string> lines;
  // kProgress, kAudit: the report, a JSON object.
  nlohmann::json data = nlohmann::json::object();
  // kExit: a field left empty is not sent.
  int exit_code = 0;
  std::optional<int> signal;
  std::optional<std::string> message;
  std::optional<std::string> cause;
  std::optional<nlohmann::json> result;  // a JSON object
  // Any type: registry bytes downloaded for the rank (sent once its data is fetched).
  std::optional<int64_t> fetched_bytes;
  bool operator==(const WorkerEvent&) const = default;
};

// Events of each type for one rank, with only the fields that type carries set.
WorkerEvent LogEvent(int64_t job, int attempt, int rank, std::vector<std::string> lines);
WorkerEvent ProgressEvent(int64_t job, int attempt, int rank, nlohmann::json data);
WorkerEvent ExitEvent(int64_t job, int attempt, int rank, int exit_code);
WorkerEvent AuditEvent(int64_t job, int attempt, int rank, nlohmann::json data);

// The event as a worker sends it: the keys of its type, optional exit fields only when set.
nlohmann::json ToJson(const WorkerEvent& event);

// Reads one event. InvalidArgument, with the message a worker gets back, when it is not an
// object with string "type" and integer job, attempt and rank, when its type is unknown, or when
// the fields of its type are missing or mistyped.
Result<WorkerEvent> WorkerEventFromJson(const nlohmann::json& j);
// Reads a batch (the body's "events"): all of it, or the first error (InvalidArgument; also when
// `events` is not an array).
Result<std::vector<WorkerEvent>> WorkerEventsFromJson(const nlohmann::json& events);

}  // namespace shoal::wire

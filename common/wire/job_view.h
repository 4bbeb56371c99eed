// JobView: a job as the API shows it (docs/api.md): each element of GET /v1/jobs's "jobs", the
// reply to DELETE /v1/jobs/{id}, and with its detail GET /v1/jobs/{id}.
//
// On the wire (a JSON object; nlohmann::json sorts its keys):
//   always      id, name, project, owner, queue, priority, state, reason, submittedMs,
//               startedMs, finishedMs, workers {min, max}, attempts (how many), progress (rank
//               0's latest report, an object), result (the final metrics, an object)
//   sometimes   reasonMessage (when non-empty), estimatedStartMs (when set): the scheduler sets
//               them only while the job is PENDING or RESTARTING; worldSize and placement (the
//               current attempt's worker per rank) once the job has an attempt
//   detail      attemptHistory [AttemptView], spec (the parsed spec as JSON), events
//               [{timeMs, type, message}], eventsDropped (when > 0)
// GET /v1/jobs/{id} also carries "checkpoints", which the API adds beside the view.
//
// JobViewFromJson is for clients, and as tolerant as the CLI has always been: a missing or
// mistyped field reads as its default (below), so that an older or newer scheduler's reply is
// still shown. Value types; the functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "common/wire/assignment.h"  // Pin

namespace shoal::wire {

// One rank of an attempt: {rank, worker, state, exitCode?, signal?, message?, result?,
// fetchedBytes?}.
struct RankView {
  int rank = 0;
  std::string worker;            // the worker's id
  std::string state;             // assigned, running, stopping or exited
  std::optional<int> exit_code;  // sent for an exited rank (-1: lost with its worker)
  int signal = 0;                // the terminating signal; sent when non-zero
  std::string message;           // the last error line; sent when non-empty
  nlohmann::json result;         // the trainer's final report; sent when a non-empty value
  // Registry bytes the worker downloaded for the rank (its cache held the rest); sent once the
  // worker reported it.
  std::optional<int64_t> fetched_bytes;
  bool operator==(const RankView&) const = default;
};

// One attempt: {number, worldSize, state, startedMs, ranks, reason?, endedMs?}.
struct AttemptView {
  int number = 0;  // 1-based
  int world_size = 0;
  std::string state;   // running, succeeded, failed, cancelled, preempted or resized
  std::string reason;  // sent when non-empty
  int64_t started_ms = 0;
  int64_t ended_ms = 0;  // sent when non-zero
  std::vector<RankView> ranks;
  // The Young/Daly checkpoint interval this attempt was told (s; sent when non-zero), and the
  // write time of its last checkpoint as rank 0's worker reported it (s; sent when non-zero).
  int checkpoint_every_seconds = 0;
  double checkpoint_write_seconds = 0;
  bool operator==(const AttemptView&) const = default;
};

// One entry of the job's timeline: {timeMs, type, message}.
struct JobEventView {
  int64_t time_ms = 0;
  std::string type;
  std::string message;
  bool operator==(const JobEventView&) const = default;
};

// What became of a job's spec.output.model: {model: "models/ACCOUNT/NAME", published: VERSION
// (once published), error: why publishing failed (when it did)}.
struct OutputView {
  std::string model;
  std::string published;  // "" until published
  std::string error;      // "" unless publishing failed
  bool operator==(const OutputView&) const = default;
};

struct JobView {
  int64_t id = 0;
  std::string name;  // the spec's metadata.name
  std::string project;
  std::string owner;
  std::string queue;
  int priority = 0;
  std::string state;   // PENDING, RUNNING, RESTARTING, SUCCEEDED, FAILED or CANCELLED
  std::string reason;  // "" when none
  int64_t submitted_ms = 0;
  int64_t started_ms = 0;
  int64_t finished_ms = 0;
  int workers_min = 1;  // the gang size asked for
  int workers_max = 1;
  int attempts = 0;
  nlohmann::json progress = nlohmann::json::object();
  nlohmann::json result = nlohmann::json::object();
  std::string reason_message;                 // sent when non-empty
  std::optional<int64_t> estimated_start_ms;  // sent when set
  // The current attempt's size and its worker per rank; sent, both, when world_size is set.
  std::optional<int> world_size;
  std::vector<std::string> placement;
  // The detail (GET /v1/jobs/{id}); each sent when set.
  std::optional<std::vector<AttemptView>> attempt_history;
  std::optional<nlohmann::json> spec;
  std::optional<std::vector<JobEventView>> events;
  int64_t events_dropped = 0;  // sent when > 0
  // The registry versions the job reads, pinned at submission (sent when any).
  std::vector<Pin> pins;
  // The detail of a job whose spec names output.model (sent when set).
  std::optional<OutputView> output;
  bool operator==(const JobView&) const = default;
};

nlohmann::json ToJson(const RankView& r);
nlohmann::json ToJson(const AttemptView& a);
nlohmann::json ToJson(const JobView& v);

// Reads a job as a client. InvalidArgument only when `j` is not an object; otherwise every field
// is read tolerantly: a missing or mistyped one is its default above (a floating number is
// truncated), workers.max defaults to workers.min, a placement entry that is not a string reads
// "", attempts and ranks that are not objects read as all defaults, events that are not objects
// are skipped, progress/result that are not objects read {}. The optional fields are set when
// present with the right type; events is set whenever the key is present (a scheduler without
// a timeline says nothing rather than "no events").
Result<JobView> JobViewFromJson(const nlohmann::json& j);

}  // namespace shoal::wire

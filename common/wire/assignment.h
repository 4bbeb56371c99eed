// Assignment: one rank the scheduler asks a worker to run, as sent in the heartbeat reply's
// "assignments" array (POST /v1/workers/{id}/heartbeat, docs/api.md).
//
// On the wire: {"job": int, "attempt": int, "rank": int, "worldSize": int, "name": string,
// "spec": string}. The scheduler always sends every key; the agent needs job, attempt, rank and
// spec, and tolerates an assignment without worldSize (1) or name ("").
// Value types; the functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace shoal::wire {

struct Assignment {
  int64_t job = 0;
  int attempt = 0;
  int rank = 0;
  int world_size = 1;  // ranks in the attempt
  std::string name;    // the job's metadata.name (for people; the agent does not act on it)
  std::string spec;    // the job's spec text as submitted (YAML or JSON)
  bool operator==(const Assignment&) const = default;
};

// The assignment as the scheduler sends it, every key present.
nlohmann::json ToJson(const Assignment& a);

// Reads one assignment. InvalidArgument when `j` is not an object, job/attempt/rank are not
// integers or spec is not a string (all required), or worldSize/name are present with another
// type; a missing worldSize is 1 and a missing name "". Other keys are ignored.
Result<Assignment> AssignmentFromJson(const nlohmann::json& j);

}  // namespace shoal::wire

// Assignment: one rank the scheduler asks a worker to run, as sent in the heartbeat reply's
// "assignments" array (POST /v1/workers/{id}/heartbeat, docs/api.md).
//
// On the wire: {"job": int, "attempt": int, "rank": int, "worldSize": int, "name": string,
// "spec": string, "pins": [Pin...], "readCapability": string}. The scheduler always sends every
// key; the agent needs job, attempt, rank and spec, and tolerates an assignment without
// worldSize (1), name (""), pins ([]) or readCapability ("").
//
// A Pin is one registry version the spec names (shoal://..., common/registry/uri.h), as the
// scheduler resolved it when the job was submitted: {"kind": "datasets"|"models", "account",
// "name", "version", "digest": 64 hex digits of the manifest, "bytes": int, "trustedWorkers":
// [account...] (only when non-empty), "private": true (only when set)}. The spec's URIs are
// matched to pins by kind, account and name (a job pins one version of each artifact).
// readCapability is the attempt's read capability (docs/registry.md): the agent sends it as
// header X-Shoal-Capability when it reads those versions' manifests and chunks; it stops working
// when the attempt ends.
// Value types; the functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "common/wire/audit_report.h"

namespace shoal::wire {

struct Pin {
  std::string kind;  // "datasets" | "models"
  std::string account;
  std::string name;
  std::string version;  // the version name it resolved to
  std::string digest;   // the manifest's SHA-256 (64 hex digits)
  int64_t bytes = 0;    // the version's bytes (all files)
  // A private artifact's trustedWorkers when the job was submitted: only workers of these
  // accounts may run the job (empty = any). Sent as "trustedWorkers" when non-empty.
  std::vector<std::string> trusted_workers;
  // A private artifact: the worker keeps its plaintext only for the attempt (never in its shared
  // cache). Sent as "private": true when set.
  bool is_private = false;
  bool operator==(const Pin&) const = default;
};

nlohmann::json ToJson(const Pin& pin);
// InvalidArgument unless every key is present with its type and digest is 64 hex digits.
Result<Pin> PinFromJson(const nlohmann::json& j);

struct Assignment {
  int64_t job = 0;
  int attempt = 0;
  int rank = 0;
  int world_size = 1;  // ranks in the attempt
  std::string name;    // the job's metadata.name (for people; the agent does not act on it)
  std::string spec;    // the job's spec text as submitted (YAML or JSON)
  std::vector<Pin> pins;        // the registry versions the spec names
  std::string read_capability;  // "" when it names none
  // This rank's audit plan (docs/audits.md); none when the attempt is not audited.
  std::optional<AuditPlan> audit;
  // The checkpoint interval the scheduler chose for this attempt by Young/Daly (seconds; 0 = the
  // spec's checkpoint.everySeconds).
  int checkpoint_every_seconds = 0;
  bool operator==(const Assignment&) const = default;
};

inline constexpr int kMaxCheckpointEverySeconds = 7 * 86400;  // the spec's everySeconds bound

// The assignment as the scheduler sends it, every key present.
nlohmann::json ToJson(const Assignment& a);

// Reads one assignment. InvalidArgument when `j` is not an object, job/attempt/rank are not
// integers or spec is not a string (all required), or worldSize/name are present with another
// type, or checkpointEverySeconds is not an integer in 0..kMaxCheckpointEverySeconds; a missing
// worldSize is 1, a missing name "" and a missing checkpointEverySeconds 0. Other keys are
// ignored.
Result<Assignment> AssignmentFromJson(const nlohmann::json& j);

}  // namespace shoal::wire

// CheckpointStore: the training checkpoints the scheduler keeps for its jobs, so that they
// survive the loss of any worker (docs/design.md §2 steps 6-7).
//
// Job J's checkpoints live in <dir>/job-<J>/ as ckpt-<step>.safetensors plus a record
// ckpt-<step>.json {step, attempt, bytes, sha256, createdMs}; each file is written atomically
// (temporary, fsync, rename), the data before its record, so a crash leaves at most a data file
// without a record, which is ignored and replaced by the next upload of that step. Only the
// newest `keep` (by step) are kept.
//
// Thread-safety: none; the scheduler's event-loop thread owns it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace shoal {

struct CheckpointRecord {
  int64_t step = 0;
  int attempt = 0;     // the attempt whose rank 0 wrote it
  int64_t bytes = 0;
  std::string sha256;  // lower-case hex of the file
  int64_t created_ms = 0;
};
nlohmann::json ToJson(const CheckpointRecord& r);

class CheckpointStore {
 public:
  // Creates `dir` if needed. Unavailable if it cannot.
  static Result<std::unique_ptr<CheckpointStore>> Open(std::string dir);

  // Stores job `job`'s checkpoint at `step`, written by `attempt`. InvalidArgument (nothing
  // stored) if `sha256` is not the SHA-256 of `bytes` or `bytes` is not a valid safetensors file;
  // Unavailable on I/O errors. Storing a step again replaces it. Then prunes to the newest `keep`.
  Result<CheckpointRecord> Put(int64_t job, int attempt, int64_t step, std::string_view bytes,
                               std::string_view sha256, int keep, int64_t now_ms);

  // The job's checkpoints, oldest step first.
  std::vector<CheckpointRecord> List(int64_t job) const;
  // The newest one written by an attempt before `before_attempt` (0: by any attempt).
  std::optional<CheckpointRecord> Latest(int64_t job, int before_attempt = 0) const;
  // The bytes of a stored checkpoint, checked against its record's SHA-256 (corrupted when the
  // file no longer matches: Internal). NotFound if there is none at `step`.
  Result<std::string> Read(int64_t job, int64_t step) const;
  // Removes every checkpoint of the job.
  void RemoveJob(int64_t job);

 private:
  explicit CheckpointStore(std::string dir) : dir_(std::move(dir)) {}
  std::string JobDir(int64_t job) const;

  std::string dir_;
};

}  // namespace shoal

// CheckpointStore: the training checkpoints the scheduler keeps for its jobs, so that they
// survive the loss of any worker (docs/design.md §2 steps 6-7).
//
// Job J's checkpoints live in <dir>/job-<J>/ as ckpt-<step>.safetensors plus a record
// ckpt-<step>.json {step, attempt, bytes, sha256, createdMs, digest}; each file is written
// atomically (temporary, fsync, rename), the data before its record, so a crash leaves at most a
// data file without a record, which is ignored and replaced by the next upload of that step. Only
// the newest `keep` (by step) are kept, and for an audited job those the rollback rule may still
// need (CheckpointKeep).
//
// Thread-safety: Put, Read and RemoveJob write or read whole files and run on one thread (the
// API's checkpoint I/O thread), in order; the other methods may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
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
  // audit::StateDigest of the file: what the attempt's ranks attest (docs/audits.md
  // "Checkpoints"); "" in records stored before it was kept.
  std::string digest;
};
nlohmann::json ToJson(const CheckpointRecord& r);

// Which of a job's checkpoints survive an upload (audit::KeptCheckpoints): the newest `newest`,
// and the newest at or before each rollback point (an audited job's workers' last clean audits).
struct CheckpointKeep {
  CheckpointKeep(int newest_count = 1,
                 std::vector<int64_t> points = {})  // NOLINT: an int is a keep
      : newest(newest_count), rollback_points(std::move(points)) {}
  int newest;
  std::vector<int64_t> rollback_points;
};

class CheckpointStore {
 public:
  // Creates `dir` if needed and learns what it holds. Unavailable if it cannot.
  static Result<std::unique_ptr<CheckpointStore>> Open(std::string dir);

  // Stores job `job`'s checkpoint at `step`, written by `attempt`. InvalidArgument (nothing
  // stored) if `sha256` is not the SHA-256 of `bytes` or `bytes` is not a valid safetensors file;
  // Unavailable on I/O errors. Storing a step again replaces it. Then prunes to `keep`.
  Result<CheckpointRecord> Put(int64_t job, int attempt, int64_t step, std::string_view bytes,
                               std::string_view sha256, const CheckpointKeep& keep, int64_t now_ms);

  // Put for a body already on disk (an upload the HTTP server spooled into spool_dir()):
  // `actual_sha256` is the file's hash as computed on the way, `claimed_sha256` the uploader's.
  // The file is validated (mapped, not read into memory), made durable and moved into place; on
  // success *path is cleared (the store owns the file now), else the caller still owns it.
  Result<CheckpointRecord> PutFile(int64_t job, int attempt, int64_t step, std::string* path,
                                   int64_t bytes, std::string_view actual_sha256,
                                   std::string_view claimed_sha256, const CheckpointKeep& keep,
                                   int64_t now_ms);
  // Where uploads are spooled: on the same file system as the checkpoints (a rename moves them
  // into place). Emptied of crash leftovers by Open.
  std::string spool_dir() const { return dir_ + "/.spool"; }

  // The job's checkpoints, oldest step first.
  std::vector<CheckpointRecord> List(int64_t job) const;
  // The newest one written by an attempt before `before_attempt` (0: by any attempt).
  std::optional<CheckpointRecord> Latest(int64_t job, int before_attempt = 0) const;
  // The bytes of a stored checkpoint, checked against its record's SHA-256 (corrupted when the
  // file no longer matches: Internal). NotFound if there is none at `step`.
  Result<std::string> Read(int64_t job, int64_t step) const;
  // Removes every checkpoint of the job.
  void RemoveJob(int64_t job);

  // Bytes of the job's stored checkpoints (0 if none), and the jobs that have any, by id.
  int64_t JobBytes(int64_t job) const;
  std::map<int64_t, int64_t> BytesByJob() const;
  // What the job's checkpoints would take after storing `bytes` at `step` with `keep` (what the
  // quota checks before an upload).
  int64_t BytesAfterPut(int64_t job, int64_t step, int64_t bytes, const CheckpointKeep& keep) const;

 private:
  explicit CheckpointStore(std::string dir) : dir_(std::move(dir)) {}
  std::string JobDir(int64_t job) const;
  void Recount(int64_t job);  // bytes_[job] from its records
  // Writes the record of a stored data file, then prunes to `keep` and recounts.
  Result<CheckpointRecord> Record(int64_t job, const CheckpointRecord& r,
                                  const CheckpointKeep& keep);

  std::string dir_;
  mutable std::mutex mu_;
  std::map<int64_t, int64_t> bytes_;  // job -> bytes of its recorded checkpoints (> 0)
};

}  // namespace shoal

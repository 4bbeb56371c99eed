// CheckpointTransfer: moves checkpoints between a worker and the scheduler's checkpoint store
// (docs/api.md): the newest checkpoint of a job's earlier attempts down to the worker before a
// rank starts (verified against its SHA-256), and rank 0's new checkpoints up (with their
// SHA-256, retried while the scheduler is away). A rank's files live under the agent's work dir:
// <work_dir>/job-J/attempt-A/rank-R/.
//
// Thread-safe (the HttpClient is): the ranks' output readers upload, the agent's loop downloads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "common/http_client.h"
#include "common/status.h"
#include "common/wire/trainer_report.h"

namespace shoal {

class CheckpointTransfer {
 public:
  // Generous, since a 100M-parameter AdamW checkpoint is 1.2 GB.
  static constexpr std::chrono::minutes kTimeout{10};
  // The largest checkpoint the scheduler stores.
  static constexpr int64_t kMaxBytes = int64_t{16} << 30;

  // `client`, `work_dir` (read at each call: the agent settles it when it starts) and `stop`
  // must outlive the object.
  CheckpointTransfer(HttpClient& client, const std::string& work_dir, const std::atomic<bool>& stop)
      : client_(client), work_dir_(work_dir), stop_(stop) {}

  // The newest checkpoint of the job's attempts before `attempt`, downloaded (once per attempt:
  // another rank on this worker may have fetched it) into the attempt's directory and checked
  // against its SHA-256; "" when the job has none.
  Result<std::string> FetchResume(int64_t job, int attempt, int rank);

  // Uploads a checkpoint rank 0 reported, as `worker_id`. Only files in that rank's own
  // checkpoint directory (PermissionDenied otherwise: a report line is the trainer's output, and
  // nothing else on this machine may be sent on its word). Retries for up to a minute while the
  // scheduler is unreachable or restarting; a refusal is final.
  Status Upload(int64_t job, int attempt, int rank, const std::string& worker_id,
                const wire::CheckpointReport& report);

 private:
  HttpClient& client_;
  const std::string& work_dir_;
  const std::atomic<bool>& stop_;
};

}  // namespace shoal

// The checkpoint routes of the Api: list, download, upload (streamed to disk, within the
// account's quota) and delete, and the retention of ended jobs' checkpoints.
// Part of the Api class (scheduler/api/api.h); the files share api_internal.h.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <optional>
#include <utility>  // before Boost 1.74 awaitable.hpp, which uses std::exchange unincluded

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "common/log.h"
#include "common/memory_estimate.h"  // FormatBytes
#include "common/version.h"
#include "scheduler/api/api.h"
#include "scheduler/api/api_internal.h"
#include "scheduler/audit/rollback.h"

namespace shoal {

namespace asio = boost::asio;

namespace {
// The optional "seconds" of an upload: how long the trainer took to write it, for Young/Daly
// intervals. 0 when absent; false when present but not a number of seconds in [0, 86400].
bool WriteSeconds(const HttpRequest& req, double* out) {
  *out = 0;
  auto it = req.query.find("seconds");
  if (it == req.query.end()) return true;
  const std::string& v = it->second;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), *out);
  return ec == std::errc() && end == v.data() + v.size() && *out >= 0 && *out <= 86400;
}

// What an upload leaves of a job's checkpoints: its newest `checkpoint.keep`, and those the audits'
// rollback rule may still need (audit::KeptCheckpoints).
CheckpointKeep KeepOf(const Job& job) {
  return CheckpointKeep(job.spec.checkpoint.keep, audit::RollbackPoints(CleanAuditsByAttempt(job)));
}
}  // namespace
using nlohmann::json;
using api_internal::JsonReply;
using api_internal::MethodNotAllowed;
using api_internal::RequireJobOwner;
using api_internal::RequireWorkerOwner;
using api_internal::ToJson;
using api_internal::RunOn;

HttpReply Api::CheckCheckpointQuota(const Job& job, int64_t step, int64_t bytes) {
  const int64_t quota = scheduler_->options().quotas.checkpoint_quota_bytes;
  if (quota <= 0 || checkpoints_ == nullptr) return HttpReply{0, "", ""};
  int64_t used = 0;  // by the owner's other jobs
  for (const auto& [id, n] : checkpoints_->BytesByJob()) {
    const Job* other = scheduler_->FindJob(id);
    if (id != job.id && other != nullptr && other->owner == job.owner) used += n;
  }
  const int64_t after = used + checkpoints_->BytesAfterPut(job.id, step, bytes, KeepOf(job));
  if (after <= quota) return HttpReply{0, "", ""};
  const std::string why = "account " + job.owner + "'s checkpoints would take " +
                          FormatBytes(after) + ", over its quota of " + FormatBytes(quota) +
                          " (checkpointQuota); delete ended jobs' checkpoints (shoal checkpoints "
                          "rm JOB) or keep fewer (spec.checkpoint.keep)";
  scheduler_->RecordCheckpointRefused(job.id, why);
  return ErrorReply(507, "ResourceExhausted", why);
}

void Api::ExpireCheckpoints() {
  if (checkpoints_ == nullptr) return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_checkpoint_expiry_) return;
  next_checkpoint_expiry_ = now + std::chrono::minutes(1);
  std::vector<int64_t> expired;
  for (const auto& [id, bytes] : checkpoints_->BytesByJob()) {
    if (scheduler_->CheckpointsExpired(id)) expired.push_back(id);
  }
  if (expired.empty()) return;
  asio::post(checkpoint_io_, [store = checkpoints_, expired] {
    for (int64_t id : expired) store->RemoveJob(id);
    LOG_INFO << "deleted the checkpoints of " << expired.size()
             << " jobs past their retention (checkpointRetention)";
  });
}

// GET  /v1/jobs/{id}/checkpoints[?beforeAttempt=N]   the stored checkpoints (oldest first)
// GET  /v1/jobs/{id}/checkpoints/{step}              one checkpoint's bytes (safetensors)
// PUT  /v1/jobs/{id}/checkpoints/{step}?attempt=A&worker=W[&seconds=S]   rank 0's worker stores
//      one (S: how long the trainer took to write it);
//      header X-Shoal-Sha256 = SHA-256 of the body (verified before anything is stored)
asio::awaitable<HttpReply> Api::Checkpoints(const HttpRequest& req, const Job& job,
                                            const std::vector<std::string>& parts,
                                            const Principal& p) {
  if (checkpoints_ == nullptr) {
    co_return ErrorReply(503, "Unavailable", "this scheduler stores no checkpoints");
  }
  HttpReply checked = CheckCheckpointRequest(req, job, parts, p);
  if (checked.status != 0) co_return checked;
  const int64_t job_id = job.id;
  if (parts.size() == 4) {  // DELETE (checked above; the list was answered there)
    co_await RunOn(checkpoint_io_, [&] {
      checkpoints_->RemoveJob(job_id);
      return 0;
    });
    LOG_INFO << "job " << job_id << ": checkpoints deleted by " << p.account;
    co_return JsonReply(200, json{{"job", job_id}, {"checkpoints", json::array()}});
  }
  int64_t step = 0, attempt = 0;
  ParseInteger(parts[4], &step);
  // Reading, verifying and fsyncing a checkpoint takes seconds for a large model: on the
  // checkpoint I/O thread, so that heartbeats and submissions are answered meanwhile. That one
  // thread does every checkpoint read and write, in order.
  if (req.method == "GET") {
    auto bytes =
        co_await RunOn(checkpoint_io_, [&] { return checkpoints_->Read(job_id, step); });
    if (!bytes.ok()) co_return ErrorReply(bytes.status());
    co_return HttpReply{200, std::move(*bytes), "application/octet-stream"};
  }
  ParseInteger(req.query.at("attempt"), &attempt);
  // Allowed on this loop turn: the job's next attempt must not go ahead without this attempt's
  // ranks until the upload is stored or refused (Scheduler::CheckpointWriteBegan).
  struct WriteInFlight {
    Scheduler* scheduler;
    int64_t job;
    int attempt;
    ~WriteInFlight() { scheduler->CheckpointWriteEnded(job, attempt); }
  } in_flight{scheduler_, job_id, static_cast<int>(attempt)};
  scheduler_->CheckpointWriteBegan(job_id, static_cast<int>(attempt));
  const std::shared_ptr<SpooledBody> spooled = req.spooled;  // set by the daemon's body policy
  const int64_t size = spooled ? spooled->bytes : static_cast<int64_t>(req.body.size());
  if (HttpReply over = CheckCheckpointQuota(job, step, size); over.status != 0) co_return over;
  const std::string sha = req.headers.at("x-shoal-sha256");
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const CheckpointKeep keep = KeepOf(job);  // a value: the lambda runs on another thread
  auto stored = co_await RunOn(checkpoint_io_, [&] {
    if (spooled) {
      return checkpoints_->PutFile(job_id, static_cast<int>(attempt), step, &spooled->path,
                                   spooled->bytes, spooled->sha256, sha, keep, now_ms);
    }
    return checkpoints_->Put(job_id, static_cast<int>(attempt), step, req.body, sha, keep, now_ms);
  });
  if (!stored.ok()) co_return ErrorReply(stored.status());
  LOG_INFO << "job " << job_id << " attempt " << attempt << ": checkpoint at step " << step
           << " stored (" << stored->bytes << " bytes)";
  double write_seconds = 0;
  WriteSeconds(req, &write_seconds);  // checked before the upload was read
  scheduler_->RecordCheckpoint(job_id, static_cast<int>(attempt), step, stored->bytes,
                               write_seconds, stored->digest);
  co_return JsonReply(201, ToJson(*stored));
}

// Checks a checkpoint request on the event loop (parameters and who may do it); answers it when
// it needs no checkpoint I/O (the list). Returns status 0 when the caller should go on.
HttpReply Api::CheckCheckpointRequest(const HttpRequest& req, const Job& job,
                                      const std::vector<std::string>& parts,
                                      const Principal& p) {
  auto query_int = [&](const char* key, int64_t* out) {
    auto it = req.query.find(key);
    return it == req.query.end() || (ParseInteger(it->second, out) && *out >= 0);
  };
  if (req.method == "GET" && !(p.role == Role::kContributor &&
                               scheduler_->AccountRunsAttempt(p.account, job.id, 0))) {
    Status allowed = RequireJobOwner(p, job);  // else: the job's owner (to download the model)
    if (!allowed.ok()) return ErrorReply(allowed);
  }
  if (parts.size() == 4 && req.method == "DELETE") {
    // The owner frees the quota a job's checkpoints take, once the job has ended.
    Status allowed = RequireJobOwner(p, job);
    if (!allowed.ok()) return ErrorReply(allowed);
    if (!IsTerminal(job.state)) {
      return ErrorReply(409, "FailedPrecondition",
                        "job " + std::to_string(job.id) + " is " + ToString(job.state) +
                            ": its checkpoints can be deleted once it has ended");
    }
    return HttpReply{0, "", ""};  // deleted off the loop
  }
  if (parts.size() == 4) {
    if (req.method != "GET") return MethodNotAllowed(req);
    int64_t before = 0;
    if (!query_int("beforeAttempt", &before)) {
      return ErrorReply(400, "InvalidArgument", "beforeAttempt must be a non-negative integer",
                        "beforeAttempt");
    }
    json list = json::array();
    for (const auto& c : checkpoints_->List(job.id)) {
      // A resume skips what the rollback rule set aside (a cheater's possible influence) and, of
      // an audited attempt, what other accounts' ranks do not vouch for (docs/audits.md
      // "Checkpoints").
      const std::string trust = scheduler_->CheckpointTrustOf(job, c.attempt, c.step);
      if (before == 0 || (c.attempt < before && !RolledBack(job, c.attempt, c.step) &&
                          Scheduler::Trusted(trust))) {
        json j = ToJson(c);
        j["trust"] = trust;
        list.push_back(std::move(j));
      }
    }
    return JsonReply(200, json{{"job", job.id}, {"checkpoints", std::move(list)}});
  }
  int64_t step = 0;
  if (!ParseInteger(parts[4], &step) || step < 0) {
    return ErrorReply(400, "InvalidArgument", "step must be a non-negative integer", "step");
  }
  if (req.method == "GET") return HttpReply{0, "", ""};  // read off the loop
  if (req.method != "PUT") return MethodNotAllowed(req);
  // Who may write comes first: a refused caller learns nothing about its request's other faults.
  auto worker = req.query.find("worker");
  if (worker == req.query.end() || worker->second.empty()) {
    return ErrorReply(400, "InvalidArgument", "worker is required", "worker");
  }
  const Worker* writer = scheduler_->FindWorker(worker->second);
  if (writer == nullptr) return ErrorReply(404, "NotFound", "worker " + worker->second + " not found");
  Status allowed = RequireWorkerOwner(p, *writer);
  if (!allowed.ok()) return ErrorReply(allowed);
  int64_t attempt = 0;
  if (!query_int("attempt", &attempt) || attempt < 1 || attempt > (1 << 30)) {
    return ErrorReply(400, "InvalidArgument", "attempt must be a positive integer", "attempt");
  }
  allowed = scheduler_->CheckCheckpointWriter(job.id, static_cast<int>(attempt), worker->second);
  if (!allowed.ok()) return ErrorReply(allowed);
  if (double seconds = 0; !WriteSeconds(req, &seconds)) {
    return ErrorReply(400, "InvalidArgument", "seconds must be a number of seconds in 0..86400",
                      "seconds");
  }
  auto sha = req.headers.find("x-shoal-sha256");
  if (sha == req.headers.end() || sha->second.size() != 64) {
    return ErrorReply(400, "InvalidArgument", "header X-Shoal-Sha256 (64 hex digits) is required",
                      "X-Shoal-Sha256");
  }
  return HttpReply{0, "", ""};  // stored off the loop
}

}  // namespace shoal

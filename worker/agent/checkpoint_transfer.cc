#include "worker/agent/checkpoint_transfer.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/file_util.h"
#include "common/log.h"
#include "common/sha256.h"

namespace shoal {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {
// "&seconds=S": how long the trainer took to write it (the cost Young/Daly intervals balance), to
// the millisecond, with a decimal point whatever the locale (to_chars); nothing when it is not a
// sane time.
std::string WriteSecondsQuery(double seconds) {
  if (!(seconds > 0 && seconds < 86400)) return "";
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, seconds, std::chars_format::fixed, 3);
  if (ec != std::errc()) return "";
  return "&seconds=" + std::string(buf, end);
}
}  // namespace

Result<std::string> CheckpointTransfer::FetchResume(int64_t job_id, int attempt, int rank) {
  const std::string job = "/v1/jobs/" + std::to_string(job_id) + "/checkpoints";
  ASSIGN_OR_RETURN(json list,
                   client_.DoJson("GET", job + "?beforeAttempt=" + std::to_string(attempt)));
  if (!list.is_object() || !list.contains("checkpoints") || !list["checkpoints"].is_array()) {
    return Internal("malformed checkpoint list from the scheduler");
  }
  if (list["checkpoints"].empty()) return std::string();
  const json& latest = list["checkpoints"].back();
  const int64_t step = latest.value("step", int64_t{-1});
  const std::string sha = latest.value("sha256", "");
  const std::string path = work_dir_ + "/job-" + std::to_string(job_id) + "/attempt-" +
                           std::to_string(attempt) + "/resume-" + std::to_string(step) +
                           ".safetensors";
  // Another rank of this attempt on this worker may have fetched it already.
  if (auto have = ReadFileLimited(path, kMaxBytes); have.ok() && Sha256Hex(*have) == sha) {
    return path;
  }
  ASSIGN_OR_RETURN(HttpResponse r, client_.Do("GET", job + "/" + std::to_string(step), {},
                                              "application/json", kTimeout));
  if (r.status != 200) return StatusFromHttp(r);
  if (Sha256Hex(r.body) != sha) {
    return Unavailable("checkpoint " + std::to_string(step) + " of job " + std::to_string(job_id) +
                       " arrived corrupted (SHA-256 mismatch)");
  }
  RETURN_IF_ERROR(WriteFileAtomic(path, r.body));
  LOG_INFO << "job " << job_id << " attempt " << attempt << " rank " << rank
           << " resumes from checkpoint step " << step << " (" << r.body.size() << " bytes)";
  return path;
}

Status CheckpointTransfer::Upload(int64_t job_id, int attempt, int rank,
                                  const std::string& worker_id,
                                  const wire::CheckpointReport& report) {
  const std::string& path = report.path;
  const int64_t step = report.step;
  // Only files in this rank's own checkpoint directory: a report line is the trainer's output,
  // and nothing else on this machine may be sent to the scheduler on its word.
  const std::string own = work_dir_ + "/job-" + std::to_string(job_id) + "/attempt-" +
                          std::to_string(attempt) + "/rank-" + std::to_string(rank) +
                          "/checkpoints/";
  if (fs::path(path).lexically_normal().string().rfind(own, 0) != 0) {
    return PermissionDenied("checkpoint " + path + " is outside " + own);
  }
  ASSIGN_OR_RETURN(std::string bytes, ReadFileLimited(path, kMaxBytes));
  const std::string target = "/v1/jobs/" + std::to_string(job_id) + "/checkpoints/" +
                             std::to_string(step) + "?attempt=" + std::to_string(attempt) +
                             "&worker=" + UrlEncode(worker_id) + WriteSecondsQuery(report.seconds);
  const std::map<std::string, std::string> headers = {{"X-Shoal-Sha256", Sha256Hex(bytes)}};
  auto backoff = std::chrono::milliseconds(200);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  for (;;) {
    auto r = client_.Do("PUT", target, bytes, "application/octet-stream", kTimeout, headers);
    if (r.ok() && r->status / 100 == 2) return Status::Ok();
    Status st = r.ok() ? StatusFromHttp(*r) : r.status();
    // Refusals are final; only an unreachable or restarting scheduler is worth waiting for.
    const bool retry =
        st.code() == StatusCode::kUnavailable || st.code() == StatusCode::kDeadlineExceeded;
    if (!retry || stop_ || std::chrono::steady_clock::now() + backoff > give_up) return st;
    std::this_thread::sleep_for(backoff);
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

}  // namespace shoal

// shoal checkpoints ls JOB: the job's stored checkpoints (GET /v1/jobs/{id}/checkpoints).
// shoal checkpoints get JOB [STEP] [-O FILE]: downloads one (the newest by default) and checks
// its SHA-256 against the listing before writing the file.
// shoal checkpoints rm JOB: deletes an ended job's checkpoints (DELETE .../checkpoints).
#include <algorithm>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/json_get.h"
#include "common/file_util.h"
#include "common/sha256.h"

namespace shoal::cli {

namespace {

// The scheduler accepts checkpoints up to 16 GiB; a download gets as long as a large upload.
constexpr uint64_t kMaxCheckpointBytes = uint64_t{16} << 30;
constexpr std::chrono::minutes kDownloadTimeout{30};
constexpr size_t kShortSha = 12;

int List(const CommandContext& ctx, int64_t id, const json& reply) {
  if (ctx.json_output()) {
    ctx.PrintJson(reply);
    return kExitOk;
  }
  const json& list = GetArray(reply, "checkpoints");
  if (list.empty()) {
    ctx.err() << "Job " << id << " has no stored checkpoints.\n";
    return kExitOk;
  }
  Table table({"STEP", "ATTEMPT", "SIZE", "SHA256", "AGE"});
  const int64_t now = ctx.NowMs();
  for (const auto& c : list) {
    table.AddRow({std::to_string(GetInt(c, "step", 0)), std::to_string(GetInt(c, "attempt", 0)),
                  FormatBytes(GetInt(c, "bytes", 0)), GetString(c, "sha256").substr(0, kShortSha),
                  FormatAge(GetInt(c, "createdMs", 0), now)});
  }
  table.Render(ctx.out());
  return kExitOk;
}

int Get(const CommandContext& ctx, int64_t id, const json& reply) {
  const std::string ids = std::to_string(id);
  const json& list = GetArray(reply, "checkpoints");
  const auto& pos = ctx.args().positional;
  const json* chosen = nullptr;
  for (const auto& c : list) {
    if (pos.size() == 3) {
      if (std::to_string(GetInt(c, "step", -1)) == pos[2]) chosen = &c;
    } else if (chosen == nullptr || GetInt(c, "step", 0) > GetInt(*chosen, "step", 0)) {
      chosen = &c;
    }
  }
  if (chosen == nullptr) {
    ctx.err() << "shoal: job " << ids << " has no stored checkpoint"
              << (pos.size() == 3 ? " at step " + pos[2] : "") << " ('shoal checkpoints ls " << ids
              << "' lists them)\n";
    return kExitNotFound;
  }
  const int64_t step = GetInt(*chosen, "step", 0);
  const std::string steps = std::to_string(step);
  std::string file = ctx.args().output_file;
  if (file.empty()) {
    Result<json> job = ctx.Call("GET", JobPath(id));
    if (!job.ok()) return ctx.Fail(job.status(), "job " + ids + " not found");
    std::string name = GetString(*job, "name", "job-" + ids);
    // A name is a DNS label when the scheduler accepted it; never let one climb directories.
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') name = "job-" + ids;
    file = name + "-" + steps + ".safetensors";
  }
  Result<std::string> bytes =
      ctx.Download(JobPath(id) + "/checkpoints/" + steps, kMaxCheckpointBytes, kDownloadTimeout);
  if (!bytes.ok())
    return ctx.Fail(bytes.status(), "checkpoint " + steps + " of job " + ids + " not found");
  const std::string want = GetString(*chosen, "sha256");
  const std::string got = Sha256Hex(*bytes);
  if (!want.empty() && got != want) {
    ctx.err() << "shoal: checkpoint " << steps << " of job " << ids
              << " arrived corrupted: SHA-256 " << got << ", the listing says " << want
              << "; nothing was written\n";
    return kExitUnavailable;
  }
  Status written = WriteFileAtomic(file, *bytes);
  if (!written.ok()) {
    ctx.err() << "shoal: cannot write " << file << ": " << written.message() << "\n";
    return kExitUsage;
  }
  if (ctx.json_output()) {
    json out = *chosen;
    out["file"] = file;
    ctx.PrintJson(out);
  } else {
    ctx.out() << "wrote " << file << " (job " << ids << ", step " << steps << ", "
              << FormatBytes(static_cast<int64_t>(bytes->size()))
              << (want.empty() ? ")" : ", SHA-256 verified)") << "\n";
  }
  return kExitOk;
}

}  // namespace

int CmdCheckpoints(const CommandContext& ctx) {
  Result<int64_t> id = ctx.ResolveJob(ctx.args().job_refs.at(0));
  if (!id.ok()) return ctx.Fail(id.status());
  const std::string target = JobPath(*id) + "/checkpoints";
  if (ctx.args().sub == "rm") {
    Result<json> reply = ctx.Call("DELETE", target);
    if (!reply.ok()) return ctx.Fail(reply.status(), "job " + std::to_string(*id) + " not found");
    if (ctx.json_output()) {
      ctx.PrintJson(*reply);
    } else {
      ctx.out() << "deleted the checkpoints of job " << *id << "\n";
    }
    return kExitOk;
  }
  Result<json> reply = ctx.Call("GET", target);
  if (!reply.ok()) return ctx.Fail(reply.status(), "job " + std::to_string(*id) + " not found");
  if (!reply->contains("checkpoints") || !(*reply)["checkpoints"].is_array()) {
    return ctx.Fail(Internal("malformed reply to GET " + target + ": no \"checkpoints\" array"));
  }
  return ctx.args().sub == "ls" ? List(ctx, *id, *reply) : Get(ctx, *id, *reply);
}

}  // namespace shoal::cli

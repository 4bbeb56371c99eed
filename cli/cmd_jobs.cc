// shoal list and shoal cancel.
#include <algorithm>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/json_get.h"
#include "cli/progress.h"

namespace shoal::cli {

namespace {

// Finished jobs older than this are hidden from `list` unless --all (squeue shows live jobs).
constexpr int64_t kHideFinishedAfterMs = 3600 * 1000;
// REASON is cut to this width in the narrow table; -o wide shows it whole.
constexpr size_t kReasonWidth = 40;

// WORKERS: the ranks a running job has, else the gang size it asked for ("2" or "1..4").
std::string Workers(const json& job) {
  std::string state = GetString(job, "state");
  if (state == "RUNNING" && GetInt(job, "worldSize", 0) > 0) {
    return std::to_string(GetInt(job, "worldSize", 0));
  }
  const json& w = GetObject(job, "workers");
  int64_t lo = GetInt(w, "min", 1), hi = GetInt(w, "max", lo);
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}

// NODES: the distinct workers of the current attempt, in rank order.
std::string Nodes(const json& job) {
  std::vector<std::string> nodes;
  for (const auto& n : GetArray(job, "placement")) {
    if (!n.is_string()) continue;
    std::string id = n.get<std::string>();
    if (std::find(nodes.begin(), nodes.end(), id) == nodes.end()) nodes.push_back(id);
  }
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : ",") + n;
  return out;
}

}  // namespace

int CmdList(const CommandContext& ctx) {
  const CliArgs& args = ctx.args();
  std::string target = "/v1/jobs";
  if (!args.state.empty()) target += "?state=" + UrlEncode(args.state);
  Result<json> reply = ctx.Call("GET", target);
  if (!reply.ok()) return ctx.Fail(reply.status());
  if (!reply->contains("jobs") || !(*reply)["jobs"].is_array()) {
    return ctx.Fail(Internal("malformed reply to GET " + target + ": no \"jobs\" array"));
  }
  int64_t now = ctx.NowMs();
  // An explicit --state asks for those jobs whatever their age.
  bool hide_old = !args.all && args.state.empty();
  std::vector<json> jobs;
  int hidden = 0;
  for (const auto& job : (*reply)["jobs"]) {
    if (!job.is_object()) continue;
    int64_t finished = GetInt(job, "finishedMs", 0);
    if (hide_old && IsTerminalState(GetString(job, "state")) && finished > 0 &&
        now - finished > kHideFinishedAfterMs) {
      ++hidden;
      continue;
    }
    jobs.push_back(job);
  }
  std::stable_sort(jobs.begin(), jobs.end(), [](const json& a, const json& b) {
    return GetInt(a, "id", 0) < GetInt(b, "id", 0);
  });
  if (ctx.json_output()) {
    ctx.PrintJson(json{{"jobs", jobs}});
    return kExitOk;
  }
  if (jobs.empty()) {
    ctx.err() << "No jobs found";
    if (hidden > 0) {
      ctx.err() << " (" << hidden << " finished more than 1h ago; 'shoal list --all' shows them)";
    }
    ctx.err() << ".\n";
    return kExitOk;
  }
  bool wide = args.output == OutputFormat::kWide;
  Table table =
      wide ? Table({"ID", "NAME", "PROJECT", "OWNER", "STATE", "REASON", "WORKERS", "ATTEMPTS",
                    "AGE", "PROGRESS", "NODES"})
           : Table({"ID", "NAME", "OWNER", "STATE", "REASON", "WORKERS", "AGE", "PROGRESS"});
  for (const auto& job : jobs) {
    std::string id = std::to_string(GetInt(job, "id", 0));
    std::string reason = GetString(job, "reason");
    std::string age = FormatAge(GetInt(job, "submittedMs", 0), now);
    if (wide) {
      table.AddRow({id, GetString(job, "name"), GetString(job, "project"), GetString(job, "owner"),
                    GetString(job, "state"), reason, Workers(job),
                    std::to_string(GetInt(job, "attempts", 0)), age, FormatProgressSummary(job),
                    Nodes(job)});
    } else {
      table.AddRow({id, GetString(job, "name"), GetString(job, "owner"), GetString(job, "state"),
                    Truncate(reason, kReasonWidth), Workers(job), age, FormatProgressSummary(job)});
    }
  }
  table.Render(ctx.out());
  return kExitOk;
}

int CmdCancel(const CommandContext& ctx) {
  bool not_found = false, already_finished = false;
  for (int64_t id : ctx.args().job_ids) {
    std::string ids = std::to_string(id);
    Result<json> reply = ctx.Call("DELETE", JobPath(id));
    if (reply.ok()) {
      if (ctx.json_output()) {
        ctx.PrintJson(*reply);
      } else {
        ctx.out() << "cancelled job " << ids << "\n";
      }
      continue;
    }
    int code = ctx.Fail(reply.status(), "job " + ids + " not found");
    if (code == kExitNotFound) {
      not_found = true;
    } else if (code == kExitJobFailed) {
      already_finished = true;
    } else {
      return code;  // the scheduler is unreachable or broken: the other IDs would fail too
    }
  }
  if (not_found) return kExitNotFound;
  return already_finished ? kExitJobFailed : kExitOk;
}

}  // namespace shoal::cli

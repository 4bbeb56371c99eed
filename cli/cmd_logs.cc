// shoal logs ID [-f] [--rank R]: pages through GET /v1/jobs/{id}/logs, or long-polls it.
#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/json_get.h"

namespace shoal::cli {

namespace {

constexpr int kPageLines = 1000;
// The long poll holds the request this long when there is nothing new; the HTTP timeout must be
// comfortably longer so an idle wait is not mistaken for a dead scheduler.
constexpr int kFollowWaitMs = 10000;
constexpr std::chrono::milliseconds kFollowTimeout{25000};

}  // namespace

int CmdLogs(const CommandContext& ctx) {
  const CliArgs& args = ctx.args();
  const int64_t id = args.job_ids.at(0);
  const std::string not_found = "job " + std::to_string(id) + " not found";
  int64_t after = 0;
  int64_t last_attempt = 0;
  bool done = false;
  json collected = json::array();  // -o json without -f prints every line as one document
  for (;;) {
    std::string target = JobPath(id) + "/logs?after=" + std::to_string(after) +
                         "&limit=" + std::to_string(kPageLines);
    if (args.rank) target += "&rank=" + std::to_string(*args.rank);
    if (args.follow) target += "&wait=" + std::to_string(kFollowWaitMs);
    Result<json> reply =
        args.follow ? ctx.CallPatiently("GET", target, kFollowTimeout) : ctx.Call("GET", target);
    if (!reply.ok()) return ctx.Fail(reply.status(), not_found);
    if (!reply->contains("lines") || !(*reply)["lines"].is_array()) {
      return ctx.Fail(Internal("malformed reply to GET " + target + ": no \"lines\" array"));
    }
    const json& lines = (*reply)["lines"];
    for (const auto& l : lines) {
      if (ctx.json_output()) {
        if (args.follow) {
          ctx.out() << l.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
        } else {
          collected.push_back(l);
        }
        continue;
      }
      int64_t attempt = GetInt(l, "attempt", 0);
      if (last_attempt != 0 && attempt != last_attempt) {
        ctx.out() << "--- attempt " << attempt << " ---\n";
      }
      last_attempt = attempt;
      if (!args.rank) ctx.out() << "[rank " << GetInt(l, "rank", 0) << "] ";
      ctx.out() << GetString(l, "line") << "\n";
    }
    int64_t next = GetInt(*reply, "next", after);
    done = GetBool(*reply, "done");
    // A cursor that does not move would make this loop forever.
    if (!lines.empty() && next <= after) {
      return ctx.Fail(Internal("malformed reply to GET " + target + ": \"next\" did not advance"));
    }
    after = next;
    if (args.follow) ctx.out().flush();
    if (done || (!args.follow && lines.empty())) break;
  }
  if (ctx.json_output() && !args.follow) {
    ctx.PrintJson(json{{"lines", collected}, {"next", after}, {"done", done}});
  }
  return kExitOk;
}

}  // namespace shoal::cli

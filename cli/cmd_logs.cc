// shoal logs JOB [-f] [--rank R] [--tail N] [--since D] [--timestamps]: pages through
// GET /v1/jobs/{id}/logs, or long-polls it.
#include <utility>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/i18n.h"
#include "cli/json_get.h"
#include "cli/progress.h"
#include "common/wire/job_view.h"

namespace shoal::cli {

namespace {

constexpr int kPageLines = 1000;
// The long poll holds the request this long when there is nothing new; the HTTP timeout must be
// comfortably longer so an idle wait is not mistaken for a dead scheduler.
constexpr int kFollowWaitMs = 10000;
constexpr std::chrono::milliseconds kFollowTimeout{25000};

// A log without lines: says on stderr why, from the job's state, and returns the job's exit code
// (1 when it failed or was cancelled, e.g. before it ever started; else 0).
int ExplainEmptyLog(const CommandContext& ctx, int64_t id, const std::string& not_found) {
  Result<json> reply = ctx.Call("GET", JobPath(id));
  if (!reply.ok()) return ctx.Fail(reply.status(), not_found);
  Result<wire::JobView> parsed = wire::JobViewFromJson(*reply);
  const wire::JobView job = parsed.ok() ? *std::move(parsed) : wire::JobView{};
  const std::string& state = job.state;
  const std::string reason = ReasonText(job);
  const std::string why = reason.empty() ? "" : " (" + reason + ")";
  const std::string ids = std::to_string(id);
  if (state == "FAILED" || state == "CANCELLED") {
    bool started = job.started_ms > 0;
    ctx.err() << "shoal: "
              << (started ? TrFormat("no log lines: job {0} {1}{2}", {ids, state, why})
                          : TrFormat("no log lines: job {0} {1} before it started{2}",
                                     {ids, state, why}))
              << "\n";
    return kExitJobFailed;
  }
  if (state == "SUCCEEDED") {
    ctx.err() << "shoal: " << TrFormat("job {0} SUCCEEDED without writing a log line", {ids})
              << "\n";
    return kExitOk;
  }
  ctx.err() << "shoal: "
            << TrFormat("no log lines yet: job {0} is {1}{2}",
                        {ids, state.empty() ? "?" : state, why})
            << "\n";
  return kExitOk;
}

}  // namespace

int CmdLogs(const CommandContext& ctx) {
  const CliArgs& args = ctx.args();
  Result<int64_t> resolved = ctx.ResolveJob(args.job_refs.at(0));
  if (!resolved.ok()) return ctx.Fail(resolved.status());
  const int64_t id = *resolved;
  const std::string not_found = TrFormat("job {0} not found", {std::to_string(id)});
  int64_t after = 0;
  int64_t last_attempt = 0;
  bool done = false;
  int64_t received = 0;  // lines the scheduler sent, before --since filters them
  bool first = true;
  // --since: lines older than this (Unix ms) are skipped.
  const int64_t since_ms = args.since_s ? ctx.NowMs() - *args.since_s * 1000 : 0;
  json collected = json::array();  // -o json without -f prints every line as one document
  for (;;) {
    // --tail: the first request asks for the last N lines; the rest continue from its cursor.
    const bool tail_request = args.tail.has_value() && first;
    std::string target = JobPath(id) + "/logs?";
    if (tail_request) {
      target += "tail=" + std::to_string(*args.tail);
    } else {
      target += "after=" + std::to_string(after) + "&limit=" + std::to_string(kPageLines);
    }
    if (args.rank) target += "&rank=" + std::to_string(*args.rank);
    if (args.follow && !tail_request) target += "&wait=" + std::to_string(kFollowWaitMs);
    first = false;
    Result<json> reply =
        args.follow ? ctx.CallPatiently("GET", target, kFollowTimeout) : ctx.Call("GET", target);
    if (!reply.ok()) return ctx.Fail(reply.status(), not_found);
    if (!reply->contains("lines") || !(*reply)["lines"].is_array()) {
      return ctx.Fail(Internal("malformed reply to GET " + target + ": no \"lines\" array"));
    }
    const json& lines = (*reply)["lines"];
    received += static_cast<int64_t>(lines.size());
    for (const auto& l : lines) {
      if (args.since_s && GetInt(l, "tsMs", 0) < since_ms) continue;
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
        ctx.out() << "--- " << TrFormat("attempt {0}", {std::to_string(attempt)}) << " ---\n";
      }
      last_attempt = attempt;
      if (args.timestamps) ctx.out() << FormatRfc3339(GetInt(l, "tsMs", 0)) << " ";
      // Rank -1: a line the scheduler wrote (e.g. that older lines were dropped).
      if (GetInt(l, "rank", 0) < 0) {
        ctx.out() << "[shoal] ";
      } else if (!args.rank) {
        ctx.out() << "[rank " << GetInt(l, "rank", 0) << "] ";
      }
      ctx.out() << GetString(l, "line") << "\n";
    }
    int64_t next = GetInt(*reply, "next", after);
    done = GetBool(*reply, "done");
    // A cursor that does not move would make this loop forever.
    if (!lines.empty() && next <= after && !tail_request) {
      return ctx.Fail(Internal("malformed reply to GET " + target + ": \"next\" did not advance"));
    }
    after = next;
    if (args.follow) ctx.out().flush();
    if (done || (!args.follow && lines.empty())) break;
  }
  if (ctx.json_output() && !args.follow) {
    ctx.PrintJson(json{{"lines", collected}, {"next", after}, {"done", done}});
  }
  if (received == 0) return ExplainEmptyLog(ctx, id, not_found);
  return kExitOk;
}

}  // namespace shoal::cli

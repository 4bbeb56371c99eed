// shoal list [--watch] and shoal cancel [--all].
#include <algorithm>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/i18n.h"
#include "cli/json_get.h"
#include "cli/progress.h"
#include "common/wire/job_view.h"

namespace shoal::cli {

namespace {

// Finished jobs older than this are hidden from `list` unless --all (squeue shows live jobs).
constexpr int64_t kHideFinishedAfterMs = 3600 * 1000;
// REASON is cut to this width in the narrow table; -o wide shows it whole.
constexpr size_t kReasonWidth = 40;

// WORKERS: the ranks a running job has, else the gang size it asked for ("2" or "1..4").
std::string Workers(const wire::JobView& job) {
  if (job.state == "RUNNING" && job.world_size.value_or(0) > 0) {
    return std::to_string(*job.world_size);
  }
  const int lo = job.workers_min, hi = job.workers_max;
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}

// NODES: the distinct workers of the current attempt, in rank order.
std::string Nodes(const wire::JobView& job) {
  std::vector<std::string> nodes;
  for (const std::string& id : job.placement) {
    if (id.empty()) continue;  // not a worker id
    if (std::find(nodes.begin(), nodes.end(), id) == nodes.end()) nodes.push_back(id);
  }
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : ",") + n;
  return out;
}

// A job of the list: the reply's JSON (what -o json prints, unknown keys and all) and its view.
struct ListedJob {
  json raw;
  wire::JobView view;
};

}  // namespace

namespace {

// One round of `list`: fetches the jobs and writes the table (or JSON) to `out`, notes to `err`.
// Returns the exit code.
int ListOnce(const CommandContext& ctx, std::ostream& out, std::ostream& err) {
  const CliArgs& args = ctx.args();
  std::string query;
  auto add = [&query](const char* key, const std::string& value) {
    if (!value.empty())
      query += (query.empty() ? "?" : "&") + std::string(key) + "=" + UrlEncode(value);
  };
  add("state", args.state);
  add("owner", args.owner);
  add("name", args.name);
  const std::string target = "/v1/jobs" + query;
  Result<json> reply = ctx.Call("GET", target);
  if (!reply.ok()) return ctx.Fail(reply.status());
  if (!reply->contains("jobs") || !(*reply)["jobs"].is_array()) {
    return ctx.Fail(Internal("malformed reply to GET " + target + ": no \"jobs\" array"));
  }
  int64_t now = ctx.NowMs();
  // An explicit --state or --name asks for those jobs whatever their age.
  bool hide_old = !args.all && args.state.empty() && args.name.empty();
  std::vector<ListedJob> jobs;
  int hidden = 0;
  for (const auto& job : (*reply)["jobs"]) {
    Result<wire::JobView> view = wire::JobViewFromJson(job);
    if (!view.ok()) continue;
    const int64_t finished = view->finished_ms;
    if (hide_old && IsTerminalState(view->state) && finished > 0 &&
        now - finished > kHideFinishedAfterMs) {
      ++hidden;
      continue;
    }
    jobs.push_back({job, *std::move(view)});
  }
  std::stable_sort(jobs.begin(), jobs.end(),
                   [](const ListedJob& a, const ListedJob& b) { return a.view.id < b.view.id; });
  if (ctx.json_output()) {
    json raw = json::array();
    for (const auto& job : jobs) raw.push_back(job.raw);
    out << json{{"jobs", raw}}.dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    return kExitOk;
  }
  if (jobs.empty()) {
    if (hidden > 0) {
      err << TrPlural("No jobs found ({0} finished more than 1h ago; 'shoal list --all' shows it).",
                      "No jobs found ({0} finished more than 1h ago; 'shoal list --all' shows "
                      "them).",
                      hidden)
          << "\n";
    } else {
      err << Tr("No jobs found.") << "\n";
    }
    return kExitOk;
  }
  bool wide = args.output == OutputFormat::kWide;
  Table table = wide ? Table({Tr("ID"), Tr("NAME"), Tr("PROJECT"), Tr("OWNER"), Tr("STATE"),
                              Tr("REASON"), Tr("WORKERS"), Tr("ATTEMPTS"), Tr("AGE"), Tr("START"),
                              Tr("PROGRESS"), Tr("NODES")})
                     : Table({Tr("ID"), Tr("NAME"), Tr("OWNER"), Tr("STATE"), Tr("REASON"),
                              Tr("WORKERS"), Tr("AGE"), Tr("PROGRESS")});
  for (const auto& [raw, job] : jobs) {
    std::string id = std::to_string(job.id);
    std::string age = FormatAge(job.submitted_ms, now);
    if (wide) {
      // Wide shows the reason whole, with the scheduler's explanation, and a pending job's
      // estimated start.
      std::string start = job.state == "PENDING" ? FormatEstimatedStart(job, now) : "";
      table.AddRow({id, job.name, job.project, job.owner, job.state, ReasonText(job), Workers(job),
                    std::to_string(job.attempts), age, start, FormatProgressSummary(job),
                    Nodes(job)});
    } else {
      table.AddRow({id, job.name, job.owner, job.state, Truncate(job.reason, kReasonWidth),
                    Workers(job), age, FormatProgressSummary(job)});
    }
  }
  table.Render(out);
  return kExitOk;
}

}  // namespace

int CmdList(const CommandContext& ctx) {
  if (!ctx.args().watch) return ListOnce(ctx, ctx.out(), ctx.err());
  // --watch: redraw until Ctrl-C (the default SIGINT action ends the process). On a terminal the
  // screen is cleared and redrawn in place; elsewhere each round is printed after a blank line.
  const bool tty = ctx.env().stdout_is_tty;
  for (int round = 0; ctx.env().watch_rounds == 0 || round < ctx.env().watch_rounds; ++round) {
    if (round > 0) std::this_thread::sleep_for(ctx.env().watch_interval);
    std::ostringstream table, notes;
    int code = ListOnce(ctx, table, notes);
    if (code == kExitUnavailable || code == kExitNotFound || code == kExitUsage) {
      ctx.err() << notes.str();
      return code;
    }
    std::string heading =
        TrFormat("Every {0}: shoal list    {1}",
                 {FormatDuration(ctx.env().watch_interval.count()), FormatTimestamp(ctx.NowMs())});
    if (tty) {
      ctx.out() << "\x1b[H\x1b[2J" << heading << "\n\n" << table.str() << notes.str();
    } else {
      ctx.out() << (round > 0 ? "\n" : "") << heading << "\n" << table.str() << notes.str();
    }
    ctx.out() << std::flush;
  }
  return kExitOk;
}

namespace {

// The IDs `cancel --all` acts on: the caller's visible jobs that have not finished, narrowed by
// --state. Returns the error's exit code, or -1 on success.
int JobsToCancel(const CommandContext& ctx, std::vector<int64_t>* ids) {
  std::string target = "/v1/jobs";
  if (!ctx.args().state.empty()) target += "?state=" + UrlEncode(ctx.args().state);
  Result<json> reply = ctx.Call("GET", target);
  if (!reply.ok()) return ctx.Fail(reply.status());
  for (const auto& item : GetArray(*reply, "jobs")) {
    Result<wire::JobView> job = wire::JobViewFromJson(item);
    if (!job.ok()) continue;
    if (IsTerminalState(job->state)) continue;
    if (!ctx.args().state.empty() && job->state != ctx.args().state) continue;
    if (job->id > 0) ids->push_back(job->id);
  }
  std::sort(ids->begin(), ids->end());
  return -1;
}

// Asks "cancel N jobs? [y/N]" on a terminal; true when the answer starts with y.
bool Confirm(const CommandContext& ctx, size_t n) {
  ctx.err() << TrPlural("cancel {0} job? [y/N] ", "cancel {0} jobs? [y/N] ",
                        static_cast<int64_t>(n))
            << std::flush;
  std::string answer;
  if (ctx.env().in == nullptr || !std::getline(*ctx.env().in, answer)) return false;
  return !answer.empty() && (answer[0] == 'y' || answer[0] == 'Y');
}

}  // namespace

int CmdCancel(const CommandContext& ctx) {
  std::vector<int64_t> ids;
  if (ctx.args().all) {
    if (int code = JobsToCancel(ctx, &ids); code >= 0) return code;
    if (ids.empty()) {
      ctx.err() << Tr("No jobs to cancel.") << "\n";
      return kExitOk;
    }
    if (!ctx.args().yes) {
      if (!ctx.env().stdin_is_tty) {
        ctx.err() << "shoal: "
                  << TrPlural(
                         "'cancel --all' would cancel {0} job; confirm with --yes (stdin is "
                         "not a terminal to ask on)",
                         "'cancel --all' would cancel {0} jobs; confirm with --yes (stdin is "
                         "not a terminal to ask on)",
                         static_cast<int64_t>(ids.size()))
                  << "\n";
        return kExitUsage;
      }
      if (!Confirm(ctx, ids.size())) {
        ctx.err() << Tr("nothing cancelled") << "\n";
        return kExitOk;
      }
    }
  } else {
    for (const std::string& ref : ctx.args().job_refs) {
      Result<int64_t> id = ctx.ResolveJob(ref);
      if (!id.ok()) return ctx.Fail(id.status());
      ids.push_back(*id);
    }
  }
  bool not_found = false, already_finished = false;
  for (int64_t id : ids) {
    std::string id_text = std::to_string(id);
    Result<json> reply = ctx.Call("DELETE", JobPath(id));
    if (reply.ok()) {
      if (ctx.json_output()) {
        ctx.PrintJson(*reply);
      } else {
        ctx.out() << TrFormat("cancelled job {0}", {id_text}) << "\n";
      }
      continue;
    }
    int code = ctx.Fail(reply.status(), TrFormat("job {0} not found", {id_text}));
    if (code == kExitNotFound) {
      not_found = true;
    } else if (code == kExitJobFailed) {
      // --all picked jobs that had not finished; one that finished since is not a failure.
      already_finished = already_finished || !ctx.args().all;
    } else {
      return code;  // the scheduler is unreachable or broken: the other IDs would fail too
    }
  }
  if (not_found) return kExitNotFound;
  return already_finished ? kExitJobFailed : kExitOk;
}

}  // namespace shoal::cli

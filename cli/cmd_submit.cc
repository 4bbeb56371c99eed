// shoal submit FILE [--follow|--wait|--dry-run]: local validation, the POST (or, with --dry-run,
// the memory estimate instead), and waiting on the job.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "cli/commands.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/i18n.h"
#include "cli/interrupt.h"
#include "cli/json_get.h"
#include "cli/progress.h"
#include "common/memory_estimate.h"
#include "common/spec/job_spec.h"
#include "common/wire/job_view.h"

namespace shoal::cli {

namespace {

// The ' --scheduler URL' to repeat in the printed next-step commands, so they can be pasted as
// they are when the address came from the command line.
std::string SchedulerFlag(const CommandContext& ctx) {
  return ctx.args().scheduler.empty() ? "" : " --scheduler " + ctx.args().scheduler;
}

// Redraws (TTY) or appends (pipe, file) the live progress line of --follow.
class LiveLine {
 public:
  explicit LiveLine(const CommandContext& ctx) : ctx_(ctx) {}

  void Show(const wire::JobView& job, int64_t now_ms) {
    std::string line = FormatLiveLine(job, now_ms);
    if (ctx_.env().stdout_is_tty) {
      int cols = ctx_.env().terminal_columns;
      // One column short of the width: writing the last column makes some terminals wrap.
      if (cols > 1) line = Truncate(line, static_cast<size_t>(cols - 1));
      ctx_.out() << "\r" << line << "\x1b[K" << std::flush;
      shown_ = true;
      return;
    }
    // In a log file a line per poll would drown the epoch lines: print only when the job has
    // moved on (state, reason, epoch or step), and at most once a second.
    const json& p = job.progress;
    std::string key = job.state + "|" + ReasonText(job) + "|" +
                      std::to_string(GetInt(p, "epoch", -1)) + "|" +
                      std::to_string(GetInt(p, "step", -1));
    if (key == last_key_ || now_ms - last_print_ms_ < 1000) return;
    ctx_.out() << line << "\n" << std::flush;
    last_key_ = key;
    last_print_ms_ = now_ms;
  }

  // Prints a line that stays, above the live line.
  void Permanent(const std::string& text) {
    Clear();
    ctx_.out() << text << "\n" << std::flush;
  }

  // Erases the live line on a TTY so the next output starts on a clean line.
  void Clear() {
    if (!shown_) return;
    ctx_.out() << "\r\x1b[K" << std::flush;
    shown_ = false;
  }

 private:
  const CommandContext& ctx_;
  bool shown_ = false;
  std::string last_key_;
  int64_t last_print_ms_ = 0;
};

// submit --dry-run: the spec is valid; what one rank of it needs, as the scheduler estimates it
// when it places ranks (common/memory_estimate.h). Nothing is sent.
int PrintDryRun(const CommandContext& ctx, const std::string& path, const JobSpec& spec) {
  const RankMemoryEstimate e = EstimateRankMemory(spec);
  if (ctx.json_output()) {
    ctx.PrintJson(json{{"valid", true},
                       {"name", spec.metadata.name},
                       {"memoryPerRank",
                        {{"bytes", RankMemoryNeed(spec)},
                         {"parameters", e.parameters},
                         {"modelStateBytes", e.model_state_bytes},
                         {"snapshotBytes", e.snapshot_bytes},
                         {"activationBytes", e.activation_bytes},
                         {"overheadBytes", e.overhead_bytes},
                         {"hostBytes", e.host_bytes},
                         {"deviceBytes", e.device_bytes}}}});
    return kExitOk;
  }
  ctx.out() << TrFormat("{0}: valid; nothing was submitted (--dry-run)", {path}) << "\n"
            << FormatRankMemory(e, spec.resources.backend) << "\n";
  return kExitOk;
}

}  // namespace

int WaitForJob(const CommandContext& ctx, int64_t id, bool follow) {
  const std::string ids = std::to_string(id);
  if (ctx.env().handle_interrupt) {
    ExitOnInterrupt(std::string(follow && ctx.env().stdout_is_tty ? "\n" : "") + "shoal: " +
                    TrFormat("stopped waiting; job {0} keeps running (shoal status {0}, shoal "
                             "cancel {0})",
                             {ids}) +
                    "\n");
  }
  LiveLine live(ctx);
  std::string last_epoch;
  json job;  // the reply as it came, for -o json
  wire::JobView view;
  for (;;) {
    Result<json> reply = ctx.CallPatiently("GET", JobPath(id));
    if (!reply.ok()) {
      live.Clear();
      return ctx.Fail(reply.status(), TrFormat("job {0} not found", {ids}));
    }
    job = std::move(reply).value();
    Result<wire::JobView> parsed = wire::JobViewFromJson(job);
    view = parsed.ok() ? *std::move(parsed) : wire::JobView{};
    const std::string& state = view.state;
    if (state.empty()) {
      live.Clear();
      return ctx.Fail(Internal("malformed reply to GET " + JobPath(id) + ": no job state"));
    }
    if (follow) {
      const json& p = view.progress;
      std::string epoch_line = FormatEpochLine(p);
      std::string epoch_key =
          std::to_string(GetInt(p, "attempt", 0)) + "/" + std::to_string(GetInt(p, "epoch", 0));
      if (!epoch_line.empty() && epoch_key != last_epoch) {
        live.Permanent(epoch_line);
        last_epoch = epoch_key;
      }
      if (!IsTerminalState(state)) live.Show(view, ctx.NowMs());
    }
    if (IsTerminalState(state)) break;
    std::this_thread::sleep_for(ctx.env().poll_interval);
  }
  live.Clear();
  if (ctx.json_output()) {
    ctx.PrintJson(job);
  } else {
    ctx.out() << FormatFinalLine(view) << "\n";
  }
  return view.state == "SUCCEEDED" ? kExitOk : kExitJobFailed;
}

int CmdSubmit(const CommandContext& ctx) {
  const std::string& path = ctx.args().positional.at(0);
  // Validate before any network access: a typo must never reach the queue, and the user gets
  // every error at once, with positions, even when the scheduler is down.
  std::vector<SpecError> errors;
  Result<JobSpec> spec = LoadJobSpecFile(path, &errors);
  if (!spec.ok()) {
    if (errors.empty()) {
      ctx.err() << "shoal: " << spec.status().message() << "\n";
    } else {
      for (const auto& e : errors) ctx.err() << e.ToString() << "\n";
      ctx.err() << "shoal: "
                << TrPlural("{1}: {0} error; nothing was submitted",
                            "{1}: {0} errors; nothing was submitted",
                            static_cast<int64_t>(errors.size()), {path})
                << "\n";
    }
    return kExitUsage;
  }
  if (ctx.args().dry_run) return PrintDryRun(ctx, path, *spec);
  // Send the text as written (comments and all): the scheduler keeps it as the job's record.
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) {
    ctx.err() << "shoal: " << TrFormat("cannot read {0}", {path}) << "\n";
    return kExitUsage;
  }
  // An idempotency key makes the POST safe to repeat: if the scheduler stored the job but the
  // reply was lost (a crash, a dropped connection), the retry gets that job, not a second one.
  std::random_device rd;
  char key[40];
  std::snprintf(key, sizeof(key), "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  const std::map<std::string, std::string> headers = {{"Idempotency-Key", key}};
  const auto give_up = std::chrono::steady_clock::now() + ctx.env().submit_retry;
  Result<json> reply = Internal("not sent");
  for (bool warned = false;;) {
    reply = ctx.Call("POST", "/v1/jobs", text.str(), "application/yaml",
                     std::chrono::milliseconds(0), headers);
    const StatusCode code = reply.status().code();
    const bool transient =
        code == StatusCode::kUnavailable || code == StatusCode::kDeadlineExceeded;
    if (!transient || std::chrono::steady_clock::now() >= give_up) break;
    if (!warned) {
      ctx.err() << "shoal: "
                << TrFormat("lost contact with the scheduler ({0}); retrying the submission...",
                            {reply.status().message()})
                << std::endl;
      warned = true;
    }
    std::this_thread::sleep_for(ctx.env().poll_interval);
  }
  if (!reply.ok()) {
    if (reply.status().code() == StatusCode::kInvalidArgument) {
      ctx.err() << "shoal: "
                << TrFormat("the scheduler rejected {0}: {1}", {path, reply.status().message()})
                << "\n";
      return kExitUsage;
    }
    return ctx.Fail(reply.status());
  }
  int64_t id = GetInt(*reply, "id", 0);
  if (id <= 0) return ctx.Fail(Internal("malformed reply to POST /v1/jobs: no job id"));
  bool waiting = ctx.args().follow || ctx.args().wait;
  // The scheduler accepted the job but sees a problem (e.g. no registered workers could ever
  // hold the gang): stderr, so that stdout stays the job ID and -o json stays one document.
  for (const auto& w : GetArray(*reply, "warnings")) {
    if (w.is_string()) {
      ctx.err() << "shoal: " << TrFormat("warning: {0}", {w.get<std::string>()}) << "\n";
    }
  }
  if (ctx.json_output()) {
    // With --wait the finished job is the one JSON document printed.
    if (!waiting) ctx.PrintJson(*reply);
  } else {
    std::string name = GetString(*reply, "name", spec->metadata.name);
    ctx.out() << TrFormat("submitted job {0} ({1})", {std::to_string(id), name}) << "\n";
    if (!waiting) {
      std::string ids = std::to_string(id), flag = SchedulerFlag(ctx);
      ctx.out() << "  shoal status " << ids << flag << "     # " << Tr("state, progress and result")
                << "\n"
                << "  shoal logs " << ids << " -f" << flag << "    # "
                << Tr("follow the training log") << "\n"
                << "  shoal cancel " << ids << flag << "     # " << Tr("stop it") << "\n";
    }
    ctx.out() << std::flush;
  }
  if (!waiting) return kExitOk;
  // -o json keeps stdout one JSON document, so progress lines are left out.
  return WaitForJob(ctx, id, ctx.args().follow && !ctx.json_output());
}

}  // namespace shoal::cli

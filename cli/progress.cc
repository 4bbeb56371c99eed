#include "cli/progress.h"

#include <algorithm>
#include <utility>

#include "cli/format.h"
#include "cli/i18n.h"
#include "cli/json_get.h"

namespace shoal::cli {

namespace {

// The job a reply describes, read tolerantly; a reply that is not an object is an empty job.
wire::JobView ViewOf(const json& job) {
  Result<wire::JobView> view = wire::JobViewFromJson(job);
  return view.ok() ? *std::move(view) : wire::JobView{};
}

// "2" or "1..4": the gang size a job asked for.
std::string RequestedWorkers(const wire::JobView& job) {
  const int lo = job.workers_min, hi = job.workers_max;
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}

// "step 340/468": the step within the current epoch. The trainer counts steps from the start of
// training, so subtract the whole epochs already done.
std::string StepInEpoch(const json& p) {
  int64_t step = GetInt(p, "step", 0), per_epoch = GetInt(p, "stepsPerEpoch", 0);
  int64_t epoch = GetInt(p, "epoch", 1);
  if (per_epoch <= 0) return TrFormat("step {0}", {std::to_string(step)});
  int64_t in_epoch = std::clamp<int64_t>(step - (epoch - 1) * per_epoch, 0, per_epoch);
  return TrFormat("step {0}", {std::to_string(in_epoch) + "/" + std::to_string(per_epoch)});
}

std::string Epoch(const json& p) {
  std::string s = std::to_string(GetInt(p, "epoch", 0));
  if (HasNumber(p, "epochs")) s += "/" + std::to_string(GetInt(p, "epochs", 0));
  return TrFormat("epoch {0}", {s});
}

// "1234 samples/s", or for a language model "1234 tokens/s" (and its MFU when known).
std::string SamplesPerSec(const json& p) {
  std::string s =
      HasNumber(p, "tokensPerSec")
          ? TrFormat("{0} tokens/s", {FormatFixed(GetDouble(p, "tokensPerSec", 0), 0)})
          : TrFormat("{0} samples/s", {FormatFixed(GetDouble(p, "samplesPerSec", 0), 0)});
  if (HasNumber(p, "mfu")) s += ", MFU " + FormatFixed(100 * GetDouble(p, "mfu"), 1) + "%";
  return s;
}

// The progress report when it belongs to the job's current attempt; an empty object when the
// report is left over from an attempt that has since failed (its numbers would mislead).
const json& CurrentProgress(const wire::JobView& job) {
  static const json kEmpty = json::object();
  const json& p = job.progress;
  if (!HasNumber(p, "epoch")) return kEmpty;
  if (HasNumber(p, "attempt") && GetInt(p, "attempt", 0) < job.attempts) return kEmpty;
  return p;
}

}  // namespace

bool IsTerminalState(const std::string& state) {
  return state == "SUCCEEDED" || state == "FAILED" || state == "CANCELLED";
}

std::string FormatAccuracy(const json& j, const std::string& key, int digits) {
  if (!HasNumber(j, key) || GetDouble(j, key) < 0) return "-";
  return FormatFixed(GetDouble(j, key), digits);
}

std::string ReasonText(const wire::JobView& job) {
  if (job.reason.empty()) return job.reason_message;
  if (job.reason_message.empty()) return job.reason;
  return job.reason + ": " + job.reason_message;
}

std::string ReasonText(const json& job) { return ReasonText(ViewOf(job)); }

std::string FormatEstimatedStart(const wire::JobView& job, int64_t now_ms) {
  if (!job.estimated_start_ms) return "";
  const int64_t at = *job.estimated_start_ms;
  if (at <= now_ms) return Tr("now");
  return TrFormat("in {0}", {FormatDuration(at - now_ms)});
}

std::string FormatEstimatedStart(const json& job, int64_t now_ms) {
  return FormatEstimatedStart(ViewOf(job), now_ms);
}

std::string FormatLiveLine(const wire::JobView& job, int64_t now_ms) {
  const std::string state = job.state.empty() ? "UNKNOWN" : job.state;
  const std::string& reason = job.reason;
  if (state == "PENDING") {
    // A reply without the submission time counts from now.
    const int64_t submitted = job.submitted_ms > 0 ? job.submitted_ms : now_ms;
    std::string s = "PENDING " + FormatDuration(now_ms - submitted);
    if (!reason.empty()) s += " (" + reason + ")";
    if (job.reason_message.empty()) {
      std::string n = RequestedWorkers(job);
      s += ": " + (n == "1" ? TrFormat("waiting for {0} worker", {n})
                            : TrFormat("waiting for {0} workers", {n}));
    } else {
      s += ": " + job.reason_message;
    }
    std::string start = FormatEstimatedStart(job, now_ms);
    return start.empty() ? s : s + " | " + TrFormat("starts {0}", {start});
  }
  if (state == "RESTARTING") {
    std::string s = TrFormat("RESTARTING after attempt {0}", {std::to_string(job.attempts)});
    return reason.empty() ? s : s + ": " + reason;
  }
  if (IsTerminalState(state)) return reason.empty() ? state : state + " (" + reason + ")";
  std::string s = state;
  if (job.started_ms > 0) s += " " + FormatDuration(now_ms - job.started_ms);
  const json& p = CurrentProgress(job);
  if (p.empty()) {
    const int world = job.world_size.value_or(0);
    if (world <= 0) return s + " | " + Tr("starting");
    return s + " | " + TrPlural("starting {0} rank", "starting {0} ranks", world);
  }
  s += " | " + Epoch(p) + " | " + StepInEpoch(p);
  if (HasNumber(p, "loss"))
    s += " | " + TrFormat("loss {0}", {FormatFixed(GetDouble(p, "loss"), 4)});
  if (HasNumber(p, "trainAccuracy")) {
    s += " | " + TrFormat("acc {0}", {FormatAccuracy(p, "trainAccuracy", 4)});
  }
  if (HasNumber(p, "testLoss")) {
    s += " | " + TrFormat("val loss {0}", {FormatFixed(GetDouble(p, "testLoss"), 4)});
  }
  if (HasNumber(p, "samplesPerSec")) s += " | " + SamplesPerSec(p);
  return s;
}

std::string FormatLiveLine(const json& job, int64_t now_ms) {
  return FormatLiveLine(ViewOf(job), now_ms);
}

std::string FormatEpochLine(const json& progress) {
  if (!GetBool(progress, "epochDone")) return "";
  std::string s = Epoch(progress) + ":";
  if (HasNumber(progress, "loss")) {
    s += " " + TrFormat("loss {0}", {FormatFixed(GetDouble(progress, "loss"), 4)});
  }
  if (HasNumber(progress, "trainAccuracy")) {
    s += " | " + TrFormat("train acc {0}", {FormatAccuracy(progress, "trainAccuracy", 4)});
  }
  if (HasNumber(progress, "testLoss")) {
    s += " | " + TrFormat("test loss {0}", {FormatFixed(GetDouble(progress, "testLoss"), 4)});
  }
  if (HasNumber(progress, "testAccuracy")) {
    s += " | " + TrFormat("test acc {0}", {FormatAccuracy(progress, "testAccuracy", 4)});
  }
  if (HasNumber(progress, "samplesPerSec")) s += " | " + SamplesPerSec(progress);
  return s;
}

std::string FormatProgressSummary(const wire::JobView& job) {
  if (job.state == "SUCCEEDED" && HasNumber(job.result, "testAccuracy")) {
    return TrFormat("acc {0}", {FormatAccuracy(job.result, "testAccuracy", 3)});
  }
  const json& p = job.progress;
  if (!HasNumber(p, "epoch")) return "-";
  std::string epoch = std::to_string(GetInt(p, "epoch", 0));
  if (HasNumber(p, "epochs")) epoch += "/" + std::to_string(GetInt(p, "epochs", 0));
  std::string s = TrFormat("ep {0}", {epoch});
  if (HasNumber(p, "loss")) {
    s += " " + TrFormat("loss {0}", {FormatFixed(GetDouble(p, "loss"), 3)});
  }
  return s;
}

std::string FormatProgressSummary(const json& job) { return FormatProgressSummary(ViewOf(job)); }

std::string FormatFinalLine(const wire::JobView& job) {
  const std::string state = job.state.empty() ? "UNKNOWN" : job.state;
  std::string s = TrFormat("job {0} {1}", {std::to_string(job.id), state});
  const int64_t submitted = job.submitted_ms, finished = job.finished_ms;
  bool timed = submitted > 0 && finished >= submitted;
  if (state == "SUCCEEDED") {
    if (timed) s += TrFormat(" in {0}", {FormatDuration(finished - submitted)});
    const json& result = job.result;
    // A job without a test set reports no (or a zero) test accuracy: show the training loss.
    const std::string test = GetString(GetObject(job.spec.value_or(json()), "data"), "test", "?");
    if (HasNumber(result, "testAccuracy") && GetDouble(result, "testAccuracy") >= 0 &&
        !test.empty()) {
      s += TrFormat(": test accuracy {0}", {FormatFixed(GetDouble(result, "testAccuracy"), 4)});
    } else if (HasNumber(result, "trainLoss")) {
      s += TrFormat(": train loss {0}", {FormatFixed(GetDouble(result, "trainLoss"), 4)});
    }
    return s;
  }
  if (timed) s += TrFormat(" after {0}", {FormatDuration(finished - submitted)});
  if (!job.reason.empty()) s += ": " + job.reason;
  return s;
}

std::string FormatFinalLine(const json& job) { return FormatFinalLine(ViewOf(job)); }

}  // namespace shoal::cli

#include "cli/progress.h"

#include <algorithm>

#include "cli/format.h"
#include "cli/json_get.h"

namespace shoal::cli {

namespace {

// "2" or "1..4": the gang size a job asked for.
std::string RequestedWorkers(const json& job) {
  const json& w = GetObject(job, "workers");
  int64_t lo = GetInt(w, "min", 1), hi = GetInt(w, "max", lo);
  return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
}

// "step 340/468": the step within the current epoch. The trainer counts steps from the start of
// training, so subtract the whole epochs already done.
std::string StepInEpoch(const json& p) {
  int64_t step = GetInt(p, "step", 0), per_epoch = GetInt(p, "stepsPerEpoch", 0);
  int64_t epoch = GetInt(p, "epoch", 1);
  if (per_epoch <= 0) return "step " + std::to_string(step);
  int64_t in_epoch = std::clamp<int64_t>(step - (epoch - 1) * per_epoch, 0, per_epoch);
  return "step " + std::to_string(in_epoch) + "/" + std::to_string(per_epoch);
}

std::string Epoch(const json& p) {
  std::string s = "epoch " + std::to_string(GetInt(p, "epoch", 0));
  if (HasNumber(p, "epochs")) s += "/" + std::to_string(GetInt(p, "epochs", 0));
  return s;
}

std::string SamplesPerSec(const json& p) {
  return FormatFixed(GetDouble(p, "samplesPerSec", 0), 0) + " samples/s";
}

// The progress report when it belongs to the job's current attempt; an empty object when the
// report is left over from an attempt that has since failed (its numbers would mislead).
const json& CurrentProgress(const json& job) {
  static const json kEmpty = json::object();
  const json& p = GetObject(job, "progress");
  if (!HasNumber(p, "epoch")) return kEmpty;
  if (HasNumber(p, "attempt") && HasNumber(job, "attempts") &&
      GetInt(p, "attempt", 0) < GetInt(job, "attempts", 0)) {
    return kEmpty;
  }
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

std::string ReasonText(const json& job) {
  std::string reason = GetString(job, "reason"), message = GetString(job, "reasonMessage");
  if (reason.empty()) return message;
  if (message.empty()) return reason;
  return reason + ": " + message;
}

std::string FormatEstimatedStart(const json& job, int64_t now_ms) {
  if (!HasNumber(job, "estimatedStartMs")) return "";
  int64_t at = GetInt(job, "estimatedStartMs", 0);
  if (at <= now_ms) return "now";
  return "in " + FormatDuration(at - now_ms);
}

std::string FormatLiveLine(const json& job, int64_t now_ms) {
  std::string state = GetString(job, "state", "UNKNOWN");
  std::string reason = GetString(job, "reason");
  if (state == "PENDING") {
    std::string s = "PENDING " + FormatDuration(now_ms - GetInt(job, "submittedMs", now_ms));
    if (!reason.empty()) s += " (" + reason + ")";
    std::string message = GetString(job, "reasonMessage");
    if (message.empty()) {
      std::string n = RequestedWorkers(job);
      s += ": waiting for " + n + (n == "1" ? " worker" : " workers");
    } else {
      s += ": " + message;
    }
    std::string start = FormatEstimatedStart(job, now_ms);
    return start.empty() ? s : s + " | starts " + start;
  }
  if (state == "RESTARTING") {
    std::string s = "RESTARTING after attempt " + std::to_string(GetInt(job, "attempts", 0));
    return reason.empty() ? s : s + ": " + reason;
  }
  if (IsTerminalState(state)) return reason.empty() ? state : state + " (" + reason + ")";
  int64_t started = GetInt(job, "startedMs", 0);
  std::string s = state;
  if (started > 0) s += " " + FormatDuration(now_ms - started);
  const json& p = CurrentProgress(job);
  if (p.empty()) {
    int64_t world = GetInt(job, "worldSize", 0);
    if (world <= 0) return s + " | starting";
    return s + " | starting " + std::to_string(world) + (world == 1 ? " rank" : " ranks");
  }
  s += " | " + Epoch(p) + " | " + StepInEpoch(p);
  if (HasNumber(p, "loss")) s += " | loss " + FormatFixed(GetDouble(p, "loss"), 4);
  if (HasNumber(p, "trainAccuracy")) s += " | acc " + FormatAccuracy(p, "trainAccuracy", 4);
  if (HasNumber(p, "samplesPerSec")) s += " | " + SamplesPerSec(p);
  return s;
}

std::string FormatEpochLine(const json& progress) {
  if (!GetBool(progress, "epochDone")) return "";
  std::string s = Epoch(progress) + ":";
  if (HasNumber(progress, "loss")) s += " loss " + FormatFixed(GetDouble(progress, "loss"), 4);
  if (HasNumber(progress, "trainAccuracy")) {
    s += " | train acc " + FormatAccuracy(progress, "trainAccuracy", 4);
  }
  if (HasNumber(progress, "testAccuracy")) {
    s += " | test acc " + FormatAccuracy(progress, "testAccuracy", 4);
  }
  if (HasNumber(progress, "samplesPerSec")) s += " | " + SamplesPerSec(progress);
  return s;
}

std::string FormatProgressSummary(const json& job) {
  const json& result = GetObject(job, "result");
  if (GetString(job, "state") == "SUCCEEDED" && HasNumber(result, "testAccuracy")) {
    return "acc " + FormatAccuracy(result, "testAccuracy", 3);
  }
  const json& p = GetObject(job, "progress");
  if (!HasNumber(p, "epoch")) return "-";
  std::string s = "ep " + std::to_string(GetInt(p, "epoch", 0));
  if (HasNumber(p, "epochs")) s += "/" + std::to_string(GetInt(p, "epochs", 0));
  if (HasNumber(p, "loss")) s += " loss " + FormatFixed(GetDouble(p, "loss"), 3);
  return s;
}

std::string FormatFinalLine(const json& job) {
  std::string state = GetString(job, "state", "UNKNOWN");
  std::string s = "job " + std::to_string(GetInt(job, "id", 0)) + " " + state;
  int64_t submitted = GetInt(job, "submittedMs", 0), finished = GetInt(job, "finishedMs", 0);
  bool timed = submitted > 0 && finished >= submitted;
  if (state == "SUCCEEDED") {
    if (timed) s += " in " + FormatDuration(finished - submitted);
    const json& result = GetObject(job, "result");
    // A job without a test set reports no (or a zero) test accuracy: show the training loss.
    const std::string test = GetString(GetObject(GetObject(job, "spec"), "data"), "test", "?");
    if (HasNumber(result, "testAccuracy") && GetDouble(result, "testAccuracy") >= 0 &&
        !test.empty()) {
      s += ": test accuracy " + FormatFixed(GetDouble(result, "testAccuracy"), 4);
    } else if (HasNumber(result, "trainLoss")) {
      s += ": train loss " + FormatFixed(GetDouble(result, "trainLoss"), 4);
    }
    return s;
  }
  if (timed) s += " after " + FormatDuration(finished - submitted);
  std::string reason = GetString(job, "reason");
  if (!reason.empty()) s += ": " + reason;
  return s;
}

}  // namespace shoal::cli

// The one-line views of a job's training progress: the live line of `submit --follow`, the
// permanent epoch-end lines, the PROGRESS column of `list` and the closing summary of a wait.
//
// Each job formatter takes the job as GET /v1/jobs[/{id}] returns it, as a wire::JobView or as
// the reply's JSON, which it reads with wire::JobViewFromJson (missing or mistyped fields are
// tolerated; a reply that is not an object is an empty job). The progress object is rank 0's latest
// report: epoch (1-based), epochs, step (counted from the start of training), stepsPerEpoch, loss,
// trainAccuracy, samplesPerSec, and at epoch ends epochDone: true plus testLoss/testAccuracy when
// there is a test set (also right after a periodic evaluation); a language model's adds
// tokensPerSec, and mfu where the GPU's peak is known. All functions are pure and thread-safe.
// The examples below are the English texts; after InitI18n the words (not the states, reason codes
// or numbers) follow the user's language (cli/i18n.h).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/wire/job_view.h"

namespace shoal::cli {

// True for SUCCEEDED, FAILED and CANCELLED: the states a job never leaves.
bool IsTerminalState(const std::string& state);

// An accuracy field of a progress or result object with `digits` decimals ("0.8778"), or "-"
// when it is missing or negative: the trainer reports -1 for a job without a test set.
std::string FormatAccuracy(const nlohmann::json& j, const std::string& key, int digits);

// Why a job is where it is: "reason" and, when the scheduler gives one, "reasonMessage", joined as
// "Resources: needs 3 workers with a CPU slot; 2 alive fit". "" when neither is set.
std::string ReasonText(const wire::JobView& job);
std::string ReasonText(const nlohmann::json& job);

// When a pending job is expected to start, relative to `now_ms`: "in 2h10m" (FormatDuration),
// "now" for an estimate already passed; "" when the job has no "estimatedStartMs".
std::string FormatEstimatedStart(const wire::JobView& job, int64_t now_ms);
std::string FormatEstimatedStart(const nlohmann::json& job, int64_t now_ms);

// The live status line, e.g.
//   "RUNNING 1m12s | epoch 2/5 | step 340/468 | loss 0.3512 | acc 0.8740 | 5123 samples/s"
//   "PENDING 12s (Resources): waiting for 2 workers"
//   "PENDING 12s (Resources): needs 3 workers with a CPU slot; 2 alive fit | starts in 2h10m"
// (a pending job's reasonMessage replaces "waiting for N workers"; the estimate is shown when
// the scheduler gives one). An accuracy of -1 (no test set) reads "acc -".
// `now_ms` is the current Unix time in ms, for the elapsed times.
std::string FormatLiveLine(const wire::JobView& job, int64_t now_ms);
std::string FormatLiveLine(const nlohmann::json& job, int64_t now_ms);

// The permanent line for an epoch-end report ("epochDone": true), e.g.
//   "epoch 1/5: loss 0.4512 | train acc 0.8420 | test acc 0.8510 | 5230 samples/s";
// "" for any other progress report.
std::string FormatEpochLine(const nlohmann::json& progress);

// The PROGRESS column of `shoal list`: "acc 0.878" for a job with a final test accuracy ("acc -"
// when it is -1: no test set), "ep 2/5 loss 0.351" while training, "-" before the first report.
std::string FormatProgressSummary(const wire::JobView& job);
std::string FormatProgressSummary(const nlohmann::json& job);

// The closing line of `submit --wait/--follow`, e.g.
//   "job 7 SUCCEEDED in 31s: test accuracy 0.8778"
//   "job 7 FAILED after 12s: RankFailed: rank 1 on worker w-2 exited with code 1"
//   "job 7 CANCELLED after 3s"
// The time counts from submission to the end. A job without a test set (no test accuracy, or -1)
// shows its training loss instead.
std::string FormatFinalLine(const wire::JobView& job);
std::string FormatFinalLine(const nlohmann::json& job);

}  // namespace shoal::cli

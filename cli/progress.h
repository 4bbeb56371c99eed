// The one-line views of a job's training progress: the live line of `submit --follow`, the
// permanent epoch-end lines, the PROGRESS column of `list` and the closing summary of a wait.
//
// Each takes a job object as GET /v1/jobs[/{id}] returns it ("state", "reason", "submittedMs",
// "startedMs", "finishedMs", "workers", "attempts", "progress", "result"); missing or mistyped
// fields are tolerated. The progress object is rank 0's latest report: epoch (1-based), epochs,
// step (counted from the start of training), stepsPerEpoch, loss, trainAccuracy, samplesPerSec,
// and at epoch ends epochDone: true plus testLoss/testAccuracy when there is a test set.
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace shoal::cli {

// True for SUCCEEDED, FAILED and CANCELLED: the states a job never leaves.
bool IsTerminalState(const std::string& state);

// The live status line, e.g.
//   "RUNNING 1m12s | epoch 2/5 | step 340/468 | loss 0.3512 | acc 0.8740 | 5123 samples/s"
//   "PENDING 12s (Resources): waiting for 2 workers"
// `now_ms` is the current Unix time in ms, for the elapsed times.
std::string FormatLiveLine(const nlohmann::json& job, int64_t now_ms);

// The permanent line for an epoch-end report ("epochDone": true), e.g.
//   "epoch 1/5: loss 0.4512 | train acc 0.8420 | test acc 0.8510 | 5230 samples/s";
// "" for any other progress report.
std::string FormatEpochLine(const nlohmann::json& progress);

// The PROGRESS column of `shoal list`: "acc 0.878" for a job with a final test accuracy,
// "ep 2/5 loss 0.351" while training, "-" before the first report.
std::string FormatProgressSummary(const nlohmann::json& job);

// The closing line of `submit --wait/--follow`, e.g.
//   "job 7 SUCCEEDED in 31s: test accuracy 0.8778"
//   "job 7 FAILED after 12s: RankFailed: rank 1 on worker w-2 exited with code 1"
//   "job 7 CANCELLED after 3s"
// The time counts from submission to the end.
std::string FormatFinalLine(const nlohmann::json& job);

}  // namespace shoal::cli

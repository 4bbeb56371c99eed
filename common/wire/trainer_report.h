// Trainer reports: the "@shoal {json}" lines shoal-train writes on stdout when run with
// --progress-json (by shoal-worker), one JSON object each, told apart by "type":
//   progress    rank 0, every report_every_sec and at the end of each epoch; the agent forwards
//               it unchanged as a progress event's "data" (the scheduler's metrics)
//   checkpoint  rank 0 wrote a checkpoint file; the agent uploads it
//   result      each rank's last line; the agent forwards it, less "type", as its exit's "result"
//   audit       any rank, for each audit it took part in (docs/audits.md); forwarded as an audit
//               event
//   attest      any rank of an audited attempt, the digest of its state after each step rank 0
//               checkpoints (docs/audits.md "Checkpoints"); forwarded as an audit event
// The typed reports are what the trainer writes; the agent acts only on checkpoints and passes
// the others through as JSON, so what reaches the scheduler is what the trainer wrote.
// Value types; the functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace shoal::wire {

// What starts a report line.
inline constexpr std::string_view kReportPrefix = "@shoal ";

struct ProgressReport {
  int epoch = 0;  // 1-based, the epoch in progress
  int epochs = 0;
  int64_t step = 0;
  int64_t steps_per_epoch = 0;
  double loss = 0;
  double train_accuracy = 0;
  double samples_per_sec = 0;
  double step_sec = 0;
  double all_reduce_sec = 0;
  bool epoch_done = false;  // the end-of-epoch report (sent only when true)
  // With a test set: at the end of an epoch, and in the report right after each periodic
  // evaluation (training.evalEverySteps).
  std::optional<double> test_loss;
  std::optional<double> test_accuracy;
  std::optional<double> tokens_per_sec;  // a language model's: samples/s x tokens per sample
  std::optional<double>
      mfu;                   // model FLOP/s over the ranks' peak, in [0, 1]; when the peak is known
  std::optional<double> lr;  // the learning rate of the latest update
  std::optional<double> grad_norm;  // the latest update's gradient L2 norm, before clipping
  bool operator==(const ProgressReport&) const = default;
};

struct CheckpointReport {
  std::string path;  // absolute, in the rank's checkpoint directory
  int64_t step = 0;
  int epoch = 0;
  int64_t bytes = 0;
  double seconds = 0;  // time taken to write it
  bool operator==(const CheckpointReport&) const = default;
};

struct ResultReport {
  int rank = 0;
  std::string param_checksum;  // FNV-1a of the final parameters
  double test_accuracy = -1;   // -1 without a test set
  double test_loss = 0;
  double train_loss = 0;
  double samples_per_sec = 0;
  int64_t steps = 0;
  int64_t resumed_step = 0;
  bool stopped = false;
  double wall_sec = 0;
  bool operator==(const ResultReport&) const = default;
};

// Each report as a JSON object with its "type"; optional fields only when set.
nlohmann::json ToJson(const ProgressReport& r);
nlohmann::json ToJson(const CheckpointReport& r);
nlohmann::json ToJson(const ResultReport& r);

// The line for a report (kReportPrefix and the compact JSON, no newline).
std::string ReportLine(const nlohmann::json& report);

enum class TrainerReportType { kProgress, kCheckpoint, kResult, kAudit };

struct TrainerReport {
  TrainerReportType type = TrainerReportType::kProgress;
  nlohmann::json fields;  // the whole object, "type" included
};

// A report line: kReportPrefix followed by a JSON object. Its type is "checkpoint", "result" or
// "audit" by its "type" ("attest" is an audit report too), and progress otherwise (as agents have
// always read them). std::nullopt for any other line (without the prefix, or not an object after
// it), which is a log line.
std::optional<TrainerReport> ParseReportLine(std::string_view line);

// The checkpoint a report names. InvalidArgument "malformed checkpoint report" unless path is a
// non-empty string and step an integer >= 0; a missing epoch, bytes or seconds is 0.
Result<CheckpointReport> CheckpointReportFromJson(const nlohmann::json& j);

}  // namespace shoal::wire

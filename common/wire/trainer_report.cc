#include "common/wire/trainer_report.h"

#include <utility>

namespace shoal::wire {

nlohmann::json ToJson(const ProgressReport& r) {
  nlohmann::json j = {{"type", "progress"},
                      {"epoch", r.epoch},
                      {"epochs", r.epochs},
                      {"step", r.step},
                      {"stepsPerEpoch", r.steps_per_epoch},
                      {"loss", r.loss},
                      {"trainAccuracy", r.train_accuracy},
                      {"samplesPerSec", r.samples_per_sec},
                      {"stepSec", r.step_sec},
                      {"allReduceSec", r.all_reduce_sec}};
  if (r.epoch_done) j["epochDone"] = true;
  if (r.test_loss) j["testLoss"] = *r.test_loss;
  if (r.test_accuracy) j["testAccuracy"] = *r.test_accuracy;
  if (r.tokens_per_sec) j["tokensPerSec"] = *r.tokens_per_sec;
  if (r.mfu) j["mfu"] = *r.mfu;
  if (r.lr) j["lr"] = *r.lr;
  if (r.grad_norm) j["gradNorm"] = *r.grad_norm;
  return j;
}

nlohmann::json ToJson(const CheckpointReport& r) {
  return {{"type", "checkpoint"}, {"path", r.path},   {"step", r.step},
          {"epoch", r.epoch},     {"bytes", r.bytes}, {"seconds", r.seconds}};
}

nlohmann::json ToJson(const ResultReport& r) {
  return {{"type", "result"},
          {"rank", r.rank},
          {"paramChecksum", r.param_checksum},
          {"testAccuracy", r.test_accuracy},
          {"testLoss", r.test_loss},
          {"trainLoss", r.train_loss},
          {"samplesPerSec", r.samples_per_sec},
          {"steps", r.steps},
          {"resumedStep", r.resumed_step},
          {"stopped", r.stopped},
          {"wallSec", r.wall_sec}};
}

std::string ReportLine(const nlohmann::json& report) {
  return std::string(kReportPrefix) + report.dump();
}

std::optional<TrainerReport> ParseReportLine(std::string_view line) {
  if (line.substr(0, kReportPrefix.size()) != kReportPrefix) return std::nullopt;
  auto j = nlohmann::json::parse(line.substr(kReportPrefix.size()), nullptr, false);
  if (!j.is_object()) return std::nullopt;
  TrainerReport r;
  const std::string type = j.value("type", "");
  r.type = type == "result"                      ? TrainerReportType::kResult
           : type == "checkpoint"                ? TrainerReportType::kCheckpoint
           : type == "audit" || type == "attest" ? TrainerReportType::kAudit
                                                 : TrainerReportType::kProgress;
  r.fields = std::move(j);
  return r;
}

Result<CheckpointReport> CheckpointReportFromJson(const nlohmann::json& j) {
  const auto int_or = [&](const char* key, int64_t fallback) -> std::optional<int64_t> {
    if (!j.contains(key)) return fallback;
    if (!j[key].is_number_integer()) return std::nullopt;
    return j[key].get<int64_t>();
  };
  const auto step = int_or("step", -1);
  const auto epoch = int_or("epoch", 0);
  const auto bytes = int_or("bytes", 0);
  if (!j.is_object() || !j.contains("path") || !j["path"].is_string() ||
      j["path"].get<std::string>().empty() || !step || *step < 0 || !epoch || !bytes ||
      (j.contains("seconds") && !j["seconds"].is_number())) {
    return InvalidArgument("malformed checkpoint report");
  }
  CheckpointReport r;
  r.path = j["path"].get<std::string>();
  r.step = *step;
  r.epoch = static_cast<int>(*epoch);
  r.bytes = *bytes;
  r.seconds = j.value("seconds", 0.0);
  return r;
}

}  // namespace shoal::wire

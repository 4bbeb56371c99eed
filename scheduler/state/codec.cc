#include "scheduler/state/codec.h"

#include <charconv>

namespace shoal {

nlohmann::json ToJson(const JobEvent& e) {
  return {{"timeMs", e.ts_ms}, {"type", e.type}, {"message", e.message}};
}

nlohmann::json EventsToJson(const std::vector<JobEvent>& events) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : events) out.push_back(ToJson(e));
  return out;
}

std::vector<JobEvent> EventsFromJson(const nlohmann::json& j) {
  std::vector<JobEvent> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (!e.is_object() || !e.contains("timeMs") || !e["timeMs"].is_number_integer() ||
        !e.contains("type") || !e["type"].is_string() || !e.contains("message") ||
        !e["message"].is_string()) {
      continue;
    }
    out.push_back({e["timeMs"].get<int64_t>(), e["type"].get<std::string>(),
                   e["message"].get<std::string>()});
  }
  return out;
}

nlohmann::json ToJson(const GpuInfo& g) {
  return {{"name", g.name}, {"memoryMiB", g.memory_mib}, {"computeCapability", g.compute_capability}};
}

Result<GpuInfo> GpuInfoFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("gpus[]: expected an object");
  GpuInfo g;
  try {
    g.name = j.value("name", "");
    g.memory_mib = j.value("memoryMiB", int64_t{0});
    g.compute_capability = j.value("computeCapability", "");
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(std::string("gpus[]: ") + e.what());
  }
  if (g.name.size() > 256 || g.compute_capability.size() > 16 || g.memory_mib < 0) {
    return InvalidArgument("gpus[]: implausible GPU description");
  }
  return g;
}

nlohmann::json AttemptToStored(const Attempt& a) {
  nlohmann::json ranks = nlohmann::json::array();
  for (const auto& r : a.ranks) {
    nlohmann::json rank = {{"rank", r.rank},
                           {"worker", r.worker_id},
                           {"state", static_cast<int>(r.state)},
                           {"exitCode", r.exit_code},
                           {"signal", r.signal},
                           {"message", r.message},
                           {"result", r.result}};
    if (r.fetched_bytes) rank["fetchedBytes"] = *r.fetched_bytes;
    ranks.push_back(std::move(rank));
  }
  nlohmann::json j = {{"number", a.number},         {"worldSize", a.world_size},
                      {"state", static_cast<int>(a.state)}, {"reason", a.reason},
                      {"startedMs", a.started_ms},  {"endedMs", a.ended_ms},
                      {"ranks", ranks}};
  if (a.rollback_to_step >= 0) j["rollbackToStep"] = a.rollback_to_step;
  if (!a.clean_audit_steps.empty()) j["cleanAuditSteps"] = a.clean_audit_steps;
  if (!a.attestations.empty()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [step, c] : a.attestations) {
      nlohmann::json ranks = nlohmann::json::object();
      for (const auto& [rank, digest] : c.by_rank) ranks[std::to_string(rank)] = digest;
      list.push_back(
          {{"step", step}, {"file", c.file_digest}, {"ranks", ranks}, {"forged", c.forged}});
    }
    j["attestations"] = std::move(list);
  }
  if (a.last_checkpoint_ms > 0) j["lastCheckpointMs"] = a.last_checkpoint_ms;
  if (a.checkpoint_write_s > 0) j["checkpointWriteSec"] = a.checkpoint_write_s;
  if (a.checkpoint_every_s > 0) j["checkpointEverySec"] = a.checkpoint_every_s;
  if (a.went_ahead) j["wentAhead"] = true;
  if (!a.audit.empty()) {
    nlohmann::json plans = nlohmann::json::array();
    for (const auto& plan : a.audit) plans.push_back(wire::ToJson(plan));
    j["audit"] = std::move(plans);
  }
  return j;
}

Result<Attempt> AttemptFromStored(const nlohmann::json& j) {
  try {
    Attempt a;
    a.number = j.at("number").get<int>();
    a.world_size = j.at("worldSize").get<int>();
    const int state = j.at("state").get<int>();
    if (state < 0 || state > static_cast<int>(AttemptState::kResized)) {
      return Internal("stored attempt has an unknown state " + std::to_string(state));
    }
    a.state = static_cast<AttemptState>(state);
    a.reason = j.at("reason").get<std::string>();
    a.started_ms = j.at("startedMs").get<int64_t>();
    a.ended_ms = j.at("endedMs").get<int64_t>();
    for (const auto& rj : j.at("ranks")) {
      RankPlacement r;
      r.rank = rj.at("rank").get<int>();
      r.worker_id = rj.at("worker").get<std::string>();
      r.state = static_cast<RankState>(rj.at("state").get<int>());
      r.exit_code = rj.at("exitCode").get<int>();
      r.signal = rj.at("signal").get<int>();
      r.message = rj.at("message").get<std::string>();
      r.result = rj.at("result");
      // Absent from attempts stored before fetched bytes were recorded.
      if (rj.contains("fetchedBytes")) r.fetched_bytes = rj.at("fetchedBytes").get<int64_t>();
      a.ranks.push_back(std::move(r));
    }
    if (j.contains("rollbackToStep")) a.rollback_to_step = j.at("rollbackToStep").get<int64_t>();
    // Absent from attempts stored before it was kept, and from those without a checkpoint.
    if (j.contains("lastCheckpointMs")) {
      a.last_checkpoint_ms = j.at("lastCheckpointMs").get<int64_t>();
    }
    if (j.contains("checkpointWriteSec")) {
      a.checkpoint_write_s = j.at("checkpointWriteSec").get<double>();
    }
    if (j.contains("checkpointEverySec"))
      a.checkpoint_every_s = j.at("checkpointEverySec").get<int>();
    if (j.contains("wentAhead")) a.went_ahead = j.at("wentAhead").get<bool>();
    // Absent from attempts stored before it was kept, and from those without a clean audit.
    if (j.contains("cleanAuditSteps")) {
      a.clean_audit_steps = j.at("cleanAuditSteps").get<std::map<std::string, int64_t>>();
    }
    // Absent from attempts stored before attestations, and from those without any.
    if (j.contains("attestations")) {
      for (const auto& cj : j.at("attestations")) {
        audit::CheckpointAttestations c;
        c.file_digest = cj.at("file").get<std::string>();
        c.forged = cj.at("forged").get<bool>();
        for (const auto& [key, digest] : cj.at("ranks").items()) {
          int rank = -1;
          const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), rank);
          if (ec != std::errc() || end != key.data() + key.size() || rank < 0) {
            return Internal("corrupt stored attempt: attestation rank \"" + key + "\"");
          }
          c.by_rank[rank] = digest.get<std::string>();
        }
        a.attestations[cj.at("step").get<int64_t>()] = std::move(c);
      }
    }
    // Absent from attempts stored before audits, and from unaudited ones.
    if (j.contains("audit")) {
      for (const auto& pj : j.at("audit")) {
        auto plan = wire::AuditPlanFromJson(pj);
        if (!plan.ok()) return Internal("corrupt stored audit plan: " + plan.status().message());
        a.audit.push_back(std::move(*plan));
      }
    }
    return a;
  } catch (const nlohmann::json::exception& e) {
    return Internal(std::string("corrupt stored attempt: ") + e.what());
  }
}

}  // namespace shoal

#include "common/wire/worker_view.h"

#include "common/wire/tolerant_json.h"

namespace shoal::wire {

using nlohmann::json;

json ToJson(const GpuView& g) {
  json out = {
      {"name", g.name}, {"memoryMiB", g.memory_mib}, {"computeCapability", g.compute_capability}};
  if (g.utilization) out["utilization"] = *g.utilization;
  if (g.memory_used_mib) out["memoryUsedMiB"] = *g.memory_used_mib;
  return out;
}

json ToJson(const WorkerView& w) {
  json gpus = json::array();
  for (const auto& g : w.gpus) gpus.push_back(ToJson(g));
  json ranks = json::array();
  for (const auto& r : w.ranks) {
    ranks.push_back({{"job", r.job}, {"attempt", r.attempt}, {"rank", r.rank}, {"state", r.state}});
  }
  json j = {{"id", w.id},
            {"slots", w.slots},
            {"cpus", w.cpus},
            {"gpus", std::move(gpus)},
            {"memoryBytes", w.memory_bytes},
            {"memoryLentBytes", w.memory_lent_bytes},
            {"state", w.state},
            {"registeredMs", w.registered_ms},
            {"lastSeenMs", w.last_seen_ms},
            {"completedRanks", w.completed_ranks},
            {"auditRate", w.audit_rate},
            {"cleanAudits", w.clean_audits},
            {"failedAudits", w.failed_audits},
            {"usedSlots", w.used_slots},
            {"ranks", std::move(ranks)}};
  if (w.name) j["name"] = *w.name;
  if (w.host) j["host"] = *w.host;
  if (w.account) j["account"] = *w.account;
  if (w.anonymous) j["anonymous"] = true;
  if (w.quarantine) j["quarantine"] = *w.quarantine;
  return j;
}

Result<WorkerView> WorkerViewFromJson(const json& j) {
  using tolerant::Array;
  using tolerant::Int;
  using tolerant::OptString;
  using tolerant::String;
  if (!j.is_object()) return InvalidArgument("a worker view must be a JSON object");
  WorkerView w;
  w.id = String(j, "id");
  w.name = OptString(j, "name");
  w.host = OptString(j, "host");
  w.account = OptString(j, "account");
  const json* anonymous = tolerant::Find(j, "anonymous");
  w.anonymous = anonymous != nullptr && anonymous->is_boolean() && anonymous->get<bool>();
  w.slots = static_cast<int>(Int(j, "slots"));
  w.cpus = static_cast<int>(Int(j, "cpus"));
  for (const auto& g : Array(j, "gpus")) {
    GpuView view{String(g, "name"), Int(g, "memoryMiB"), String(g, "computeCapability")};
    if (const json* u = tolerant::Find(g, "utilization"); u != nullptr && u->is_number()) {
      view.utilization = u->get<double>();
    }
    view.memory_used_mib = tolerant::OptInt(g, "memoryUsedMiB");
    w.gpus.push_back(std::move(view));
  }
  w.memory_bytes = Int(j, "memoryBytes");
  w.memory_lent_bytes = Int(j, "memoryLentBytes");
  w.state = String(j, "state");
  w.registered_ms = Int(j, "registeredMs");
  w.last_seen_ms = Int(j, "lastSeenMs");
  w.completed_ranks = Int(j, "completedRanks");
  if (const json* r = tolerant::Find(j, "auditRate"); r != nullptr && r->is_number()) {
    w.audit_rate = r->get<double>();
  }
  w.clean_audits = Int(j, "cleanAudits");
  w.failed_audits = Int(j, "failedAudits");
  w.quarantine = OptString(j, "quarantine");
  w.used_slots = static_cast<int>(Int(j, "usedSlots"));
  for (const auto& r : Array(j, "ranks")) {
    w.ranks.push_back({Int(r, "job"), static_cast<int>(Int(r, "attempt")),
                       static_cast<int>(Int(r, "rank")), String(r, "state")});
  }
  return w;
}

}  // namespace shoal::wire

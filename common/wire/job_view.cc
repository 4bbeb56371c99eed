#include "common/wire/job_view.h"

#include "common/wire/tolerant_json.h"

namespace shoal::wire {

using nlohmann::json;

json ToJson(const RankView& r) {
  json j = {{"rank", r.rank}, {"worker", r.worker}, {"state", r.state}};
  if (r.exit_code) j["exitCode"] = *r.exit_code;
  if (r.signal != 0) j["signal"] = r.signal;
  if (!r.message.empty()) j["message"] = r.message;
  if (!r.result.is_null() && !r.result.empty()) j["result"] = r.result;
  if (r.fetched_bytes) j["fetchedBytes"] = *r.fetched_bytes;
  return j;
}

json ToJson(const AttemptView& a) {
  json ranks = json::array();
  for (const auto& r : a.ranks) ranks.push_back(ToJson(r));
  json j = {{"number", a.number},
            {"worldSize", a.world_size},
            {"state", a.state},
            {"startedMs", a.started_ms},
            {"ranks", std::move(ranks)}};
  if (!a.reason.empty()) j["reason"] = a.reason;
  if (a.ended_ms != 0) j["endedMs"] = a.ended_ms;
  if (a.checkpoint_every_seconds != 0) j["checkpointEverySeconds"] = a.checkpoint_every_seconds;
  if (a.checkpoint_write_seconds != 0) j["checkpointWriteSeconds"] = a.checkpoint_write_seconds;
  return j;
}

json ToJson(const JobView& v) {
  json j = {
      {"id", v.id},
      {"name", v.name},
      {"project", v.project},
      {"owner", v.owner},
      {"queue", v.queue},
      {"priority", v.priority},
      {"state", v.state},
      {"reason", v.reason},
      {"submittedMs", v.submitted_ms},
      {"startedMs", v.started_ms},
      {"finishedMs", v.finished_ms},
      {"workers", {{"min", v.workers_min}, {"max", v.workers_max}}},
      {"attempts", v.attempts},
      {"progress", v.progress},
      {"result", v.result},
  };
  if (!v.reason_message.empty()) j["reasonMessage"] = v.reason_message;
  if (v.estimated_start_ms) j["estimatedStartMs"] = *v.estimated_start_ms;
  if (v.world_size) {
    j["worldSize"] = *v.world_size;
    j["placement"] = v.placement;
  }
  if (v.attempt_history) {
    json attempts = json::array();
    for (const auto& a : *v.attempt_history) attempts.push_back(ToJson(a));
    j["attemptHistory"] = std::move(attempts);
  }
  if (v.spec) j["spec"] = *v.spec;
  if (v.events) {
    json events = json::array();
    for (const auto& e : *v.events) {
      events.push_back({{"timeMs", e.time_ms}, {"type", e.type}, {"message", e.message}});
    }
    j["events"] = std::move(events);
  }
  if (v.events_dropped > 0) j["eventsDropped"] = v.events_dropped;
  if (!v.pins.empty()) {
    json pins = json::array();
    for (const Pin& p : v.pins) pins.push_back(ToJson(p));
    j["pins"] = std::move(pins);
  }
  if (v.output) {
    json out = {{"model", v.output->model}};
    if (!v.output->published.empty()) out["published"] = v.output->published;
    if (!v.output->error.empty()) out["error"] = v.output->error;
    j["output"] = std::move(out);
  }
  return j;
}

namespace {

using tolerant::Array;
using tolerant::Int;
using tolerant::Object;
using tolerant::OptInt;
using tolerant::String;

RankView RankFromJson(const json& j) {
  RankView r;
  r.rank = static_cast<int>(Int(j, "rank"));
  r.worker = String(j, "worker");
  r.state = String(j, "state");
  if (auto code = OptInt(j, "exitCode")) r.exit_code = static_cast<int>(*code);
  r.signal = static_cast<int>(Int(j, "signal"));
  r.message = String(j, "message");
  if (const json* result = tolerant::Find(j, "result")) r.result = *result;
  r.fetched_bytes = OptInt(j, "fetchedBytes");
  return r;
}

AttemptView AttemptFromJson(const json& j) {
  AttemptView a;
  a.number = static_cast<int>(Int(j, "number"));
  a.world_size = static_cast<int>(Int(j, "worldSize"));
  a.state = String(j, "state");
  a.reason = String(j, "reason");
  a.started_ms = Int(j, "startedMs");
  a.ended_ms = Int(j, "endedMs");
  a.checkpoint_every_seconds = static_cast<int>(Int(j, "checkpointEverySeconds"));
  if (const json* w = tolerant::Find(j, "checkpointWriteSeconds"); w && w->is_number()) {
    a.checkpoint_write_seconds = w->get<double>();
  }
  for (const auto& r : Array(j, "ranks")) a.ranks.push_back(RankFromJson(r));
  return a;
}

}  // namespace

Result<JobView> JobViewFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("a job view must be a JSON object");
  JobView v;
  v.id = Int(j, "id");
  v.name = String(j, "name");
  v.project = String(j, "project");
  v.owner = String(j, "owner");
  v.queue = String(j, "queue");
  v.priority = static_cast<int>(Int(j, "priority"));
  v.state = String(j, "state");
  v.reason = String(j, "reason");
  v.submitted_ms = Int(j, "submittedMs");
  v.started_ms = Int(j, "startedMs");
  v.finished_ms = Int(j, "finishedMs");
  const json& workers = Object(j, "workers");
  v.workers_min = static_cast<int>(Int(workers, "min", 1));
  v.workers_max = static_cast<int>(Int(workers, "max", v.workers_min));
  v.attempts = static_cast<int>(Int(j, "attempts"));
  v.progress = Object(j, "progress");
  v.result = Object(j, "result");
  v.reason_message = String(j, "reasonMessage");
  v.estimated_start_ms = OptInt(j, "estimatedStartMs");
  if (auto world = OptInt(j, "worldSize")) v.world_size = static_cast<int>(*world);
  for (const auto& node : Array(j, "placement")) {
    v.placement.push_back(node.is_string() ? node.get<std::string>() : "");
  }
  if (const json* history = tolerant::Find(j, "attemptHistory"); history && history->is_array()) {
    v.attempt_history.emplace();
    for (const auto& a : *history) v.attempt_history->push_back(AttemptFromJson(a));
  }
  if (const json* spec = tolerant::Find(j, "spec"); spec && spec->is_object()) v.spec = *spec;
  if (tolerant::Find(j, "events") != nullptr) {
    v.events.emplace();
    for (const auto& e : Array(j, "events")) {
      if (!e.is_object()) continue;
      v.events->push_back({Int(e, "timeMs"), String(e, "type"), String(e, "message")});
    }
  }
  v.events_dropped = Int(j, "eventsDropped");
  for (const auto& p : Array(j, "pins")) {
    if (auto pin = PinFromJson(p); pin.ok()) v.pins.push_back(std::move(*pin));
  }
  if (const json* out = tolerant::Find(j, "output"); out && out->is_object()) {
    v.output = OutputView{String(*out, "model"), String(*out, "published"), String(*out, "error")};
  }
  return v;
}

}  // namespace shoal::wire

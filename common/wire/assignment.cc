#include "common/wire/assignment.h"

namespace shoal::wire {

namespace {
// 64 lower-case hex digits (common/registry's IsChunkId; the wire does not link the registry).
bool IsSha256Hex(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

nlohmann::json ToJson(const Pin& pin) {
  nlohmann::json j = {{"kind", pin.kind},       {"account", pin.account}, {"name", pin.name},
                      {"version", pin.version}, {"digest", pin.digest},   {"bytes", pin.bytes}};
  if (!pin.trusted_workers.empty()) j["trustedWorkers"] = pin.trusted_workers;
  if (pin.is_private) j["private"] = true;
  return j;
}

Result<Pin> PinFromJson(const nlohmann::json& j) {
  auto str = [&j](const char* key) { return j.contains(key) && j[key].is_string(); };
  if (!j.is_object() || !str("kind") || !str("account") || !str("name") || !str("version") ||
      !str("digest") || !j.contains("bytes") || !j["bytes"].is_number_integer()) {
    return InvalidArgument(
        "a pin needs string kind, account, name, version and digest and an integer bytes");
  }
  Pin pin;
  pin.kind = j["kind"].get<std::string>();
  pin.account = j["account"].get<std::string>();
  pin.name = j["name"].get<std::string>();
  pin.version = j["version"].get<std::string>();
  pin.digest = j["digest"].get<std::string>();
  pin.bytes = j["bytes"].get<int64_t>();
  if (!IsSha256Hex(pin.digest)) return InvalidArgument("a pin's digest must be 64 hex digits");
  if (j.contains("private")) {
    if (!j["private"].is_boolean()) return InvalidArgument("a pin's private must be true or false");
    pin.is_private = j["private"].get<bool>();
  }
  if (j.contains("trustedWorkers")) {
    if (!j["trustedWorkers"].is_array()) {
      return InvalidArgument("a pin's trustedWorkers must be a list of accounts");
    }
    for (const auto& a : j["trustedWorkers"]) {
      if (!a.is_string()) return InvalidArgument("a pin's trustedWorkers must be a list of accounts");
      pin.trusted_workers.push_back(a.get<std::string>());
    }
  }
  return pin;
}

nlohmann::json ToJson(const Assignment& a) {
  nlohmann::json pins = nlohmann::json::array();
  for (const Pin& p : a.pins) pins.push_back(ToJson(p));
  nlohmann::json j = {{"job", a.job},   {"attempt", a.attempt}, {"rank", a.rank},
                      {"worldSize", a.world_size},  {"name", a.name},       {"spec", a.spec},
                      {"pins", std::move(pins)},    {"readCapability", a.read_capability}};
  if (a.audit) j["audit"] = ToJson(*a.audit);
  j["checkpointEverySeconds"] = a.checkpoint_every_seconds;
  return j;
}

Result<Assignment> AssignmentFromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("job") || !j["job"].is_number_integer() ||
      !j.contains("attempt") || !j["attempt"].is_number_integer() || !j.contains("rank") ||
      !j["rank"].is_number_integer() || !j.contains("spec") || !j["spec"].is_string()) {
    return InvalidArgument("an assignment needs integer job, attempt and rank and a string spec");
  }
  // Optional because agents have always defaulted them; typed so that reading cannot throw.
  if (j.contains("worldSize") && !j["worldSize"].is_number_integer()) {
    return InvalidArgument("an assignment's worldSize must be an integer");
  }
  if (j.contains("name") && !j["name"].is_string()) {
    return InvalidArgument("an assignment's name must be a string");
  }
  if (j.contains("pins") && !j["pins"].is_array()) {
    return InvalidArgument("an assignment's pins must be an array");
  }
  if (j.contains("readCapability") && !j["readCapability"].is_string()) {
    return InvalidArgument("an assignment's readCapability must be a string");
  }
  // Optional: schedulers before Young/Daly intervals do not send it.
  if (j.contains("checkpointEverySeconds") &&
      (!j["checkpointEverySeconds"].is_number_integer() ||
       j["checkpointEverySeconds"].get<int64_t>() < 0 ||
       j["checkpointEverySeconds"].get<int64_t>() > kMaxCheckpointEverySeconds)) {
    return InvalidArgument("an assignment's checkpointEverySeconds must be an integer in 0.." +
                           std::to_string(kMaxCheckpointEverySeconds));
  }
  Assignment a;
  a.checkpoint_every_seconds = j.value("checkpointEverySeconds", 0);
  a.job = j["job"].get<int64_t>();
  a.attempt = j["attempt"].get<int>();
  a.rank = j["rank"].get<int>();
  a.world_size = j.value("worldSize", 1);
  a.name = j.value("name", "");
  a.spec = j["spec"].get<std::string>();
  if (j.contains("pins")) {
    for (const auto& p : j["pins"]) {
      auto pin = PinFromJson(p);
      if (!pin.ok()) return pin.status();
      a.pins.push_back(std::move(*pin));
    }
  }
  a.read_capability = j.value("readCapability", "");
  if (j.contains("audit")) {
    auto plan = AuditPlanFromJson(j["audit"]);
    if (!plan.ok()) return InvalidArgument("an assignment's " + plan.status().message());
    a.audit = std::move(*plan);
  }
  return a;
}

}  // namespace shoal::wire

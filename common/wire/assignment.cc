#include "common/wire/assignment.h"

namespace shoal::wire {

nlohmann::json ToJson(const Assignment& a) {
  return {{"job", a.job},   {"attempt", a.attempt}, {"rank", a.rank}, {"worldSize", a.world_size},
          {"name", a.name}, {"spec", a.spec}};
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
  Assignment a;
  a.job = j["job"].get<int64_t>();
  a.attempt = j["attempt"].get<int>();
  a.rank = j["rank"].get<int>();
  a.world_size = j.value("worldSize", 1);
  a.name = j.value("name", "");
  a.spec = j["spec"].get<std::string>();
  return a;
}

}  // namespace shoal::wire

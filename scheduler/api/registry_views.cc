#include "scheduler/api/registry_views.h"

#include "common/registry/uri.h"

namespace shoal::registry_views {

using nlohmann::json;

std::string Key(const ArtifactRecord& a) {
  return std::string(ToString(a.kind)) + "/" + a.account + "/" + a.name;
}

json VersionJson(const VersionRecord& v) {
  json j = {{"version", v.version}, {"digest", v.digest},       {"bytes", v.bytes},
            {"files", v.files},     {"chunks", v.chunks},       {"publisher", v.publisher},
            {"created", v.created_ms}};
  if (v.source_job != 0) j["job"] = v.source_job;  // a model version published from a job
  return j;
}

json CardJson(const ArtifactRecord& a, const std::vector<VersionRecord>* versions) {
  json j = {{"kind", ToString(a.kind)},
            {"account", a.account},
            {"name", a.name},
            {"visibility", a.is_private ? "private" : "public"},
            {"description", a.description},
            {"license", a.license},
            {"format", a.format},
            {"trustedWorkers", a.trusted_workers},
            {"created", a.created_ms},
            {"updated", a.updated_ms}};
  if (a.kind == ArtifactKind::kModel) j["card"] = a.extra;
  if (versions != nullptr) {
    int64_t bytes = 0;
    json list = json::array();
    for (const VersionRecord& v : *versions) {
      bytes += v.bytes;
      list.push_back(VersionJson(v));
    }
    j["bytes"] = bytes;
    j["versions"] = std::move(list);
  }
  return j;
}

// The card fields of a PUT body; InvalidArgument naming the field.
Status ReadCard(const json& body, ArtifactRecord* a) {
  auto text = [&](const char* key, size_t max, std::string* out) -> Status {
    if (!body.contains(key)) return Status::Ok();
    if (!body[key].is_string() || body[key].get<std::string>().size() > max) {
      return InvalidArgument(std::string(key) + " must be a string of at most " +
                             std::to_string(max) + " bytes");
    }
    *out = body[key].get<std::string>();
    return Status::Ok();
  };
  std::string visibility = "public";
  RETURN_IF_ERROR(text("visibility", 16, &visibility));
  if (visibility != "public" && visibility != "private") {
    return InvalidArgument("visibility must be public or private, got \"" + visibility + "\"");
  }
  a->is_private = visibility == "private";
  RETURN_IF_ERROR(text("description", 16384, &a->description));
  RETURN_IF_ERROR(text("license", 128, &a->license));
  RETURN_IF_ERROR(text("format", 64, &a->format));
  if (body.contains("trustedWorkers")) {
    const json& t = body["trustedWorkers"];
    if (!t.is_array() || t.size() > 256) {
      return InvalidArgument("trustedWorkers must be a list of at most 256 accounts");
    }
    for (const json& acc : t) {
      if (!acc.is_string() || !IsDnsLabel(acc.get<std::string>())) {
        return InvalidArgument("trustedWorkers must list account names (DNS labels)");
      }
      a->trusted_workers.push_back(acc.get<std::string>());
    }
    if (!a->trusted_workers.empty() && !a->is_private) {
      return InvalidArgument("trustedWorkers applies to private artifacts only");
    }
  }
  if (body.contains("card")) {
    if (!body["card"].is_object()) return InvalidArgument("card must be an object");
    a->extra = body["card"];
  }
  return Status::Ok();
}

std::string HeaderOr(const HttpRequest& req, const char* name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? "" : it->second;
}

}  // namespace shoal::registry_views

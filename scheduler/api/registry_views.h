// What the registry files of the Api (api_registry.cc, api_registry_data.cc) share: artifact
// names, the JSON of cards and versions, and reading a card from a request body. Internal to
// scheduler/api/; not an API.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "scheduler/api/http_server.h"
#include "scheduler/registry/registry_db.h"

namespace shoal::registry_views {

// "KIND/ACCOUNT/NAME".
std::string Key(const ArtifactRecord& a);
nlohmann::json VersionJson(const VersionRecord& v);
// The card as GET /v1/KIND/A/N answers it; with `versions`, their list and total bytes.
nlohmann::json CardJson(const ArtifactRecord& a, const std::vector<VersionRecord>* versions);
// The card fields of a PUT body (or a publish request) into `a`; InvalidArgument naming the
// field.
Status ReadCard(const nlohmann::json& body, ArtifactRecord* a);
// The request's header `name` (lower-case), or "".
std::string HeaderOr(const HttpRequest& req, const char* name);

}  // namespace shoal::registry_views

#include "scheduler/api/routes.h"

#include "scheduler/api/http_server.h"  // PathSegments

namespace shoal {

const std::vector<Route>& Routes() {
  static const std::vector<Route> kRoutes = {
      {RouteId::kHealthz, "/healthz", true, BodyKind::kDefault},
      {RouteId::kReadyz, "/readyz", true, BodyKind::kDefault},
      {RouteId::kMetrics, "/metrics", true, BodyKind::kDefault},
      {RouteId::kVersion, "/v1/version", true, BodyKind::kDefault},
      {RouteId::kJobs, "/v1/jobs", false, BodyKind::kJobSpec},
      {RouteId::kJob, "/v1/jobs/{id}", false, BodyKind::kDefault},
      {RouteId::kJobLogs, "/v1/jobs/{id}/logs", false, BodyKind::kDefault},
      {RouteId::kJobMetrics, "/v1/jobs/{id}/metrics", false, BodyKind::kDefault},
      {RouteId::kJobCheckpoints, "/v1/jobs/{id}/checkpoints", false, BodyKind::kDefault},
      {RouteId::kJobCheckpoint, "/v1/jobs/{id}/checkpoints/{step}", false, BodyKind::kCheckpoint},
      {RouteId::kJobPublish, "/v1/jobs/{id}/publish", false, BodyKind::kDefault},
      {RouteId::kJobKv, "/v1/jobs/{id}/attempts/{attempt}/kv/{key}", false, BodyKind::kDefault,
       /*rest=*/true},
      {RouteId::kWorkers, "/v1/workers", false, BodyKind::kDefault},
      {RouteId::kWorkerRegister, "/v1/workers/register", false, BodyKind::kDefault},
      {RouteId::kWorker, "/v1/workers/{id}", false, BodyKind::kDefault},
      {RouteId::kWorkerHeartbeat, "/v1/workers/{id}/heartbeat", false, BodyKind::kDefault},
      {RouteId::kWorkerEvents, "/v1/workers/{id}/events", false, BodyKind::kDefault},
      {RouteId::kWorkerClear, "/v1/workers/{id}/clear", false, BodyKind::kDefault},
      {RouteId::kAccounts, "/v1/accounts", false, BodyKind::kDefault},
      {RouteId::kAccountsHistory, "/v1/accounts/history", false, BodyKind::kDefault},
      {RouteId::kTokens, "/v1/tokens", false, BodyKind::kDefault},
      {RouteId::kToken, "/v1/tokens/{id}", false, BodyKind::kDefault},
      {RouteId::kWhoami, "/v1/whoami", false, BodyKind::kDefault},
      {RouteId::kTrace, "/v1/trace", false, BodyKind::kDefault},
      {RouteId::kRegistry, "/v1/datasets", false, BodyKind::kDefault},
      {RouteId::kRegistry, "/v1/models", false, BodyKind::kDefault},
      {RouteId::kRegistryArtifact, "/v1/datasets/{account}/{name}", false, BodyKind::kDefault},
      {RouteId::kRegistryArtifact, "/v1/models/{account}/{name}", false, BodyKind::kDefault},
      {RouteId::kRegistrySub, "/v1/datasets/{account}/{name}/{sub}", false, BodyKind::kDefault},
      {RouteId::kRegistrySub, "/v1/models/{account}/{name}/{sub}", false, BodyKind::kDefault},
      {RouteId::kRegistryItem, "/v1/datasets/{account}/{name}/{sub}/{item}", false,
       BodyKind::kRegistry},
      {RouteId::kRegistryItem, "/v1/models/{account}/{name}/{sub}/{item}", false,
       BodyKind::kRegistry},
      // Open: the login checks the token it is given, and the assets hold no data.
      {RouteId::kUiSession, "/ui/api/session", true, BodyKind::kDefault},
      {RouteId::kUi, "/ui", true, BodyKind::kDefault},
      {RouteId::kUi, "/ui/{file}", true, BodyKind::kDefault, /*rest=*/true},
  };
  return kRoutes;
}

RouteMatch MatchRoute(std::string_view path) {
  // The patterns' segments, split once (they point into the static patterns).
  static const std::vector<std::vector<std::string_view>> kSegments = [] {
    std::vector<std::vector<std::string_view>> out;
    for (const Route& route : Routes()) out.push_back(PathSegments(route.pattern));
    return out;
  }();
  const std::vector<std::string_view> parts = PathSegments(path);
  for (size_t r = 0; r < Routes().size(); ++r) {
    const Route& route = Routes()[r];
    const std::vector<std::string_view>& want = kSegments[r];
    std::vector<std::string> params;
    bool ok = true;
    size_t i = 0;
    for (; ok && i < want.size(); ++i) {
      const std::string_view w = want[i];
      const bool param = w.size() > 2 && w.front() == '{' && w.back() == '}';
      if (param && route.rest && i + 1 == want.size()) {  // the rest, at least one segment
        ok = i < parts.size();
        std::string rest;
        for (size_t j = i; ok && j < parts.size(); ++j) {
          rest += (j == i ? "" : "/") + std::string(parts[j]);
        }
        params.push_back(std::move(rest));
        i = parts.size();
        break;
      }
      ok = i < parts.size() && !parts[i].empty() && (param || parts[i] == w);
      if (ok && param) params.emplace_back(parts[i]);
    }
    if (ok && i == parts.size()) return {&route, std::move(params)};
  }
  return {};
}

}  // namespace shoal

#include "scheduler/api/api_metrics.h"

#include <set>
#include <vector>

#include "scheduler/api/http_server.h"  // PathSegments

namespace shoal {

std::string ApiMetrics::RouteOf(std::string_view path) {
  const std::vector<std::string_view> parts = PathSegments(path);
  if (parts.size() == 1 && (parts[0] == "healthz" || parts[0] == "readyz" || parts[0] == "metrics")) {
    return "/" + std::string(parts[0]);
  }
  if (parts.size() < 2 || parts[0] != "v1") return "other";
  const std::string_view top = parts[1];
  if (top == "accounts" && parts.size() == 2) return "/v1/accounts";
  if (top == "tokens" && parts.size() <= 3) return parts.size() == 2 ? "/v1/tokens" : "/v1/tokens/{id}";
  if (top == "workers") {
    if (parts.size() == 2) return "/v1/workers";
    if (parts.size() == 3) return parts[2] == "register" ? "/v1/workers/register" : "/v1/workers/{id}";
    if (parts.size() == 4 && (parts[3] == "heartbeat" || parts[3] == "events")) {
      return "/v1/workers/{id}/" + std::string(parts[3]);
    }
    return "other";
  }
  if (top != "jobs") return "other";
  if (parts.size() == 2) return "/v1/jobs";
  if (parts.size() == 3) return "/v1/jobs/{id}";
  if (parts.size() == 4 && (parts[3] == "logs" || parts[3] == "metrics" || parts[3] == "checkpoints")) {
    return "/v1/jobs/{id}/" + std::string(parts[3]);
  }
  if (parts.size() == 5 && parts[3] == "checkpoints") return "/v1/jobs/{id}/checkpoints/{step}";
  if (parts.size() >= 7 && parts[3] == "attempts" && parts[5] == "kv") {
    return "/v1/jobs/{id}/attempts/{attempt}/kv/{key}";
  }
  return "other";
}

void ApiMetrics::Observe(std::string_view method, std::string_view path, int status,
                         double seconds) {
  static const std::set<std::string, std::less<>> kMethods = {"GET", "POST", "PUT", "DELETE"};
  const std::string m = kMethods.count(method) ? std::string(method) : "other";
  const std::string route = RouteOf(path);
  auto it = latency_.find({m, route});
  if (it == latency_.end()) it = latency_.emplace(std::make_pair(m, route), LatencyBuckets()).first;
  it->second.Observe(seconds);
  ++requests_[{route, status}];
}

void ApiMetrics::Render(std::string* out) const {
  Header(out, "shoal_api_request_duration_seconds", "histogram",
         "Time to answer an API request (long-polls included), by method and route.");
  for (const auto& [key, h] : latency_) {
    h.Render("shoal_api_request_duration_seconds",
             Label("method", key.first) + "," + Label("route", key.second), out);
  }
  Header(out, "shoal_api_requests_total", "counter", "API requests answered, by route and status.");
  for (const auto& [key, n] : requests_) {
    Sample(out, "shoal_api_requests_total",
           Label("route", key.first) + "," + Label("code", std::to_string(key.second)),
           static_cast<double>(n));
  }
}

}  // namespace shoal

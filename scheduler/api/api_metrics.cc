#include "scheduler/api/api_metrics.h"

#include <set>
#include <vector>

#include "scheduler/api/routes.h"

namespace shoal {

std::string ApiMetrics::RouteOf(std::string_view path) {
  const RouteMatch match = MatchRoute(path);
  return match.route != nullptr ? match.route->pattern : "other";
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

// The API's own Prometheus families (GET /metrics appends them to scheduler/metrics.h's):
// request latency by method and route, and requests by route and status.
// Not thread-safe: used from the scheduler's event-loop thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "scheduler/metrics.h"

namespace shoal {

// API request latency by method and route (the path with ids replaced: "/v1/jobs/{id}/logs").
class ApiMetrics {
 public:
  void Observe(std::string_view method, std::string_view path, int status, double seconds);
  void Render(std::string* out) const;
  // "/v1/jobs/17/attempts/2/kv/x" -> "/v1/jobs/{id}/attempts/{attempt}/kv/{key}"; unknown shapes
  // become "other", so a client cannot make up label values.
  static std::string RouteOf(std::string_view path);

 private:
  std::map<std::pair<std::string, std::string>, Histogram> latency_;  // (method, route)
  std::map<std::pair<std::string, int>, uint64_t> requests_;         // (route, status)
};

}  // namespace shoal

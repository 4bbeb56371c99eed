// The API's route table (scheduler/api/routes.h): what each path matches and what it captures.
#include "scheduler/api/routes.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace shoal {
namespace {

std::string PatternOf(std::string_view path) {
  const RouteMatch m = MatchRoute(path);
  return m.route != nullptr ? m.route->pattern : "none";
}

TEST(RoutesTest, EveryPathMatchesItsRouteAndCapturesItsParameters) {
  EXPECT_EQ(PatternOf("/healthz"), "/healthz");
  EXPECT_EQ(PatternOf("/v1/version"), "/v1/version");
  EXPECT_EQ(PatternOf("/v1/jobs"), "/v1/jobs");
  EXPECT_EQ(PatternOf("/v1/jobs/"), "/v1/jobs");  // a trailing slash is no other path
  EXPECT_EQ(PatternOf("/v1/jobs/17"), "/v1/jobs/{id}");
  EXPECT_EQ(PatternOf("/v1/jobs/17/logs"), "/v1/jobs/{id}/logs");
  EXPECT_EQ(PatternOf("/v1/workers/register"), "/v1/workers/register");  // before {id}
  EXPECT_EQ(PatternOf("/v1/workers/w-3"), "/v1/workers/{id}");
  EXPECT_EQ(PatternOf("/v1/workers/w-3/heartbeat"), "/v1/workers/{id}/heartbeat");
  EXPECT_EQ(PatternOf("/v1/workers/w-3/clear"), "/v1/workers/{id}/clear");
  EXPECT_EQ(PatternOf("/v1/tokens/4"), "/v1/tokens/{id}");
  EXPECT_EQ(PatternOf("/v1/accounts/history"), "/v1/accounts/history");
  EXPECT_EQ(PatternOf("/v1/trace"), "/v1/trace");
  const RouteMatch ckpt = MatchRoute("/v1/jobs/5/checkpoints/400");
  ASSERT_NE(ckpt.route, nullptr);
  EXPECT_EQ(ckpt.route->id, RouteId::kJobCheckpoint);
  EXPECT_EQ(ckpt.route->body, BodyKind::kCheckpoint);
  EXPECT_EQ(ckpt.params, (std::vector<std::string>{"5", "400"}));
  const RouteMatch kv = MatchRoute("/v1/jobs/3/attempts/2/kv/gloo/rank/1");
  ASSERT_NE(kv.route, nullptr);
  EXPECT_EQ(kv.route->id, RouteId::kJobKv);
  EXPECT_EQ(kv.params, (std::vector<std::string>{"3", "2", "gloo/rank/1"}));
  for (const char* none : {"/", "/v1", "/v1/jobs/1/nope", "/v1/jobs/1/attempts/2/kv",
                           "/v1/accounts/x", "/v1/tokens/1/2", "/other"}) {
    EXPECT_EQ(MatchRoute(none).route, nullptr) << none;
  }
}

// Open: the probes, /metrics, /v1/version, and the dashboard's assets and login (which checks the
// token it is given itself).
TEST(RoutesTest, OnlyProbesMetricsVersionAndTheDashboardAreOpenAndPatternsAreUnique) {
  std::set<std::string> patterns;
  for (const Route& r : Routes()) {
    EXPECT_TRUE(patterns.insert(r.pattern).second) << r.pattern;
    const std::string p = r.pattern;
    EXPECT_EQ(r.open, p == "/healthz" || p == "/readyz" || p == "/metrics" ||
                          p == "/v1/version" || p == "/ui" || p == "/ui/{file}" ||
                          p == "/ui/api/session")
        << p;
    // Each pattern matches itself (its parameters as literal segments).
    EXPECT_EQ(MatchRoute(p).route, &r) << p;
  }
}

}  // namespace
}  // namespace shoal

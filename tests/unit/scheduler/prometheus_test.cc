// Histogram output of scheduler/metrics.h and route labels of scheduler/api/api_metrics.h.
#include "scheduler/metrics.h"

#include "scheduler/api/api_metrics.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(HistogramTest, BucketsAreCumulativeWithSumAndCount) {
  Histogram h({0.1, 1});
  h.Observe(0.05);
  h.Observe(0.1);  // on a bound: counted in that bucket (le = less or equal)
  h.Observe(0.5);
  h.Observe(7);
  std::string out;
  h.Render("x_seconds", "a=\"b\"", &out);
  EXPECT_EQ(out,
            "x_seconds_bucket{a=\"b\",le=\"0.1\"} 2\n"
            "x_seconds_bucket{a=\"b\",le=\"1\"} 3\n"
            "x_seconds_bucket{a=\"b\",le=\"+Inf\"} 4\n"
            "x_seconds_sum{a=\"b\"} 7.65\n"
            "x_seconds_count{a=\"b\"} 4\n");
}

TEST(ApiMetricsTest, RoutesAreTemplatesSoClientsCannotMintLabels) {
  EXPECT_EQ(ApiMetrics::RouteOf("/v1/jobs"), "/v1/jobs");
  EXPECT_EQ(ApiMetrics::RouteOf("/v1/jobs/17"), "/v1/jobs/{id}");
  EXPECT_EQ(ApiMetrics::RouteOf("/v1/jobs/17/logs"), "/v1/jobs/{id}/logs");
  EXPECT_EQ(ApiMetrics::RouteOf("/v1/jobs/3/attempts/2/kv/a/b"),
            "/v1/jobs/{id}/attempts/{attempt}/kv/{key}");
  EXPECT_EQ(ApiMetrics::RouteOf("/v1/workers/w-9/heartbeat"), "/v1/workers/{id}/heartbeat");
  EXPECT_EQ(ApiMetrics::RouteOf("/v1/tokens/4"), "/v1/tokens/{id}");
  EXPECT_EQ(ApiMetrics::RouteOf("/metrics"), "/metrics");
  EXPECT_EQ(ApiMetrics::RouteOf("/v1/jobs/1/\"evil\nlabel"), "other");
  EXPECT_EQ(ApiMetrics::RouteOf("/anything/else"), "other");
  ApiMetrics m;
  m.Observe("BREW", "/v1/jobs", 405, 0.001);
  std::string out;
  m.Render(&out);
  EXPECT_NE(out.find("method=\"other\",route=\"/v1/jobs\""), std::string::npos) << out;
  EXPECT_NE(out.find("shoal_api_requests_total{route=\"/v1/jobs\",code=\"405\"} 1"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace shoal

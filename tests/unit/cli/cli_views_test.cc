// The CLI's formatters on typed views (common/wire/): they say what their JSON forms say of the
// same reply, and a view the scheduler renders reads back into the same lines.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/format.h"
#include "cli/progress.h"
#include "common/wire/job_view.h"
#include "common/wire/worker_view.h"

namespace shoal::cli {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'750'000'000'000;

wire::JobView Pending() {
  wire::JobView v;
  v.id = 7;
  v.state = "PENDING";
  v.reason = "Resources";
  v.reason_message = "needs 3 workers";
  v.submitted_ms = kNow - 12'000;
  v.estimated_start_ms = kNow + 90'000;
  v.workers_min = 3;
  v.workers_max = 3;
  return v;
}

TEST(CliViewsTest, TypedAndJsonFormsAgree) {
  const wire::JobView v = Pending();
  const json j = wire::ToJson(v);
  EXPECT_EQ(FormatLiveLine(v, kNow), "PENDING 12s (Resources): needs 3 workers | starts in 1m30s");
  EXPECT_EQ(FormatLiveLine(j, kNow), FormatLiveLine(v, kNow));
  EXPECT_EQ(ReasonText(v), "Resources: needs 3 workers");
  EXPECT_EQ(ReasonText(j), ReasonText(v));
  EXPECT_EQ(FormatEstimatedStart(j, kNow), FormatEstimatedStart(v, kNow));
  EXPECT_EQ(FormatProgressSummary(v), "-");

  wire::JobView done = v;
  done.state = "SUCCEEDED";
  done.finished_ms = kNow;
  done.result = {{"testAccuracy", 0.8778}};
  EXPECT_EQ(FormatFinalLine(done), "job 7 SUCCEEDED in 12s: test accuracy 0.8778");
  EXPECT_EQ(FormatFinalLine(wire::ToJson(done)), FormatFinalLine(done));
  EXPECT_EQ(FormatProgressSummary(done), "acc 0.878");
}

TEST(CliViewsTest, TypedGpusFormatLikeTheirJson) {
  const std::vector<wire::GpuView> gpus = {
      {"H200", 143771, "9.0"}, {"T4", 15360, "7.5"}, {"H200", 143771, "9.0"}};
  EXPECT_EQ(FormatGpus(gpus), "2x H200 140GiB, 1x T4 15GiB");
  json j = json::array();
  for (const auto& g : gpus) j.push_back(wire::ToJson(g));
  EXPECT_EQ(FormatGpus(j), FormatGpus(gpus));
  EXPECT_EQ(FormatGpus(std::vector<wire::GpuView>{}), "-");
}

}  // namespace
}  // namespace shoal::cli

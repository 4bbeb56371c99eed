// Heterogeneity-aware placement in the daemon (scheduler/gpu_speeds.h): the seed table, online
// measurements per (kind of job, GPU type), and the scheduler placing jobs by comparative
// advantage (policy/hetero.h) from them.
#include "scheduler/gpu_speeds.h"

#include <gtest/gtest.h>

#include "tests/unit/scheduler/scheduler_fixture.h"

namespace shoal {
namespace {

const std::string kH100 = "NVIDIA H100 80GB HBM3", kV100 = "Tesla V100-SXM2-32GB";

TEST(GpuSpeedsTest, SeedTablesParseAndBadOnesAreRefused) {
  auto s = ParseGpuSpeeds("H100=2.6,A100=1,RTX4090=0.55");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 3u);
  EXPECT_DOUBLE_EQ(s->at("H100"), 2.6);
  EXPECT_TRUE(ParseGpuSpeeds("")->empty());
  for (const char* bad : {"H100", "H100=", "=2", "H100=0", "H100=-1", "H100=fast", "H100=2x"}) {
    EXPECT_FALSE(ParseGpuSpeeds(bad).ok()) << bad;
  }
}

TEST(GpuSpeedsTest, SpeedsComeFromSeedsUntilMeasuredThenFromMeasurements) {
  GpuSpeedBook book({{"H100", 2}, {"V100", 1}});
  const std::vector<std::string> types = {kH100, kV100};
  // Seeds only, relative (averaging 1): 2:1.
  auto s = book.Speeds("a", types);
  EXPECT_NEAR(s[0] / s[1], 2.0, 1e-9);
  EXPECT_NEAR(s[0] + s[1], 2.0, 1e-9);
  // Measured on both: the measurements (an EWMA of reports) decide.
  book.Observe("a", kH100, 300);
  book.Observe("a", kV100, 100);
  s = book.Speeds("a", types);
  EXPECT_NEAR(s[0] / s[1], 3.0, 1e-9);
  book.Observe("a", kV100, 200);  // 0.7 x 100 + 0.3 x 200 = 130
  s = book.Speeds("a", types);
  EXPECT_NEAR(s[0] / s[1], 300.0 / 130.0, 1e-9);
  // Measured on one type only: the seed gives the other, scaled to the measurement.
  book.Observe("b", kV100, 50);
  s = book.Speeds("b", types);
  EXPECT_NEAR(s[0] / s[1], 2.0, 1e-9);
  // Rates that mean nothing are ignored.
  book.Observe("c", kV100, 0);
  book.Observe("c", kV100, std::nan(""));
  book.Observe("c", "", 10);
  EXPECT_NEAR(book.Speeds("c", types)[0] / book.Speeds("c", types)[1], 2.0, 1e-9);
}

TEST(GpuSpeedsTest, KindsAreBoundedForgettingTheLeastRecentlyReported) {
  GpuSpeedBook book({{"H100", 2}, {"V100", 1}});
  const std::vector<std::string> types = {kH100, kV100};
  // Every kind measured alike on both types (1:1, where the seeds say 2:1).
  for (size_t i = 0; i < GpuSpeedBook::kMaxKinds; ++i) {
    book.Observe(std::to_string(i), kV100, 1);
    book.Observe(std::to_string(i), kH100, 1);
  }
  book.Observe("0", kV100, 1);    // reported again: kind "1" is now the oldest...
  book.Observe("new", kV100, 1);  // ...and goes to make room
  EXPECT_NEAR(book.Speeds("1", types)[0], 4.0 / 3.0, 1e-9);  // back to the seeds
  EXPECT_NEAR(book.Speeds("0", types)[0], 1.0, 1e-9);        // still measured
  EXPECT_NEAR(book.Speeds("2", types)[0], 1.0, 1e-9);
}

// A cuda job of one rank whose model's second layer is `width` (its kind of job).
std::string CudaSpec(int width) {
  return "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: g}\nspec:\n"
         "  workers: {min: 1, max: 1}\n  resources: {backend: cuda, gpusPerWorker: 1}\n"
         "  model: {layers: [4, " +
         std::to_string(width) + ", 2]}\n  data: {train: /usr/share/datasets/x}\n";
}

class HeteroPlacementTest : public ::shoal::testing::SchedulerFixture {
 protected:
  void SetUp() override {
    SchedulerFixture::SetUp();
    gpu_speeds_ = {{"H100", 2}, {"V100", 1}};
    Reopen();
  }
  std::string AddGpuWorker(const std::string& name, const std::string& gpu) {
    WorkerRegistration reg{name, "host", 1, 2, {}};
    reg.gpus = {GpuInfo{gpu, 32 * 1024, "8.0"}};
    auto w = sched_->RegisterWorker(reg);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    return (*w)->id;
  }
  // Runs a job of kind `width`, which must land on `on` (the only free worker), reports `rate`
  // samples/s, and ends it.
  void RunAndReport(int width, const std::string& on, double rate) {
    const Job* j = Start(width, on);
    nlohmann::json progress = {{"type", "progress"},
                               {"job", j->id},
                               {"attempt", j->current_attempt()->number},
                               {"rank", 0},
                               {"data", {{"samplesPerSec", rate}, {"step", 10}}}};
    ASSERT_TRUE(ApplyEvents(on, nlohmann::json::array({progress})).ok());
    End(*j);
  }
  const Job* Start(int width, const std::string& on) {
    auto job = sched_->Submit(CudaSpec(width), "u");
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    EXPECT_EQ((*job)->state, JobState::kRunning);
    EXPECT_EQ((*job)->current_attempt()->ranks[0].worker_id, on);
    return *job;
  }
  void End(const Job& j) {
    const std::string w = j.current_attempt()->ranks[0].worker_id;
    ASSERT_TRUE(ApplyEvents(w, nlohmann::json::array({Exit(j, 0, 0)})).ok());
    ASSERT_EQ(j.state, JobState::kSucceeded);
  }
};

TEST_F(HeteroPlacementTest, MeasuredSpeedsSendEachKindToTheTypeItGainsMostOn) {
  const std::string h = AddGpuWorker("h", kH100), v = AddGpuWorker("v", kV100);
  // Measurements, each kind on each type, forced by a blocker on the other worker: kind 8 gains
  // 3x on the H100, kind 16 1.1x. Before any, placement is type-blind (lowest id: h).
  auto rate = [&](int width, const std::string& on) {
    return on == h ? (width == 8 ? 300.0 : 110.0) : 100.0;
  };
  const Job* blocker = Start(99, h);
  RunAndReport(8, v, rate(8, v));
  RunAndReport(16, v, rate(16, v));
  const Job* blocker2 = Start(99, v);
  End(*blocker);
  RunAndReport(8, h, rate(8, h));
  RunAndReport(16, h, rate(16, h));
  End(*blocker2);
  // Both busy; the kind that gains little is queued first, then the one that gains 3x. When the
  // workers free up, the first takes the V100 and leaves the H100 to the second.
  const Job* b1 = Start(99, h);
  const Job* b2 = Start(99, v);
  auto small = sched_->Submit(CudaSpec(16), "u");
  auto big = sched_->Submit(CudaSpec(8), "u");
  ASSERT_TRUE(small.ok() && big.ok());
  EXPECT_EQ((*small)->state, JobState::kPending);
  End(*b1);
  End(*b2);
  ASSERT_EQ((*small)->state, JobState::kRunning);
  ASSERT_EQ((*big)->state, JobState::kRunning);
  EXPECT_EQ((*small)->current_attempt()->ranks[0].worker_id, v);
  EXPECT_EQ((*big)->current_attempt()->ranks[0].worker_id, h);
}

TEST_F(HeteroPlacementTest, WithoutGpuSpeedsPlacementIsTypeBlind) {
  gpu_speeds_.clear();
  Reopen();
  const std::string h = AddGpuWorker("h", kH100), v = AddGpuWorker("v", kV100);
  const Job* blocker = Start(99, h);
  RunAndReport(8, v, 100);
  End(*blocker);
  RunAndReport(8, h, 300);
  // Measured 3x faster on the H100, but nobody asked for heterogeneity-aware placement: the
  // first queued job gets the first worker freed, whatever it would gain elsewhere.
  const Job* b1 = Start(99, h);
  const Job* b2 = Start(99, v);
  auto small = sched_->Submit(CudaSpec(16), "u");
  auto big = sched_->Submit(CudaSpec(8), "u");
  ASSERT_TRUE(small.ok() && big.ok());
  End(*b1);
  End(*b2);
  EXPECT_EQ((*small)->current_attempt()->ranks[0].worker_id, h);
  EXPECT_EQ((*big)->current_attempt()->ranks[0].worker_id, v);
}

}  // namespace
}  // namespace shoal

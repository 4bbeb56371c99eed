// Quotas and retention (docs/security.md §3) on a real SQLite store with a fake clock: active
// jobs and spec size per account, the per-job log cap and metric thinning, and how long a
// finished job's logs and checkpoints are kept.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "scheduler/scheduler.h"
#include "tests/testing/test_util.h"
#include "tests/unit/scheduler/scheduler_fixture.h"

namespace shoal {
namespace {

using nlohmann::json;

std::string TinySpec(const std::string& extra = "") {
  return ::shoal::testing::ReadFile(::shoal::testing::RepoRoot() / "configs/jobs/tiny-mlp.yaml") +
         extra;
}

class QuotaTest : public ::shoal::testing::SchedulerFixture {
 protected:
  // A running one-rank job of `owner` on a fresh worker; returns its id.
  int64_t RunningJob(const std::string& owner = "alice", const std::string& extra = "") {
    auto w = sched_->RegisterWorker({"w" + std::to_string(++workers_), "host", 1, 2, {}});
    EXPECT_TRUE(w.ok());
    worker_ = (*w)->id;
    auto job = sched_->Submit(TinySpec(extra), owner);
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    EXPECT_EQ((*job)->state, JobState::kRunning);
    worker_of_[(*job)->id] = worker_;
    return (*job)->id;
  }
  Status Log(int64_t job, const std::vector<std::string>& lines) {
    return ApplyEvents(
        worker_of_.at(job),
        json::array(
            {{{"type", "log"}, {"job", job}, {"attempt", 1}, {"rank", 0}, {"lines", lines}}}));
  }
  int workers_ = 0;
  std::string worker_;  // the newest job's
  std::map<int64_t, std::string> worker_of_;
};

TEST_F(QuotaTest, AnAccountsUnfinishedJobsAreCapped) {
  quotas_.max_active_jobs = 2;
  Reopen();
  ASSERT_TRUE(sched_->Submit(TinySpec(), "alice").ok());
  auto second = sched_->Submit(TinySpec(), "alice");
  ASSERT_TRUE(second.ok());
  std::string field;
  auto third = sched_->Submit(TinySpec(), "alice", &field);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(field, "maxActiveJobs");
  EXPECT_NE(third.status().message().find("account alice has 2 unfinished jobs"), std::string::npos)
      << third.status().message();
  EXPECT_EQ(sched_->ListJobs(std::nullopt, "alice").size(), 2u) << "the refused one was stored";
  EXPECT_TRUE(sched_->Submit(TinySpec(), "bob").ok()) << "another account has its own cap";
  // A finished job frees its place; the count survives a restart.
  ASSERT_TRUE(sched_->Cancel((*second)->id).ok());
  ASSERT_TRUE(sched_->Submit(TinySpec(), "alice").ok());
  Reopen();
  EXPECT_FALSE(sched_->Submit(TinySpec(), "alice").ok());
}

TEST_F(QuotaTest, ASpecOverTheSizeCapIsRefused) {
  quotas_.max_spec_bytes = 4096;
  Reopen();
  std::string field;
  auto big = sched_->Submit(TinySpec("# " + std::string(5000, 'x') + "\n"), "alice", &field);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(field, "spec");
  EXPECT_NE(big.status().message().find("at most 4096"), std::string::npos);
  EXPECT_TRUE(sched_->ListJobs(std::nullopt, "").empty());
  EXPECT_TRUE(sched_->Submit(TinySpec(), "alice").ok());
}

TEST_F(QuotaTest, AJobsLogKeepsTheNewestLinesUnderItsCapWithAMarker) {
  quotas_.job_log_bytes = 64 << 10;
  Reopen();
  const int64_t id = RunningJob();
  // 300 lines of 1,000 bytes, in batches: 4.6 times the cap.
  for (int batch = 0; batch < 30; ++batch) {
    std::vector<std::string> lines;
    for (int i = 0; i < 10; ++i) {
      std::string n = std::to_string(batch * 10 + i);
      lines.push_back(n + std::string(1000 - n.size(), '.'));
    }
    ASSERT_TRUE(Log(id, lines).ok());
  }
  auto bytes = store_->LogBytes(id);
  ASSERT_TRUE(bytes.ok());
  EXPECT_LE(*bytes, 64 << 10);
  EXPECT_GE(*bytes, 40 << 10) << "dropped far more than needed";
  auto lines = store_->ReadLogs(id, 0, -1, 1000);
  ASSERT_TRUE(lines.ok());
  ASSERT_GE(lines->size(), 2u);
  // The marker comes first, where the dropped lines were; then the newest lines, in order.
  EXPECT_EQ(lines->front().rank, Store::kSchedulerLogRank);
  EXPECT_NE(lines->front().line.find("older lines of this job's log were dropped"),
            std::string::npos);
  EXPECT_EQ(lines->back().line.substr(0, 3), "299");
  for (size_t i = 1; i < lines->size(); ++i) EXPECT_LT((*lines)[i - 1].seq, (*lines)[i].seq);
  // A reader of one rank sees the marker too.
  auto rank0 = store_->ReadLogs(id, 0, 0, 1);
  ASSERT_TRUE(rank0.ok());
  EXPECT_EQ(rank0->front().rank, Store::kSchedulerLogRank);
  // After a restart the cap still holds (the size is learned from the store).
  Reopen();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(Log(id, {std::string(1000, 'z')}).ok());
  EXPECT_LE(*store_->LogBytes(id), 64 << 10);
}

TEST_F(QuotaTest, ReadLogsStopsAtItsByteBudget) {
  const int64_t id = RunningJob();
  ASSERT_TRUE(Log(id, {std::string(600, 'a'), std::string(600, 'b'), std::string(600, 'c')}).ok());
  auto page = store_->ReadLogs(id, 0, -1, 100, 1000);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->size(), 2u);  // the line that reaches the budget is the last
  auto one = store_->ReadLogs(id, 0, -1, 100, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u) << "a line larger than the budget still comes alone";
  auto rest = store_->ReadLogs(id, (*page)[1].seq, -1, 100, 1000);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ(rest->front().line[0], 'c');
  // A read-only second connection (the API's log thread) sees what the writer committed.
  auto reader = Store::OpenReader(dir_);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  auto all = (*reader)->ReadLogs(id, 0, -1, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);
  EXPECT_FALSE((*reader)->AppendLogs(id, 1, 0, 1, {"x"}).ok()) << "the reader is read-only";
}

TEST_F(QuotaTest, MetricPointsAreThinnedNotTruncated) {
  quotas_.job_metric_points = 100;
  Reopen();
  const int64_t id = RunningJob();
  for (int step = 1; step <= 400; ++step) {
    ASSERT_TRUE(ApplyEvents(worker_, json::array({{{"type", "progress"},
                                                         {"job", id},
                                                         {"attempt", 1},
                                                         {"rank", 0},
                                                         {"data", {{"step", step}}}}}))
                    .ok());
  }
  auto points = store_->ReadMetrics(id, 100000);
  ASSERT_TRUE(points.ok());
  EXPECT_LE(points->size(), 100u);
  EXPECT_GE(points->size(), 50u);
  EXPECT_EQ(points->front()["step"], 1) << "the start of the curve stays";
  EXPECT_EQ(points->back()["step"], 400) << "the newest point stays";
}

TEST_F(QuotaTest, AFinishedJobsLogsGoAfterTheRetention) {
  quotas_.log_retention_ms = 3600 * 1000;
  Reopen();
  const int64_t ended = RunningJob();
  const int64_t running = RunningJob();
  ASSERT_TRUE(Log(ended, {"old"}).ok());
  ASSERT_TRUE(Log(running, {"still running"}).ok());
  ASSERT_TRUE(sched_->Cancel(ended).ok());
  now_ += 1800 * 1000;
  sched_->RunCycle();
  EXPECT_EQ(store_->ReadLogs(ended, 0, -1, 10)->size(), 1u) << "deleted before its time";
  now_ += 1900 * 1000;
  sched_->RunCycle();
  EXPECT_TRUE(store_->ReadLogs(ended, 0, -1, 10)->empty());
  EXPECT_EQ(store_->ReadLogs(running, 0, -1, 10)->size(), 1u);
  EXPECT_NE(sched_->FindJob(ended), nullptr) << "the job's record stays";
}

TEST_F(QuotaTest, CheckpointsExpireUnlessKeptOnPurpose) {
  quotas_.checkpoint_retention_ms = 3600 * 1000;
  Reopen();
  const int64_t plain = RunningJob();
  std::string spec = TinySpec();
  const std::string flow = "checkpoint: {everySeconds: 0, keep: 1}";
  ASSERT_NE(spec.find(flow), std::string::npos);
  spec.replace(spec.find(flow), flow.size(),
               "checkpoint: {everySeconds: 0, keep: 1, keepAfterEnd: true}");
  auto keeper = sched_->Submit(spec, "alice");
  ASSERT_TRUE(keeper.ok()) << keeper.status().ToString();
  EXPECT_TRUE((*keeper)->spec.checkpoint.keep_after_end);
  EXPECT_FALSE(sched_->CheckpointsExpired(plain)) << "a running job's";
  for (int64_t id : {plain, (*keeper)->id}) ASSERT_TRUE(sched_->Cancel(id).ok());
  EXPECT_FALSE(sched_->CheckpointsExpired(plain));
  now_ += 3600 * 1000;
  EXPECT_TRUE(sched_->CheckpointsExpired(plain));
  EXPECT_FALSE(sched_->CheckpointsExpired((*keeper)->id));
  EXPECT_TRUE(sched_->CheckpointsExpired(987654)) << "an unknown job's are orphans";
}

}  // namespace
}  // namespace shoal

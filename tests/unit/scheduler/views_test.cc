// The API's job and worker views (scheduler/api/views.h): the JSON of each job state, byte for
// byte, as clients have always read it (these literals were checked against the views as they
// were spelled by hand before common/wire/job_view.h).
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "common/spec/job_spec.h"
#include "scheduler/api/views.h"
#include "scheduler/state/records.h"

namespace shoal {
namespace {

using nlohmann::json;

Job PendingJob() {
  Job job;
  job.id = 7;
  job.owner = "alice";
  job.spec.metadata.name = "mnist";
  job.spec.metadata.project = "vision";
  job.spec.queue = "default";
  job.spec.priority = 500;
  job.spec.workers.min = 2;
  job.spec.workers.max = 4;
  job.state = JobState::kPending;
  job.reason = "Resources";
  job.submitted_ms = 1000;
  job.reason_message = "needs 2 ranks";
  job.estimated_start_ms = 5000;
  return job;
}

// Running its second attempt: the first failed with one rank exited by a signal.
Job RunningJob() {
  Job job = PendingJob();
  job.state = JobState::kRunning;
  job.reason = "";
  job.started_ms = 2000;
  Attempt first;
  first.number = 1;
  first.world_size = 2;
  first.state = AttemptState::kFailed;
  first.reason = "RankFailed";
  first.started_ms = 2000;
  first.ended_ms = 3000;
  first.ranks = {{0, "w-1", RankState::kExited, 1, 0, "boom", json(), std::nullopt},
                 {1, "w-2", RankState::kExited, -1, 9, "", json::object(), std::nullopt}};
  Attempt second;
  second.number = 2;
  second.world_size = 2;
  second.started_ms = 4000;
  second.ranks = {{0, "w-1", RankState::kRunning, 0, 0, "", json(), std::nullopt},
                  {1, "w-3", RankState::kAssigned, 0, 0, "", json(), std::nullopt}};
  job.attempts = {first, second};
  job.progress = {{"epoch", 1}, {"loss", 0.5}};
  job.events = {{1000, "submitted", ""}, {2000, "started", "2 ranks on w-1, w-2"}};
  return job;
}

TEST(ViewsTest, PendingJobCarriesItsReasonMessageAndEstimate) {
  EXPECT_EQ(ToJson(PendingJob(), false).dump(),
            R"({"attempts":0,"estimatedStartMs":5000,"finishedMs":0,"id":7,"name":"mnist",)"
            R"("owner":"alice","priority":500,"progress":{},"project":"vision",)"
            R"("queue":"default","reason":"Resources","reasonMessage":"needs 2 ranks",)"
            R"("result":{},"startedMs":0,"state":"PENDING","submittedMs":1000,)"
            R"("workers":{"max":4,"min":2}})");
  // Without numbers from the last cycle, neither key.
  Job bare = PendingJob();
  bare.reason_message = "";
  bare.estimated_start_ms = 0;
  EXPECT_EQ(ToJson(bare, false).dump(),
            R"({"attempts":0,"finishedMs":0,"id":7,"name":"mnist",)"
            R"("owner":"alice","priority":500,"progress":{},"project":"vision",)"
            R"("queue":"default","reason":"Resources",)"
            R"("result":{},"startedMs":0,"state":"PENDING","submittedMs":1000,)"
            R"("workers":{"max":4,"min":2}})");
}

TEST(ViewsTest, RunningJobShowsItsPlacementButNotTheWaitingNumbers) {
  EXPECT_EQ(ToJson(RunningJob(), false).dump(),
            R"({"attempts":2,"finishedMs":0,"id":7,"name":"mnist",)"
            R"("owner":"alice","placement":["w-1","w-3"],"priority":500,)"
            R"("progress":{"epoch":1,"loss":0.5},"project":"vision",)"
            R"("queue":"default","reason":"",)"
            R"("result":{},"startedMs":2000,"state":"RUNNING","submittedMs":1000,)"
            R"("workers":{"max":4,"min":2},"worldSize":2})");
}

TEST(ViewsTest, DetailAddsAttemptsSpecAndTimeline) {
  Job job = RunningJob();
  job.events_dropped = 3;
  json j = ToJson(job, true);
  EXPECT_EQ(j["spec"], JobSpecToJson(job.spec));
  j.erase("spec");
  EXPECT_EQ(j.dump(), R"({"attemptHistory":[)"
                      R"({"endedMs":3000,"number":1,"ranks":[)"
                      R"({"exitCode":1,"message":"boom","rank":0,"state":"exited","worker":"w-1"},)"
                      R"({"exitCode":-1,"rank":1,"signal":9,"state":"exited","worker":"w-2"}],)"
                      R"("reason":"RankFailed","startedMs":2000,"state":"failed","worldSize":2},)"
                      R"({"number":2,"ranks":[)"
                      R"({"rank":0,"state":"running","worker":"w-1"},)"
                      R"({"rank":1,"state":"assigned","worker":"w-3"}],)"
                      R"("startedMs":4000,"state":"running","worldSize":2}],)"
                      R"("attempts":2,"events":[{"message":"","timeMs":1000,"type":"submitted"},)"
                      R"({"message":"2 ranks on w-1, w-2","timeMs":2000,"type":"started"}],)"
                      R"("eventsDropped":3,"finishedMs":0,"id":7,"name":"mnist",)"
                      R"("owner":"alice","placement":["w-1","w-3"],"priority":500,)"
                      R"("progress":{"epoch":1,"loss":0.5},"project":"vision",)"
                      R"("queue":"default","reason":"",)"
                      R"("result":{},"startedMs":2000,"state":"RUNNING","submittedMs":1000,)"
                      R"("workers":{"max":4,"min":2},"worldSize":2})");
}

TEST(ViewsTest, FinishedRankShowsItsResultAndAPendingJobNoAttemptsInDetail) {
  Job job = RunningJob();
  job.state = JobState::kSucceeded;
  job.finished_ms = 9000;
  RankPlacement done = {0, "w-1", RankState::kExited, 0, 0, "", {{"steps", 3}}, std::nullopt};
  job.attempts.back().ranks[0] = done;
  job.result = {{"testAccuracy", 0.9}};
  const json j = ToJson(job, true);
  EXPECT_EQ(j["attemptHistory"][1]["ranks"][0].dump(),
            R"({"exitCode":0,"rank":0,"result":{"steps":3},"state":"exited","worker":"w-1"})");
  EXPECT_EQ(j["result"].dump(), R"({"testAccuracy":0.9})");
  EXPECT_FALSE(j.contains("eventsDropped"));

  const json pending = ToJson(PendingJob(), true);
  EXPECT_EQ(pending["attemptHistory"], json::array());
  EXPECT_EQ(pending["events"], json::array());
  EXPECT_FALSE(pending.contains("worldSize"));
  EXPECT_FALSE(pending.contains("placement"));
}

TEST(ViewsTest, WaitingNumbersAreShownWhileRestarting) {
  Job job = RunningJob();
  job.state = JobState::kRestarting;
  job.reason_message = "retry 1 of 3";
  job.estimated_start_ms = 7000;
  const json j = ToJson(job, false);
  EXPECT_EQ(j["reasonMessage"], "retry 1 of 3");
  EXPECT_EQ(j["estimatedStartMs"], 7000);
  job.state = JobState::kFailed;
  EXPECT_FALSE(ToJson(job, false).contains("reasonMessage"));
  EXPECT_FALSE(ToJson(job, false).contains("estimatedStartMs"));
}

}  // namespace
}  // namespace shoal

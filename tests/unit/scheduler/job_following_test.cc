// What a job's owner sees while following it (the scheduler's side): the event timeline, the
// pending reason in numbers, the submission-time gang warning, queue names, name lookup; and
// worker names that two live agents cannot share. Real SQLite store in a temp dir, fake clock.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "scheduler/api/views.h"
#include "scheduler/scheduler.h"
#include "scheduler/state/state_dir_lock.h"
#include "tests/testing/test_util.h"
#include "tests/unit/scheduler/scheduler_fixture.h"

namespace shoal {
namespace {

using nlohmann::json;

std::string TinySpec(int ranks, const std::string& extra_replace_from = "",
                     const std::string& extra_replace_to = "") {
  std::string s =
      ::shoal::testing::ReadFile(::shoal::testing::RepoRoot() / "configs/jobs/tiny-mlp.yaml");
  s.replace(s.find("min: 1"), 6, "min: " + std::to_string(ranks));
  s.replace(s.find("max: 1"), 6, "max: " + std::to_string(ranks));
  if (!extra_replace_from.empty()) {
    EXPECT_NE(s.find(extra_replace_from), std::string::npos) << extra_replace_from;
    s.replace(s.find(extra_replace_from), extra_replace_from.size(), extra_replace_to);
  }
  return s;
}

std::vector<std::string> Types(const Job& job) {
  std::vector<std::string> out;
  for (const auto& e : job.events) out.push_back(e.type);
  return out;
}

class JobFollowingTest : public ::shoal::testing::SchedulerFixture {
 protected:
  void SetUp() override {
    queues_ = {"default", "gpu"};
    SchedulerFixture::SetUp();
  }
  Result<const Worker*> Register(const std::string& name, const std::string& instance,
                                 int slots = 1) {
    WorkerRegistration reg{name, "host-" + name, slots, 2, {}};
    reg.instance = instance;
    return sched_->RegisterWorker(reg);
  }
};

TEST_F(JobFollowingTest, TimelineFromSubmissionToSuccessSurvivesARestart) {
  auto job = sched_->Submit(TinySpec(2), "alice");
  ASSERT_TRUE(job.ok());
  const int64_t id = (*job)->id;
  ASSERT_EQ(Types(**job), (std::vector<std::string>{"submitted"}));
  EXPECT_NE((*job)->events[0].message.find("by account alice: 2 ranks"), std::string::npos)
      << (*job)->events[0].message;
  auto a = Register("a", "i-a");
  auto b = Register("b", "i-b");
  ASSERT_TRUE(a.ok() && b.ok());
  const Job* j = sched_->FindJob(id);
  ASSERT_EQ(j->state, JobState::kRunning);
  ASSERT_EQ(Types(*j), (std::vector<std::string>{"submitted", "placed"}));
  EXPECT_NE(j->events[1].message.find("rank 0 on w-"), std::string::npos) << j->events[1].message;
  EXPECT_NE(j->events[1].message.find("(a)"), std::string::npos) << j->events[1].message;
  // "started" once every rank is up, not before.
  const std::string w0 = j->current_attempt()->ranks[0].worker_id;
  const std::string w1 = j->current_attempt()->ranks[1].worker_id;
  ASSERT_TRUE(sched_->Heartbeat(w0, {{id, 1, 0}}).ok());
  EXPECT_EQ(Types(*j).size(), 2u);
  ASSERT_TRUE(sched_->Heartbeat(w1, {{id, 1, 1}}).ok());
  ASSERT_TRUE(sched_->Heartbeat(w0, {{id, 1, 0}}).ok());  // no second "started"
  now_ += 1000;
  sched_->RecordCheckpoint(id, 1, 40, 3 << 20);
  ASSERT_TRUE(ApplyEvents(w0, json::array({Exit(*j, 0, 0)})).ok());
  ASSERT_TRUE(ApplyEvents(w1, json::array({Exit(*j, 1, 0)})).ok());
  ASSERT_EQ(j->state, JobState::kSucceeded);
  const std::vector<std::string> want = {"submitted", "placed", "started", "checkpoint",
                                         "succeeded"};
  EXPECT_EQ(Types(*j), want);
  EXPECT_EQ(j->events[3].message, "step 40 of attempt 1 stored (3.0 MiB)");
  // The wire form (GET /v1/jobs/{id}) carries it; a restarted scheduler still has it.
  json wire = ToJson(*j, /*detail=*/true);
  ASSERT_EQ(wire["events"].size(), want.size());
  EXPECT_EQ(wire["events"][3]["type"], "checkpoint");
  EXPECT_EQ(wire["events"][3]["timeMs"], 1'001'000);
  ASSERT_TRUE(sched_->SaveChanges().ok());
  Reopen();
  EXPECT_EQ(Types(*sched_->FindJob(id)), want);
}

TEST_F(JobFollowingTest, RetriesPreemptionsAndCancelsAreExplained) {
  auto job = sched_->Submit(TinySpec(1), "u");
  const int64_t id = (*job)->id;
  auto w = Register("a", "i-a");
  const Job* j = sched_->FindJob(id);
  ASSERT_EQ(j->state, JobState::kRunning);
  json fail = {{"type", "exit"}, {"job", id},     {"attempt", 1},
               {"rank", 0},      {"exitCode", 3}, {"message", "peer went away"}};
  ASSERT_TRUE(ApplyEvents((*w)->id, json::array({fail})).ok());
  // Restarted at once on the free slot: restarting, then placed again.
  const std::vector<std::string> want = {"submitted", "placed", "restarting", "placed"};
  ASSERT_EQ(Types(*j), want);
  EXPECT_NE(j->events[2].message.find("attempt 1 failed (retry 1 of 1)"), std::string::npos)
      << j->events[2].message;
  EXPECT_NE(j->events[2].message.find("peer went away"), std::string::npos);
  ASSERT_TRUE(sched_->Cancel(id).ok());
  EXPECT_EQ(j->events.back().type, "cancelled");

  auto never = sched_->Submit(TinySpec(3), "u");  // cancelled before it started
  ASSERT_TRUE(sched_->Cancel((*never)->id).ok());
  EXPECT_EQ((*never)->events.back().message, "by user, before it started");
}

TEST_F(JobFollowingTest, TimelineStaysBoundedKeepingTheBeginning) {
  auto job = sched_->Submit(TinySpec(1), "u");
  const int64_t id = (*job)->id;
  for (int step = 1; step <= 500; ++step) sched_->RecordCheckpoint(id, 1, step, 1);
  const Job* j = sched_->FindJob(id);
  ASSERT_EQ(static_cast<int>(j->events.size()), kMaxJobEvents);
  EXPECT_EQ(j->events.front().type, "submitted");
  EXPECT_EQ(j->events.back().message, "step 500 of attempt 1 stored (0.0 MiB)");
  EXPECT_EQ(j->events_dropped, 501 - kMaxJobEvents);
  EXPECT_EQ(ToJson(*j, true)["eventsDropped"], 501 - kMaxJobEvents);
}

TEST_F(JobFollowingTest, PendingJobSaysWhatItNeedsAndWhatThePoolHas) {
  ASSERT_TRUE(Register("a", "i-a").ok());
  ASSERT_TRUE(Register("b", "i-b").ok());
  auto job = sched_->Submit(TinySpec(3), "u");
  ASSERT_TRUE(job.ok());
  sched_->RunCycle();
  const Job* j = sched_->FindJob((*job)->id);
  EXPECT_EQ(j->reason, "Constraint");
  EXPECT_EQ(j->reason_message,
            "needs 3 ranks (one slot each); the alive workers that fit have 2 slots in all");
  EXPECT_EQ(ToJson(*j, false)["reasonMessage"], j->reason_message);
  // The submission-time warning says the same about every registered worker.
  EXPECT_EQ(sched_->GangWarning(*j),
            "needs 3 ranks (one slot each): the registered workers that fit have 2 slots in all; "
            "it stays PENDING (Constraint) until such workers join");
  auto small = sched_->Submit(TinySpec(2), "u");
  EXPECT_EQ(sched_->GangWarning(**small), "");
  // A GPU job on a CPU pool.
  auto gpu = sched_->Submit(TinySpec(1, "backend: cpu, gpusPerWorker: 0",
                                     "backend: cuda, gpusPerWorker: 1, gpuTypes: [H100]"),
                            "u");
  ASSERT_TRUE(gpu.ok()) << gpu.status().ToString();
  EXPECT_EQ(sched_->GangWarning(**gpu),
            "needs 1 rank with 1 GPU each of type H100: none of the 2 registered workers fits; "
            "it stays PENDING (Constraint) until such workers join");
}

TEST_F(JobFollowingTest, UnknownQueueIsRefusedWithTheField) {
  std::string field;
  auto bad = sched_->Submit(TinySpec(1, "spec:\n", "spec:\n  queue: gpus\n"), "u", &field);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(field, "spec.queue");
  EXPECT_NE(
      bad.status().message().find("unknown queue \"gpus\" (this scheduler has: default, gpu)"),
      std::string::npos)
      << bad.status().message();
  EXPECT_TRUE(sched_->ListJobs(std::nullopt, "").empty());
  EXPECT_TRUE(sched_->Submit(TinySpec(1, "spec:\n", "spec:\n  queue: gpu\n"), "u").ok());
}

TEST_F(JobFollowingTest, JobsCanBeFoundByName) {
  ASSERT_TRUE(sched_->Submit(TinySpec(1), "u").ok());
  ASSERT_TRUE(sched_->Submit(TinySpec(1, "name: tiny-mlp", "name: other"), "u").ok());
  EXPECT_EQ(sched_->ListJobs(std::nullopt, "", "other").size(), 1u);
  EXPECT_EQ(sched_->ListJobs(std::nullopt, "", "tiny-mlp").size(), 1u);
  EXPECT_EQ(sched_->ListJobs(std::nullopt, "someone-else", "other").size(), 0u);
  EXPECT_EQ(sched_->ListJobs(std::nullopt, "", "nope").size(), 0u);
}

TEST_F(JobFollowingTest, ASecondLiveAgentCannotTakeANameUntilTheFirstIsLost) {
  auto first = Register("w1", "instance-1");
  ASSERT_TRUE(first.ok());
  const std::string id = (*first)->id;
  auto second = Register("w1", "instance-2");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kAlreadyExists);
  EXPECT_NE(second.status().message().find("held by a live worker (" + id + " on host host-w1"),
            std::string::npos)
      << second.status().message();
  // The same process registering again (after a scheduler restart, say) is fine.
  ASSERT_TRUE(Register("w1", "instance-1").ok());
  // Another name gets another id: names and ids never cross.
  auto other = Register("w2", "instance-2");
  ASSERT_TRUE(other.ok());
  EXPECT_NE((*other)->id, id);
  // The instance survives a restart: the second agent is still refused.
  Reopen();
  EXPECT_EQ(Register("w1", "instance-2").status().code(), StatusCode::kAlreadyExists);
  // Once the first is lost, the name is free for a new process, and keeps its id.
  now_ += 10'000;
  sched_->RunCycle();
  ASSERT_EQ(sched_->FindWorker(id)->state, WorkerState::kLost);
  auto taken = Register("w1", "instance-3");
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ((*taken)->id, id);
}

// A restarted agent (the machine id it keeps in its work directory, on the same host) takes its
// name over at once, while the old process still looks alive: the old ranks count as gone, so the
// job's retry is handed out at once instead of after the worker timeout. Another machine id, none,
// or the same id from another host is another agent, refused while the first lives.
TEST_F(JobFollowingTest, ARestartedAgentTakesItsNameOverAtOnce) {
  auto reg = [&](const std::string& instance, const std::string& machine,
                 const std::string& host = "host-w1") {
    WorkerRegistration r{"w1", host, 1, 2, {}};
    r.instance = instance;
    r.machine = machine;
    return sched_->RegisterWorker(r);
  };
  auto first = reg("instance-1", "machine-a");
  ASSERT_TRUE(first.ok());
  const std::string wid = (*first)->id;
  const int64_t id = (*sched_->Submit(TinySpec(1), "u"))->id;
  sched_->RunCycle();
  ASSERT_EQ(sched_->FindJob(id)->state, JobState::kRunning);
  ASSERT_TRUE(sched_->Heartbeat(wid, {{id, 1, 0}}).ok());
  EXPECT_EQ(reg("instance-2", "machine-b").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(reg("instance-2", "").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(reg("instance-2", "machine-a", "host-w9").status().code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(sched_->SaveChanges().ok());
  Reopen();      // the machine id is stored with the worker
  now_ += 1000;  // well within the worker timeout
  auto restarted = reg("instance-2", "machine-a");
  ASSERT_TRUE(restarted.ok()) << restarted.status().ToString();
  EXPECT_EQ((*restarted)->id, wid);
  sched_->RunCycle();
  const Job* j = sched_->FindJob(id);
  ASSERT_EQ(j->attempts.size(), 2u) << j->reason;
  EXPECT_EQ(j->attempts[0].state, AttemptState::kFailed);
  EXPECT_NE(j->attempts[0].reason.find("WorkerRestarted"), std::string::npos)
      << j->attempts[0].reason;
  EXPECT_EQ(j->state, JobState::kRunning);
  ASSERT_EQ(sched_->Assignments(wid).size(), 1u);  // nothing of attempt 1 holds a slot
  EXPECT_EQ(sched_->Assignments(wid)[0].attempt, 2);
  // The process it replaced is now the other agent.
  EXPECT_EQ(reg("instance-1", "machine-b").status().code(), StatusCode::kAlreadyExists);
}

TEST(StateDirLockTest, OneHolderAtATimeAndTheRefusalNamesIt) {
  char tmpl[] = "/tmp/shoal-lock-XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  {
    auto first = StateDirLock::Acquire(dir + "/state");  // creates the directory
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    // flock belongs to the open file, so a second open in this very process conflicts too.
    auto second = StateDirLock::Acquire(dir + "/state");
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(second.status().message().find("in use by another shoal-scheduler (pid " +
                                             std::to_string(::getpid()) + ","),
              std::string::npos)
        << second.status().message();
  }
  // Released with its holder.
  EXPECT_TRUE(StateDirLock::Acquire(dir + "/state").ok());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace shoal

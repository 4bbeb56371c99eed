// The scheduler's state machine over a real SQLite store in a temp dir and a fake clock.
#include "scheduler/scheduler.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/testing/test_util.h"
#include "tests/unit/scheduler/scheduler_fixture.h"

namespace shoal {
namespace {

using nlohmann::json;

std::string RepoFile(const std::string& rel) {
  return ::shoal::testing::ReadFile(::shoal::testing::RepoRoot() / rel);
}

std::string Spec(int min, int max, int retries = 3) {
  std::string s = RepoFile("configs/jobs/tiny-mlp.yaml");
  EXPECT_NE(s.find("min: 1"), std::string::npos);
  s.replace(s.find("min: 1"), 6, "min: " + std::to_string(min));
  s.replace(s.find("max: 1"), 6, "max: " + std::to_string(max));
  s.replace(s.find("maxRetries: "), 13, "maxRetries: " + std::to_string(retries));
  return s;
}

std::string LongSpec() {
  std::string s = Spec(1, 1);
  const size_t limit = s.find("maxRuntime: ");
  EXPECT_NE(limit, std::string::npos);
  s.replace(limit, s.find_first_of(",}\n", limit) - limit, "maxRuntime: 5h");
  return s;
}

class SchedulerTest : public ::shoal::testing::SchedulerFixture {
 protected:
  std::string AddWorker(const std::string& name, int slots = 1) {
    auto w = sched_->RegisterWorker({name, "host", slots, 2, {}});
    EXPECT_TRUE(w.ok());
    return (*w)->id;
  }
  // Young/Daly on (60 s worker timeout, a 24 h MTBF prior): reopens, registers worker "a" into
  // *worker and submits a long job with periodic checkpoints, whose id it returns.
  int64_t SubmitYoungDalyJob(std::string* worker) {
    worker_timeout_ms_ = 60'000;
    young_daly_ = true;
    worker_mtbf_prior_ms_ = 24LL * 3600 * 1000;
    Reopen();
    *worker = AddWorker("a");
    std::string spec = LongSpec();  // periodic checkpoints: Young/Daly replaces their interval
    spec.replace(spec.find("everySeconds: 0"), 15, "everySeconds: 600");
    return (*sched_->Submit(spec, "u"))->id;
  }
  struct FailedGang {
    int64_t id = 0;
    std::string rank0, failed;  // the workers of attempt 1's ranks 0 and 1
    std::vector<std::string> workers;
  };
  // A minute's workerTimeout, three one-slot workers and a 2-rank job on two of them, whose rank 1
  // then fails (its all-reduce lost the peer); every worker but rank 0's polls after that end.
  FailedGang FailRankOneOfAGang() {
    worker_timeout_ms_ = 60'000;
    Reopen();
    FailedGang g;
    g.workers = {AddWorker("a"), AddWorker("b"), AddWorker("c")};
    g.id = (*sched_->Submit(Spec(2, 2), "u"))->id;
    sched_->RunCycle();
    const Job* j = sched_->FindJob(g.id);
    EXPECT_EQ(j->state, JobState::kRunning);
    g.rank0 = j->attempts[0].ranks[0].worker_id;
    g.failed = j->attempts[0].ranks[1].worker_id;
    EXPECT_TRUE(sched_->Heartbeat(g.rank0, {{g.id, 1, 0}}).ok());
    EXPECT_TRUE(sched_->Heartbeat(g.failed, {{g.id, 1, 1}}).ok());
    now_ += 1000;
    EXPECT_TRUE(ApplyEvents(g.failed, json::array({Exit(*j, 1, 1)})).ok());
    for (const std::string& w : g.workers) {
      if (w != g.rank0) EXPECT_TRUE(sched_->Heartbeat(w, {}).ok());
    }
    return g;
  }
};

TEST_F(SchedulerTest, RejectsBadSpecWithField) {
  std::string field;
  auto r = sched_->Submit("apiVersion: shoal/v1\nkind: TrainingJob\n", "u", &field);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(sched_->ListJobs(std::nullopt, "").empty());
}

TEST_F(SchedulerTest, PendingThenRunningThenSucceeded) {
  auto job = sched_->Submit(Spec(2, 2), "alice");
  ASSERT_TRUE(job.ok());
  int64_t id = (*job)->id;
  EXPECT_EQ((*job)->state, JobState::kPending);
  std::string a = AddWorker("a");
  EXPECT_EQ(sched_->FindJob(id)->state, JobState::kPending) << "partial gang started";
  std::string b = AddWorker("b");
  const Job* j = sched_->FindJob(id);
  ASSERT_EQ(j->state, JobState::kRunning);
  EXPECT_EQ(j->current_attempt()->world_size, 2);
  EXPECT_EQ(sched_->Assignments(a).size(), 1u);
  EXPECT_EQ(sched_->Assignments(b).size(), 1u);
  // Rank 0 reported by a's heartbeat becomes running.
  ASSERT_TRUE(sched_->Heartbeat(a, {{id, 1, 0}}).ok());
  EXPECT_EQ(j->current_attempt()->ranks[0].state, RankState::kRunning);
  ASSERT_TRUE(ApplyEvents(a, json::array({Exit(*j, 0, 0)})).ok());
  EXPECT_EQ(j->state, JobState::kRunning);  // waits for every rank
  ASSERT_TRUE(ApplyEvents(b, json::array({Exit(*j, 1, 0)})).ok());
  EXPECT_EQ(j->state, JobState::kSucceeded);
  EXPECT_EQ(j->result["rankChecksums"], json::array({"abc", "abc"}));
  // Terminal: cancel is a conflict.
  auto c = sched_->Cancel(id);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(SchedulerTest, EventsForAnotherWorkersRankAreIgnored) {
  std::string a = AddWorker("a");
  std::string b = AddWorker("b");
  auto job = sched_->Submit(Spec(1, 1), "u");
  const Job* j = *job;
  std::string owner = j->current_attempt()->ranks[0].worker_id;
  std::string other = owner == a ? b : a;
  ASSERT_TRUE(ApplyEvents(other, json::array({Exit(*j, 0, 0)})).ok());
  EXPECT_EQ(j->state, JobState::kRunning);
}

TEST_F(SchedulerTest, RankFailureRestartsThenFailsWhenRetriesRunOut) {
  AddWorker("a");
  auto job = sched_->Submit(Spec(1, 1, /*retries=*/1), "u");
  const Job* j = *job;
  std::string w = j->current_attempt()->ranks[0].worker_id;
  ASSERT_TRUE(ApplyEvents(w, json::array({Exit(*j, 0, 1)})).ok());
  // The failed rank exited, so its slot is free and the job restarts at once.
  EXPECT_EQ(j->state, JobState::kRunning);
  EXPECT_EQ(j->attempts.size(), 2u);
  EXPECT_NE(j->attempts[0].reason.find("RankFailed"), std::string::npos);
  ASSERT_TRUE(ApplyEvents(w, json::array({Exit(*j, 0, 1)})).ok());
  EXPECT_EQ(j->state, JobState::kFailed);
  EXPECT_NE(j->reason.find("no retries left"), std::string::npos);
}

TEST_F(SchedulerTest, BadInputExitIsNotRetried) {
  AddWorker("a");
  auto job = sched_->Submit(Spec(1, 1, 3), "u");
  const Job* j = *job;
  std::string w = j->current_attempt()->ranks[0].worker_id;
  ASSERT_TRUE(ApplyEvents(w, json::array({Exit(*j, 0, 2)})).ok());
  EXPECT_EQ(j->state, JobState::kFailed);
  EXPECT_EQ(j->attempts.size(), 1u);
}

TEST_F(SchedulerTest, CancelStopsRanksAndFreesSlotsWhenTheWorkerConfirms) {
  std::string a = AddWorker("a");
  auto job = sched_->Submit(Spec(1, 1), "u");
  int64_t id = (*job)->id;
  ASSERT_TRUE(sched_->Heartbeat(a, {{id, 1, 0}}).ok());
  ASSERT_TRUE(sched_->Cancel(id).ok());
  const Job* j = sched_->FindJob(id);
  EXPECT_EQ(j->state, JobState::kCancelled);
  EXPECT_EQ(j->current_attempt()->ranks[0].state, RankState::kStopping);
  EXPECT_TRUE(sched_->Assignments(a).empty());
  EXPECT_TRUE(sched_->AssignmentsDiffer(a, {{id, 1, 0}}));
  // A second job cannot start until the slot is confirmed free.
  auto second = sched_->Submit(Spec(1, 1), "u");
  EXPECT_EQ((*second)->state, JobState::kPending);
  ASSERT_TRUE(sched_->Heartbeat(a, {}).ok());
  EXPECT_EQ(j->current_attempt()->ranks[0].state, RankState::kExited);
  sched_->RunCycle();
  EXPECT_EQ((*second)->state, JobState::kRunning);
}

TEST_F(SchedulerTest, SilentWorkerIsLostAndItsJobRestarts) {
  std::string a = AddWorker("a");
  std::string b = AddWorker("b");
  auto job = sched_->Submit(Spec(2, 2), "u");
  int64_t id = (*job)->id;
  now_ += 2000;
  ASSERT_TRUE(sched_->Heartbeat(a, {{id, 1, 0}}).ok());
  now_ += 2000;  // b silent for 4 s > 3 s
  sched_->RunCycle();
  EXPECT_EQ(sched_->FindWorker(b)->state, WorkerState::kLost);
  const Job* j = sched_->FindJob(id);
  EXPECT_EQ(j->state, JobState::kRestarting);
  EXPECT_NE(j->reason.find("WorkerLost"), std::string::npos) << j->reason;
  // a's rank must stop; b comes back and the job runs again on both.
  EXPECT_TRUE(sched_->Assignments(a).empty());
  ASSERT_TRUE(sched_->Heartbeat(a, {}).ok());
  ASSERT_TRUE(sched_->Heartbeat(b, {}).ok());
  EXPECT_EQ(sched_->FindWorker(b)->state, WorkerState::kAlive);
  sched_->RunCycle();
  EXPECT_EQ(j->state, JobState::kRunning);
  EXPECT_EQ(j->attempts.size(), 2u);
}

// A rank of a failed attempt on a worker that vanished holds its slot until the worker is lost
// (workerTimeout), but not the next attempt: once that worker has sent no heartbeat request for
// kSilentAfterEndMs after the attempt ended, the next one goes ahead, and the old attempt may no
// longer store checkpoints. A worker that heard the end, or an upload in flight, holds it back.
TEST_F(SchedulerTest, TheNextAttemptGoesAheadWithoutRanksOnAVanishedWorker) {
  // Rank 0's worker vanishes.
  const FailedGang g = FailRankOneOfAGang();
  const int64_t id = g.id;
  const std::string& gone = g.rank0;
  const Job* j = sched_->FindJob(id);
  sched_->RunCycle();
  ASSERT_EQ(j->attempts.size(), 2u);
  ASSERT_EQ(j->state, JobState::kRunning);
  std::vector<std::string> next;
  for (const auto& r : j->attempts[1].ranks) next.push_back(r.worker_id);
  ASSERT_EQ(std::count(next.begin(), next.end(), gone), 0);
  EXPECT_TRUE(sched_->Assignments(next[0]).empty());             // waits for rank 0 of attempt 1
  EXPECT_TRUE(sched_->CheckCheckpointWriter(id, 1, gone).ok());  // its final checkpoint
  // Under the bound, nothing changes.
  now_ += kSilentAfterEndMs - 1;
  sched_->RunCycle();
  EXPECT_FALSE(j->attempts[1].went_ahead);
  EXPECT_TRUE(sched_->Assignments(next[0]).empty());
  // An upload of the old attempt being stored holds it back.
  now_ += 1;
  sched_->CheckpointWriteBegan(id, 1);
  sched_->RunCycle();
  EXPECT_FALSE(j->attempts[1].went_ahead);
  sched_->CheckpointWriteEnded(id, 1);
  sched_->RunCycle();
  ASSERT_TRUE(j->attempts[1].went_ahead);
  EXPECT_EQ(sched_->Assignments(next[0]).size(), 1u);
  EXPECT_EQ(sched_->Assignments(next[1]).size(), 1u);
  EXPECT_EQ(j->events.back().type, "wentAhead");
  EXPECT_NE(j->events.back().message.find("rank 0 on " + gone), std::string::npos)
      << j->events.back().message;
  // The old rank keeps its slot until its worker is lost, and may not store a checkpoint.
  EXPECT_EQ(j->attempts[0].ranks[0].state, RankState::kStopping);
  Status refused = sched_->CheckCheckpointWriter(id, 1, gone);
  EXPECT_EQ(refused.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.message().find("superseded"), std::string::npos) << refused.message();
  // Kept across a restart: the handed-out ranks are not taken back.
  Reopen();
  EXPECT_EQ(sched_->Assignments(next[0]).size(), 1u);
  EXPECT_EQ(sched_->CheckCheckpointWriter(id, 1, gone).code(), StatusCode::kFailedPrecondition);
}

// A vanished worker with free slots beside its silent rank may get the retry itself (a gang packs
// onto the fullest worker that holds it). Once it is known silent, that retry is placed again on
// the workers that are heard from (no retry used), and nothing new goes to the silent worker.
TEST_F(SchedulerTest, ARetryPlacedOnTheVanishedWorkerIsPlacedAgainWithoutIt) {
  worker_timeout_ms_ = 60'000;
  Reopen();
  const std::string big = AddWorker("big", 4);
  const int64_t id = (*sched_->Submit(Spec(2, 2, /*retries=*/1), "u"))->id;
  sched_->RunCycle();
  const Job* j = sched_->FindJob(id);
  ASSERT_EQ(j->state, JobState::kRunning);  // both ranks on big
  const std::string b = AddWorker("b");
  const std::string c = AddWorker("c");
  ASSERT_TRUE(sched_->Heartbeat(big, {{id, 1, 0}, {id, 1, 1}}).ok());
  // Rank 1 fails; big vanishes with rank 0, and gets the retry: 3 free slots hold the gang.
  now_ += 1;
  ASSERT_TRUE(ApplyEvents(big, json::array({Exit(*j, 1, 1)})).ok());
  sched_->RunCycle();
  ASSERT_EQ(j->attempts.size(), 2u);
  ASSERT_EQ(j->attempts[1].ranks[0].worker_id, big);
  ASSERT_TRUE(sched_->Heartbeat(b, {}).ok());
  ASSERT_TRUE(sched_->Heartbeat(c, {}).ok());
  now_ += kSilentAfterEndMs;
  ASSERT_TRUE(sched_->Heartbeat(b, {}).ok());
  ASSERT_TRUE(sched_->Heartbeat(c, {}).ok());
  sched_->RunCycle();
  // Placed again, on b and c, as attempt 3; the replaced attempt used no retry.
  ASSERT_EQ(j->attempts.size(), 3u) << j->reason;
  EXPECT_EQ(j->attempts[1].state, AttemptState::kResized);
  EXPECT_NE(j->attempts[1].reason.find("Replaced: rank 0 was placed on " + big), std::string::npos)
      << j->attempts[1].reason;
  EXPECT_EQ(j->state, JobState::kRunning);
  for (const auto& r : j->attempts[2].ranks) EXPECT_NE(r.worker_id, big);
  // Attempt 3 goes ahead without attempt 2's ranks on big once that end is 3 s old too.
  EXPECT_TRUE(sched_->Assignments(b).empty());
  now_ += kSilentAfterEndMs;
  ASSERT_TRUE(sched_->Heartbeat(b, {}).ok());
  ASSERT_TRUE(sched_->Heartbeat(c, {}).ok());
  sched_->RunCycle();
  EXPECT_TRUE(j->attempts[2].went_ahead);
  EXPECT_EQ(sched_->Assignments(b).size(), 1u);
  EXPECT_EQ(sched_->Assignments(c).size(), 1u);
  // Once big polls again it is placed on like any worker.
  ASSERT_TRUE(sched_->Heartbeat(big, {}).ok());
  const int64_t next = (*sched_->Submit(Spec(1, 1), "u"))->id;
  sched_->RunCycle();
  EXPECT_EQ(sched_->FindJob(next)->state, JobState::kRunning);
}

// silentAfterEnd 0: the retry waits for the vanished worker's rank until the worker is lost.
TEST_F(SchedulerTest, WithoutASilenceBoundTheNextAttemptWaitsUntilTheWorkerIsLost) {
  silent_after_end_ms_ = 0;
  const FailedGang g = FailRankOneOfAGang();
  const Job* j = sched_->FindJob(g.id);
  sched_->RunCycle();
  ASSERT_EQ(j->attempts.size(), 2u);
  const std::string next = j->attempts[1].ranks[0].worker_id;
  now_ += 59'000;
  for (const std::string& w : g.workers) {
    if (w != g.rank0) ASSERT_TRUE(sched_->Heartbeat(w, {}).ok());
  }
  sched_->RunCycle();
  EXPECT_FALSE(j->attempts[1].went_ahead);
  EXPECT_TRUE(sched_->Assignments(next).empty());
  EXPECT_TRUE(sched_->CheckCheckpointWriter(g.id, 1, g.rank0).ok());
  now_ += 2'000;  // past the minute's workerTimeout: lost, its rank exited
  sched_->RunCycle();
  EXPECT_EQ(sched_->FindWorker(g.rank0)->state, WorkerState::kLost);
  EXPECT_EQ(sched_->Assignments(next).size(), 1u);
}

TEST_F(SchedulerTest, TheNextAttemptWaitsForARankWhoseWorkerHeardTheEnd) {
  const FailedGang g = FailRankOneOfAGang();
  const int64_t id = g.id;
  const std::string& slow = g.rank0;
  const Job* j = sched_->FindJob(id);
  // The slow worker polled after the end: its rank is stopping, and will be reported gone.
  ASSERT_TRUE(sched_->Heartbeat(slow, {{id, 1, 0}}).ok());
  sched_->RunCycle();
  ASSERT_EQ(j->attempts.size(), 2u);
  now_ += 10 * kSilentAfterEndMs;
  sched_->RunCycle();
  EXPECT_FALSE(j->attempts[1].went_ahead);
  for (const auto& r : j->attempts[1].ranks) EXPECT_TRUE(sched_->Assignments(r.worker_id).empty());
  // It reports the rank gone: the next attempt's ranks are handed out as always.
  ASSERT_TRUE(sched_->Heartbeat(slow, {}).ok());
  for (const auto& r : j->attempts[1].ranks) {
    EXPECT_EQ(sched_->Assignments(r.worker_id).size(), 1u);
  }
  EXPECT_FALSE(j->attempts[1].went_ahead);
}

TEST_F(SchedulerTest, MaxRuntimeFailsTheJobWithoutRetry) {
  std::string a = AddWorker("a");
  auto job = sched_->Submit(Spec(1, 1, 3), "u");  // tiny-mlp: maxRuntime 10m
  const Job* j = *job;
  now_ += 9 * 60 * 1000;
  ASSERT_TRUE(sched_->Heartbeat(a, {{j->id, 1, 0}}).ok());
  sched_->RunCycle();
  EXPECT_EQ(j->state, JobState::kRunning);
  now_ += 2 * 60 * 1000;
  ASSERT_TRUE(sched_->Heartbeat(a, {{j->id, 1, 0}}).ok());
  sched_->RunCycle();
  EXPECT_EQ(j->state, JobState::kFailed);
  EXPECT_NE(j->reason.find("maxRuntime"), std::string::npos) << j->reason;
  EXPECT_EQ(j->attempts.size(), 1u);
  EXPECT_TRUE(sched_->Assignments(a).empty());
}

TEST_F(SchedulerTest, StateSurvivesReopen) {
  std::string a = AddWorker("a");
  auto j1 = sched_->Submit(Spec(1, 1), "u");
  auto j2 = sched_->Submit(Spec(1, 1), "v");
  int64_t id1 = (*j1)->id, id2 = (*j2)->id;
  Reopen();
  ASSERT_NE(sched_->FindJob(id1), nullptr);
  EXPECT_EQ(sched_->FindJob(id1)->state, JobState::kRunning);
  EXPECT_EQ(sched_->FindJob(id1)->current_attempt()->ranks[0].worker_id, a);
  EXPECT_EQ(sched_->FindJob(id2)->state, JobState::kPending);
  EXPECT_EQ(sched_->FindJob(id2)->owner, "v");
  EXPECT_EQ(sched_->ListWorkers().size(), 1u);
  // Worker ids keep counting after a restart.
  EXPECT_EQ(AddWorker("b"), "w-2");
}

TEST_F(SchedulerTest, MalformedEventBatchChangesNothing) {
  std::string a = AddWorker("a");
  auto job = sched_->Submit(Spec(1, 1), "u");
  const Job* j = *job;
  json events = json::array({Exit(*j, 0, 0), json{{"type", "bogus"}, {"job", j->id},
                                                  {"attempt", 1}, {"rank", 0}}});
  EXPECT_FALSE(ApplyEvents(a, events).ok());
  EXPECT_EQ(j->state, JobState::kRunning);
}

// The contribution ledger: a worker's account earns for its GPUs (slots on a CPU-only worker)
// while alive, a running job's owner account pays per rank; saved to the store and back on reopen.
TEST_F(SchedulerTest, LedgerChargesContributorsAndOwnersAndSurvivesReopen) {
  worker_timeout_ms_ = 3'600'000;  // no heartbeats in this test: keep the workers alive
  Reopen();
  WorkerRegistration reg{"gpu-box", "host", 2, 8, {{"NVIDIA H100", 81920, "9.0"},
                                                   {"NVIDIA H100", 81920, "9.0"}}};
  reg.account = "alice";
  ASSERT_TRUE(sched_->RegisterWorker(reg).ok());
  reg.account = "Not A Label";
  reg.name = "bad";
  EXPECT_EQ(sched_->RegisterWorker(reg).status().code(), StatusCode::kInvalidArgument);
  std::string cpu = AddWorker("cpu-box", 3);  // account "default", 3 slots
  sched_->RunCycle();
  now_ += 10'000;
  sched_->RunCycle();
  std::map<std::string, LedgerEntry> by;
  for (const auto& e : sched_->LedgerEntries()) by[e.account] = e;
  // Advertised capacity earns nothing: only work done does (issue 12 item 9).
  EXPECT_EQ(by["alice"].contributed, 0.0);
  EXPECT_EQ(by["default"].contributed, 0.0);
  // A 1-rank cpu job of account "u" runs for 5 s (on either worker: a cpu job fits both).
  auto job = sched_->Submit(Spec(1, 1), "u", nullptr);
  ASSERT_TRUE(job.ok());
  sched_->RunCycle();
  const Job* j = sched_->FindJob((*job)->id);
  ASSERT_EQ(j->state, JobState::kRunning);
  const std::string on = j->current_attempt()->ranks[0].worker_id;
  const std::string earner = sched_->FindWorker(on)->account,
                    idle = on == cpu ? "alice" : "default";
  now_ += 5'000;
  sched_->RunCycle();
  for (const auto& e : sched_->LedgerEntries()) by[e.account] = e;
  EXPECT_NEAR(by["u"].used, 5.0, 1e-3);
  EXPECT_EQ(by[earner].contributed, 0.0) << "credited before the attempt completed";
  ASSERT_TRUE(ApplyEvents(on, json::array({Exit(*j, 0, 0)})).ok());
  ASSERT_EQ(sched_->FindJob((*job)->id)->state, JobState::kSucceeded);
  for (const auto& e : sched_->LedgerEntries()) by[e.account] = e;
  EXPECT_NEAR(by[earner].contributed, 5.0, 1e-3);  // 1 slot x 5 s, at completion
  EXPECT_EQ(by[idle].contributed, 0.0);
  EXPECT_EQ(sched_->FindWorker(on)->completed_ranks, 1);
  // Saved every 10 s: a reopen after the next save keeps the credit and the history.
  now_ += 10'000;
  sched_->RunCycle();
  Reopen();
  for (const auto& e : sched_->LedgerEntries()) by[e.account] = e;
  EXPECT_NEAR(by[earner].contributed, 5.0, 1e-3);
  EXPECT_GT(by["u"].used, 4.9);
  EXPECT_EQ(sched_->FindWorker(on)->completed_ranks, 1);
}

// fairshare+preempt in the daemon: a long job of an account far over its share is stopped for a
// job of an account that has used nothing, requeued without using up a retry, and runs again
// later; a job younger than the minimum run time is left alone.
TEST_F(SchedulerTest, PreemptionStopsTheOverServedJobAndRequeuesItWithoutARetry) {
  worker_timeout_ms_ = 3'600'000;
  policy_ = *ParsePolicyName("fairshare+preempt");
  policy_.preempt_min_runtime_ms = 600'000;
  Reopen();
  std::string w = AddWorker("a");  // one slot
  auto heavy = sched_->Submit(LongSpec(), "heavy");
  ASSERT_TRUE(heavy.ok()) << heavy.status().ToString();
  const int64_t h = (*heavy)->id;
  sched_->RunCycle();
  ASSERT_EQ(sched_->FindJob(h)->state, JobState::kRunning);
  ASSERT_TRUE(sched_->Heartbeat(w, {{h, 1, 0}}).ok());
  // Five minutes in, a job of another account arrives: too early to preempt.
  now_ += 300'000;
  sched_->RunCycle();
  auto light = sched_->Submit(LongSpec(), "light");
  const int64_t l = (*light)->id;
  sched_->RunCycle();
  EXPECT_EQ(sched_->FindJob(h)->state, JobState::kRunning);
  EXPECT_EQ(sched_->FindJob(l)->state, JobState::kPending);
  // Past ten minutes: heavy has used everything, light nothing -> preempted.
  now_ += 400'000;
  sched_->RunCycle();
  const Job* hj = sched_->FindJob(h);
  ASSERT_EQ(hj->state, JobState::kPending) << hj->reason;
  EXPECT_EQ(hj->attempts.back().state, AttemptState::kPreempted);
  EXPECT_NE(hj->attempts.back().reason.find("Preempted: fair share"), std::string::npos)
      << hj->attempts.back().reason;
  EXPECT_EQ(hj->attempts.back().ranks[0].state, RankState::kStopping);
  // The slot frees when the worker confirms the rank is gone; then light starts, not heavy.
  ASSERT_TRUE(sched_->Heartbeat(w, {}).ok());
  sched_->RunCycle();
  EXPECT_EQ(sched_->FindJob(l)->state, JobState::kRunning);
  EXPECT_EQ(sched_->FindJob(h)->state, JobState::kPending);
  // Light may now run for a long time: heavy cannot preempt it back (heavy is over its share).
  ASSERT_TRUE(sched_->Heartbeat(w, {{l, 1, 0}}).ok());
  now_ += 3'600'000;
  sched_->RunCycle();
  EXPECT_EQ(sched_->FindJob(l)->state, JobState::kRunning);
  // When light finishes, heavy runs its second attempt; the preemption used no retry.
  ASSERT_TRUE(ApplyEvents(w, json::array({Exit(*sched_->FindJob(l), 0, 0)})).ok());
  ASSERT_TRUE(sched_->Heartbeat(w, {}).ok());
  sched_->RunCycle();
  hj = sched_->FindJob(h);
  ASSERT_EQ(hj->state, JobState::kRunning);
  EXPECT_EQ(hj->attempts.size(), 2u);
  // It then fails maxRetries (3) times and still gets all its retries.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(ApplyEvents(w, json::array({Exit(*hj, 0, 1)})).ok());
    ASSERT_TRUE(sched_->Heartbeat(w, {}).ok());
    sched_->RunCycle();
    hj = sched_->FindJob(h);
    ASSERT_EQ(hj->state, JobState::kRunning) << "retry " << i << ": " << hj->reason;
  }
  ASSERT_TRUE(ApplyEvents(w, json::array({Exit(*hj, 0, 1)})).ok());
  EXPECT_EQ(sched_->FindJob(h)->state, JobState::kFailed);
}

// The cost guard in the daemon: with preemptMaxUnsaved, a job whose work since its last stored
// checkpoint (or its start) spans more than that is spared; the checkpoint it reports (rank 0's
// upload) makes it a victim again. (StoreBatchTest checks the time is stored with the attempt.)
TEST_F(SchedulerTest, TheCostGuardWaitsForTheVictimsNextCheckpoint) {
  worker_timeout_ms_ = 3'600'000;
  policy_ = *ParsePolicyName("fairshare+preempt");
  policy_.preempt_min_runtime_ms = 600'000;
  policy_.preempt_max_unsaved_ms = 900'000;
  Reopen();
  std::string w = AddWorker("a");  // one slot
  const int64_t h = (*sched_->Submit(LongSpec(), "heavy"))->id;
  sched_->RunCycle();
  ASSERT_TRUE(sched_->Heartbeat(w, {{h, 1, 0}}).ok());
  now_ += 1'200'000;  // 20 minutes without a checkpoint
  const int64_t l = (*sched_->Submit(LongSpec(), "light"))->id;
  sched_->RunCycle();
  EXPECT_EQ(sched_->FindJob(h)->state, JobState::kRunning);
  EXPECT_EQ(sched_->FindJob(l)->state, JobState::kPending);
  // The guard that fired is on the spared job's timeline and in the metrics, once per attempt
  // however many cycles the head stays blocked.
  auto guarded_events = [&] {
    std::vector<std::string> out;
    for (const auto& e : sched_->FindJob(h)->events) {
      if (e.type == "guarded") out.push_back(e.message);
    }
    return out;
  };
  now_ += 1000;
  sched_->RunCycle();
  ASSERT_EQ(guarded_events().size(), 1u);
  EXPECT_EQ(guarded_events()[0],
            "attempt 1 kept running: preempting it for job " + std::to_string(l) +
                " is barred, its last checkpoint is 20 min old (preemptMaxUnsaved 15 min)");
  EXPECT_EQ(sched_->metrics().guarded_max_unsaved_total, 1u);
  EXPECT_EQ(sched_->metrics().guarded_max_preemptions_total, 0u);
  sched_->RecordCheckpoint(h, 1, 100, 1 << 20);
  EXPECT_EQ(sched_->FindJob(h)->attempts.back().last_checkpoint_ms, now_);
  now_ += 60'000;
  ASSERT_TRUE(sched_->Heartbeat(w, {{h, 1, 0}}).ok());
  sched_->RunCycle();
  const Job* hj = sched_->FindJob(h);
  ASSERT_EQ(hj->state, JobState::kPending) << hj->reason;
  EXPECT_EQ(hj->attempts.back().state, AttemptState::kPreempted);
}

// Young/Daly in the daemon: the first attempt checkpoints at the spec's interval; once rank 0's
// worker has reported a checkpoint's write time, the next attempt (here after its worker was lost)
// is told sqrt(2 x write time x its workers' MTBF), which the worker passes to the trainer.
TEST_F(SchedulerTest, YoungDalySetsTheNextAttemptsCheckpointIntervalFromMeasuredCosts) {
  std::string w1;
  const int64_t id = SubmitYoungDalyJob(&w1);
  sched_->RunCycle();
  ASSERT_EQ(sched_->FindJob(id)->state, JobState::kRunning);
  EXPECT_EQ(sched_->FindJob(id)->attempts[0].checkpoint_every_s, 0);  // nothing measured yet
  EXPECT_EQ(sched_->Assignments(w1).at(0).checkpoint_every_seconds, 0);
  ASSERT_TRUE(sched_->Heartbeat(w1, {{id, 1, 0}}).ok());
  sched_->RecordCheckpoint(id, 1, 50, 1 << 20, /*write_seconds=*/30);
  EXPECT_DOUBLE_EQ(sched_->FindJob(id)->attempts[0].checkpoint_write_s, 30);
  // Up 4 h, then lost: its MTBF is (24 + 4) h / 2 = 14 h.
  now_ += 4LL * 3600 * 1000 - 1;
  ASSERT_TRUE(sched_->Heartbeat(w1, {{id, 1, 0}}).ok());
  now_ += 60'001;
  sched_->RunCycle();  // marks it lost; the job waits for a worker
  ASSERT_EQ(sched_->FindJob(id)->attempts[0].state, AttemptState::kFailed);
  now_ += 600'000;                              // past the retry's back-off
  ASSERT_TRUE(sched_->Heartbeat(w1, {}).ok());  // back
  sched_->RunCycle();
  const Job* job = sched_->FindJob(id);
  ASSERT_EQ(job->state, JobState::kRunning) << job->reason;
  ASSERT_EQ(job->attempts.size(), 2u);
  const int want = static_cast<int>(std::llround(std::sqrt(2.0 * 30 * 14 * 3600)));  // 1,739 s
  EXPECT_EQ(job->attempts[1].checkpoint_every_s, want);
  EXPECT_EQ(sched_->Assignments(w1).at(0).checkpoint_every_seconds, want);
  Reopen();  // a restart keeps what the attempt was told
  EXPECT_EQ(sched_->FindJob(id)->attempts[1].checkpoint_every_s, want);
}

// The workers' MTBFs survive a scheduler restart: a loss is stored at once (the database holds it
// before any restart), and the retry after the restart is told the interval of the MTBF learned
// before it (14 h), not of the prior (24 h).
TEST_F(SchedulerTest, YoungDalyKeepsWorkersMtbfAcrossASchedulerRestart) {
  std::string w1;
  const int64_t id = SubmitYoungDalyJob(&w1);
  sched_->RunCycle();
  ASSERT_TRUE(sched_->Heartbeat(w1, {{id, 1, 0}}).ok());
  sched_->RecordCheckpoint(id, 1, 50, 1 << 20, /*write_seconds=*/30);
  now_ += 4LL * 3600 * 1000 - 1;  // up 4 h, then lost
  ASSERT_TRUE(sched_->Heartbeat(w1, {{id, 1, 0}}).ok());
  now_ += 60'001;
  sched_->RunCycle();
  auto stored = store_->LoadAll();
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  ASSERT_EQ(stored->failures.size(), 1u);
  EXPECT_EQ(stored->failures[0].worker_id, w1);
  EXPECT_EQ(stored->failures[0].losses, 1);
  EXPECT_EQ(stored->failures[0].up_ms, 4LL * 3600 * 1000 + 60'000);  // until marked lost
  Reopen();
  now_ += 600'000;  // past the retry's back-off
  ASSERT_TRUE(sched_->Heartbeat(w1, {}).ok());
  sched_->RunCycle();
  const Job* job = sched_->FindJob(id);
  ASSERT_EQ(job->state, JobState::kRunning) << job->reason;
  ASSERT_EQ(job->attempts.size(), 2u);
  EXPECT_EQ(job->attempts[1].checkpoint_every_s,
            static_cast<int>(std::llround(std::sqrt(2.0 * 30 * 14 * 3600))));  // not 2,277 s
}

// With a poster (as in the daemon), requests that arrive before the pass runs share one pass.
TEST_F(SchedulerTest, ScheduleRequestsAreCoalescedUntilThePostedPassRuns) {
  int posted = 0;
  sched_->SetSchedulePoster([&] { ++posted; });
  AddWorker("a", 3);
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) ids.push_back((*sched_->Submit(Spec(1, 1), "u"))->id);
  EXPECT_EQ(posted, 1);  // registration and three submissions: one pass requested
  for (int64_t id : ids) EXPECT_EQ(sched_->FindJob(id)->state, JobState::kPending);
  sched_->RunPendingSchedule();
  for (int64_t id : ids) EXPECT_EQ(sched_->FindJob(id)->state, JobState::kRunning);
  sched_->RunPendingSchedule();  // nothing pending: no second pass, nothing changes
  ASSERT_TRUE(sched_->Cancel(ids[0]).ok());
  EXPECT_EQ(posted, 2);  // a new request after the pass posts again
}


// fifo+elastic in the daemon: a job started at workers.min on the one free slot grows to max
// when a second worker joins and it has run the minimum interval; the new attempt is handed out
// only after the old rank has exited, and the resize does not use up a retry.
TEST_F(SchedulerTest, ElasticJobGrowsWhenSlotsFreeUpAndRestartsOnlyAfterTheOldRanksExit) {
  worker_timeout_ms_ = 3'600'000;
  policy_ = *ParsePolicyName("fifo+elastic");
  policy_.resize_min_interval_ms = 600'000;
  Reopen();
  const std::string a = AddWorker("a");
  std::string spec = Spec(1, 2, /*retries=*/0);
  spec.replace(spec.find("maxRuntime: "), spec.find_first_of(",}\n", spec.find("maxRuntime: ")) -
                                              spec.find("maxRuntime: "),
               "maxRuntime: 5h");
  auto job = sched_->Submit(spec, "u");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const int64_t id = (*job)->id;
  sched_->RunCycle();
  ASSERT_EQ(sched_->FindJob(id)->current_attempt()->world_size, 1);
  ASSERT_TRUE(sched_->Heartbeat(a, {{id, 1, 0}}).ok());
  const std::string b = AddWorker("b");
  sched_->RunCycle();
  EXPECT_EQ(sched_->FindJob(id)->attempts.size(), 1u);  // too young to resize
  now_ += 700'000;
  ASSERT_TRUE(sched_->Heartbeat(a, {{id, 1, 0}}).ok());
  ASSERT_TRUE(sched_->Heartbeat(b, {}).ok());
  sched_->RunCycle();
  const Job* j = sched_->FindJob(id);
  ASSERT_EQ(j->attempts.size(), 2u);
  EXPECT_EQ(j->state, JobState::kRunning);
  EXPECT_EQ(j->attempts[0].state, AttemptState::kResized);
  EXPECT_NE(j->attempts[0].reason.find("Resized: grow 1 -> 2 ranks"), std::string::npos)
      << j->attempts[0].reason;
  EXPECT_EQ(j->attempts[0].ranks[0].state, RankState::kStopping);
  EXPECT_EQ(j->attempts[1].world_size, 2);
  // Nobody gets the new ranks while the old one still runs.
  EXPECT_TRUE(sched_->Assignments(a).empty());
  EXPECT_TRUE(sched_->Assignments(b).empty());
  EXPECT_FALSE(sched_->AssignmentsDiffer(b, {}));
  // Worker a confirms the old rank is gone: both get their rank of attempt 2.
  ASSERT_TRUE(sched_->Heartbeat(a, {}).ok());
  ASSERT_EQ(sched_->Assignments(a).size(), 1u);
  ASSERT_EQ(sched_->Assignments(b).size(), 1u);
  EXPECT_EQ(wire::ToJson(sched_->Assignments(b)[0])["attempt"], 2);
  EXPECT_EQ(wire::ToJson(sched_->Assignments(b)[0])["worldSize"], 2);
  // At max it does not grow again, and it finishes normally (with 0 retries allowed).
  AddWorker("c");
  now_ += 700'000;
  sched_->RunCycle();
  EXPECT_EQ(sched_->FindJob(id)->attempts.size(), 2u);
  j = sched_->FindJob(id);
  ASSERT_TRUE(ApplyEvents(a, json::array({Exit(*j, 0, 0)})).ok());
  ASSERT_TRUE(ApplyEvents(b, json::array({Exit(*j, 1, 0)})).ok());
  EXPECT_EQ(sched_->FindJob(id)->state, JobState::kSucceeded);
  // The stored attempts read back with their states.
  Reopen();
  EXPECT_EQ(sched_->FindJob(id)->attempts[0].state, AttemptState::kResized);
}

}  // namespace
}  // namespace shoal

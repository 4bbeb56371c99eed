// Checkpoint attestations (docs/audits.md "Checkpoints"): the rule that says whether a checkpoint
// rank 0 wrote is vouched for by other accounts' ranks (scheduler/audit/attestation.h), and the
// Scheduler that keeps the attestations with their attempt, judges each checkpoint, quarantines a
// forger once, and remembers it all across a restart.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "scheduler/audit/attestation.h"
#include "tests/unit/scheduler/scheduler_fixture.h"

namespace shoal {
namespace {

using audit::CheckpointAttestations;
using audit::CheckpointTrust;
using audit::JudgeCheckpoint;
using nlohmann::json;

const std::string kHonest(64, 'a');
const std::string kForged(64, 'f');
const std::string kOther(64, 'b');

CheckpointAttestations Of(const std::string& file, std::map<int, std::string> by_rank) {
  return {file, std::move(by_rank), false};
}

TEST(CheckpointAttestationRule, OtherAccountsVouchForTheFileOrGiveAForgerAway) {
  const std::vector<std::string> four = {"a", "b", "c", "d"};
  // Vouched for by one other account is enough while nobody contradicts it.
  EXPECT_EQ(JudgeCheckpoint(Of(kHonest, {{1, kHonest}}), four), CheckpointTrust::kTrusted);
  EXPECT_EQ(
      JudgeCheckpoint(Of(kHonest, {{0, kHonest}, {1, kHonest}, {2, kHonest}, {3, kHonest}}), four),
      CheckpointTrust::kTrusted);
  // One liar among three other accounts does not stop it; rank 0's own word never counts.
  EXPECT_EQ(JudgeCheckpoint(Of(kHonest, {{1, kHonest}, {2, kHonest}, {3, kOther}}), four),
            CheckpointTrust::kTrusted);
  EXPECT_EQ(JudgeCheckpoint(Of(kHonest, {{0, kHonest}}), four), CheckpointTrust::kUnattested);
  // Nothing yet: neither the file nor the attestations.
  EXPECT_EQ(JudgeCheckpoint(Of("", {{1, kHonest}, {2, kHonest}}), four),
            CheckpointTrust::kUnattested);
  EXPECT_EQ(JudgeCheckpoint(Of(kHonest, {}), four), CheckpointTrust::kUnattested);
  // Two other accounts agree on a state the file does not hold: forged.
  EXPECT_EQ(JudgeCheckpoint(Of(kForged, {{0, kForged}, {1, kHonest}, {2, kHonest}}), four),
            CheckpointTrust::kForged);
  // One other account alone cannot have the writer quarantined, nor two that disagree.
  EXPECT_EQ(JudgeCheckpoint(Of(kForged, {{1, kHonest}}), four), CheckpointTrust::kUnattested);
  EXPECT_EQ(JudgeCheckpoint(Of(kForged, {{1, kHonest}, {2, kOther}}), four),
            CheckpointTrust::kUnattested);
  // Word against word: not trusted, nobody blamed.
  EXPECT_EQ(JudgeCheckpoint(Of(kHonest, {{1, kHonest}, {2, kOther}}), four),
            CheckpointTrust::kUnattested);
}

TEST(CheckpointAttestationRule, RanksOfTheWritersAccountDoNotCount) {
  // Ranks 1 and 2 share rank 0's account: they could cover for it.
  const std::vector<std::string> accounts = {"a", "a", "a", "b"};
  EXPECT_EQ(JudgeCheckpoint(Of(kForged, {{1, kForged}, {2, kForged}, {3, kHonest}}), accounts),
            CheckpointTrust::kUnattested);
  EXPECT_EQ(JudgeCheckpoint(Of(kHonest, {{1, kOther}, {2, kOther}, {3, kHonest}}), accounts),
            CheckpointTrust::kTrusted);
  // Two ranks of one other account are one account: not enough to convict.
  EXPECT_EQ(JudgeCheckpoint(Of(kForged, {{1, kHonest}, {2, kHonest}}), {"a", "b", "b"}),
            CheckpointTrust::kUnattested);
  // One contributor ran every rank: nobody else's word to ask for.
  EXPECT_EQ(JudgeCheckpoint(Of(kForged, {}), {"a", "a"}), CheckpointTrust::kTrusted);
  EXPECT_EQ(JudgeCheckpoint(Of("", {}), {"a"}), CheckpointTrust::kTrusted);
}

TEST(CheckpointAttestationRule, TheEvidenceNamesTheStepTheStatesAndTheWitnesses) {
  const std::string e = audit::ForgeryEvidence(
      7, 2, 40, Of(kForged, {{1, kHonest}, {2, kHonest}, {3, kOther}}), {"a", "b", "c", "d"});
  EXPECT_EQ(e,
            "job 7 attempt 2: the checkpoint rank 0 wrote at step 40 holds state "
            "ffffffffffffffff..., while ranks 1 (account b), 2 (account c) attest "
            "aaaaaaaaaaaaaaaa...");
}

class AttestationTest : public testing::SchedulerFixture {
 protected:
  void SetUp() override {
    audits_ = true;
    SchedulerFixture::SetUp();
  }
  // Registers one worker per account and runs a job with a rank on each.
  const Job* RunJobOn(const std::vector<std::string>& accounts) {
    for (size_t i = 0; i < accounts.size(); ++i) {
      WorkerRegistration reg{"w" + std::to_string(i), "host", 1, 2, {}};
      reg.account = accounts[i];
      auto w = sched_->RegisterWorker(reg);
      EXPECT_TRUE(w.ok()) << w.status().ToString();
    }
    const std::string n = std::to_string(accounts.size());
    auto job = sched_->Submit(
        "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: m}\nspec:\n"
        "  workers: {min: " +
            n + ", max: " + n +
            "}\n  resources: {backend: cpu, gpusPerWorker: 0}\n"
            "  model: {layers: [4, 2]}\n  data: {train: /usr/share/datasets/x}\n"
            "  limits: {maxRetries: 3}\n",
        "u");
    EXPECT_TRUE(job.ok()) << job.status().ToString();
    if (!job.ok()) return nullptr;
    EXPECT_EQ((*job)->state, JobState::kRunning);
    EXPECT_EQ((*job)->current_attempt()->audit.empty(), !audits_);
    return *job;
  }
  // Rank `rank` of attempt 1 attests `digest` at `step`, through its worker's events.
  void Attest(const Job& j, int rank, int64_t step, const std::string& digest) {
    const json ev = {
        {"type", "audit"},
        {"job", j.id},
        {"attempt", 1},
        {"rank", rank},
        {"data", {{"type", "attest"}, {"step", step}, {"rank", rank}, {"digest", digest}}}};
    ASSERT_TRUE(ApplyEvents(j.attempts[0].ranks[rank].worker_id, json::array({ev})).ok());
  }
};

TEST_F(AttestationTest, AVouchedForCheckpointIsTrustedAndAForgedOneQuarantinesItsWriter) {
  const Job* j = RunJobOn({"a", "b", "c"});
  ASSERT_NE(j, nullptr);
  const int64_t id = j->id;
  const std::string writer = j->attempts[0].ranks[0].worker_id;
  // Step 10: the upload comes before the attestations, as it may.
  sched_->RecordCheckpoint(id, 1, 10, 1 << 20, 0, kHonest);
  EXPECT_EQ(sched_->CheckpointTrustOf(*j, 1, 10), "unattested");
  Attest(*j, 0, 10, kHonest);
  EXPECT_EQ(sched_->CheckpointTrustOf(*j, 1, 10), "unattested");  // rank 0's word alone
  Attest(*j, 1, 10, kHonest);
  EXPECT_EQ(sched_->CheckpointTrustOf(*j, 1, 10), "attested");
  Attest(*j, 2, 10, kHonest);
  EXPECT_EQ(sched_->CheckpointTrustOf(*j, 1, 10), "attested");
  // Step 20: rank 0 uploads other weights than the ranks hold.
  Attest(*j, 1, 20, kHonest);
  Attest(*j, 2, 20, kHonest);
  EXPECT_EQ(sched_->FindWorker(writer)->state, WorkerState::kAlive);
  sched_->RecordCheckpoint(id, 1, 20, 1 << 20, 0, kForged);
  EXPECT_EQ(sched_->CheckpointTrustOf(*j, 1, 20), "forged");
  const Worker* w = sched_->FindWorker(writer);
  EXPECT_EQ(w->state, WorkerState::kQuarantined);
  EXPECT_NE(w->quarantine.find("forged a checkpoint: job " + std::to_string(id) +
                               " attempt 1: the checkpoint rank 0 wrote at step 20"),
            std::string::npos)
      << w->quarantine;
  EXPECT_EQ(w->failed_audits, 1);
  // Its attempt failed and will be retried without it; the event says why.
  j = sched_->FindJob(id);
  EXPECT_NE(j->attempts[0].reason.find("WorkerQuarantined"), std::string::npos);
  bool event = false;
  for (const JobEvent& e : j->events) {
    event |=
        e.type == "audit" && e.message.find("at step 20 holds state ffff") != std::string::npos;
  }
  EXPECT_TRUE(event);
  // A late attestation neither quarantines it again nor changes the verdicts.
  Attest(*j, 0, 20, kForged);
  EXPECT_EQ(sched_->FindWorker(writer)->failed_audits, 1);
  // Both verdicts survive a restart.
  Reopen();
  j = sched_->FindJob(id);
  ASSERT_NE(j, nullptr);
  EXPECT_EQ(sched_->CheckpointTrustOf(*j, 1, 10), "attested");
  EXPECT_EQ(sched_->CheckpointTrustOf(*j, 1, 20), "forged");
  EXPECT_TRUE(j->attempts[0].attestations.at(20).forged);
  EXPECT_EQ(j->attempts[0].attestations.at(10).by_rank.size(), 3u);
}

// Rank 0 exits after uploading its final checkpoint; the last attestation shows it forged. The
// attempt fails (and is retried) rather than succeeding when the other ranks exit.
TEST_F(AttestationTest, AForgedFinalCheckpointFailsTheAttemptAfterItsWriterExited) {
  const Job* j = RunJobOn({"a", "b", "c"});
  ASSERT_NE(j, nullptr);
  const int64_t id = j->id;
  sched_->RecordCheckpoint(id, 1, 117, 1 << 20, 0, kForged);
  ASSERT_TRUE(ApplyEvents(j->attempts[0].ranks[0].worker_id, json::array({Exit(*j, 0, 0)})).ok());
  Attest(*j, 1, 117, kHonest);
  EXPECT_EQ(sched_->FindJob(id)->attempts[0].state, AttemptState::kRunning);
  Attest(*j, 2, 117, kHonest);
  j = sched_->FindJob(id);
  EXPECT_EQ(j->attempts[0].state, AttemptState::kFailed);
  EXPECT_NE(j->attempts[0].reason.find("CheckpointForged: job "), std::string::npos)
      << j->attempts[0].reason;
  for (int r = 1; r < 3; ++r) {
    (void)ApplyEvents(j->attempts[0].ranks[r].worker_id,
                      json::array({{{"type", "exit"},
                                    {"job", id},
                                    {"attempt", 1},
                                    {"rank", r},
                                    {"exitCode", 0},
                                    {"result", {{"paramChecksum", "abc"}}}}}));
  }
  EXPECT_NE(sched_->FindJob(id)->state, JobState::kSucceeded);
}

TEST_F(AttestationTest, OneOtherAccountCannotConvictAndBadAttestationsAreDropped) {
  const Job* j = RunJobOn({"a", "b", "b"});
  ASSERT_NE(j, nullptr);
  const int64_t id = j->id;
  const std::string writer = j->attempts[0].ranks[0].worker_id;
  Attest(*j, 1, 20, kHonest);
  Attest(*j, 2, 20, kHonest);
  sched_->RecordCheckpoint(id, 1, 20, 1 << 20, 0, kForged);
  EXPECT_EQ(sched_->CheckpointTrustOf(*j, 1, 20), "unattested");      // not resumed from...
  EXPECT_EQ(sched_->FindWorker(writer)->state, WorkerState::kAlive);  // ...and nobody blamed
  // A rank attesting for another, or a malformed digest: dropped, nothing else changes.
  const json bad = {{"type", "audit"},
                    {"job", id},
                    {"attempt", 1},
                    {"rank", 1},
                    {"data", {{"type", "attest"}, {"step", 30}, {"rank", 2}, {"digest", kHonest}}}};
  ASSERT_TRUE(ApplyEvents(j->attempts[0].ranks[1].worker_id, json::array({bad})).ok());
  Attest(*j, 1, 30, "xyz");
  EXPECT_EQ(j->attempts[0].attestations.count(30), 0u);
  EXPECT_EQ(sched_->FindJob(id)->state, JobState::kRunning);
}

TEST_F(AttestationTest, AnUnauditedAttemptsCheckpointsNeedNoAttestation) {
  audits_ = false;
  Reopen();
  const Job* j = RunJobOn({"a", "b"});
  ASSERT_NE(j, nullptr);
  EXPECT_TRUE(j->attempts[0].audit.empty());
  sched_->RecordCheckpoint(j->id, 1, 20, 1 << 20, 0, kForged);
  EXPECT_EQ(sched_->CheckpointTrustOf(*j, 1, 20), "unaudited");
  EXPECT_TRUE(j->attempts[0].attestations.empty());
}

}  // namespace
}  // namespace shoal

// The in-step audit protocol (docs/audits.md) with real Gloo ranks (threads in this process): an
// honest run is unchanged by audits and accuses nobody; each fault mode of --cheat is caught by an
// audit, arbitrated by a third rank and stops the step before its update; colluders cover for each
// other only when no other account audits them; the norm screen audits a zero gradient at once.
#include "worker/train/audit_session.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/audit/state_digest.h"
#include "common/file_util.h"
#include "common/safetensors.h"
#include "tests/testing/audit_ranks.h"
#include "tests/testing/test_util.h"
#include "worker/train/trainer.h"

namespace shoal {
namespace {

using RankRun = testing::AuditedRankRun;

class AuditTrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-audit-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    testing::WriteBlobsCsv(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  JobSpec Spec(int ranks, int epochs) {
    std::ostringstream y;
    y << "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: blobs}\nspec:\n"
      << "  workers: {min: " << ranks << ", max: " << ranks << "}\n"
      << "  resources: {backend: cpu, gpusPerWorker: 0}\n"
      << "  model: {kind: mlp, layers: [8, 16, 3], activation: tanh}\n"
      << "  data: {train: " << dir_ << "/train.csv, test: " << dir_ << "/test.csv}\n"
      << "  optimizer: {kind: sgd, lr: 0.1, momentum: 0.9}\n"
      << "  training: {epochs: " << epochs << ", batchSize: 16, seed: 5}\n";
    auto spec = ParseJobSpec(y.str(), "test");
    EXPECT_TRUE(spec.ok()) << spec.status().ToString();
    return *spec;
  }

  static std::vector<wire::AuditPlan> Plans(const std::vector<std::string>& accounts,
                                            const std::vector<double>& rate) {
    return testing::AuditPlans(accounts, rate);
  }

  // threads[r]: rank r's BLAS threads (part of its compute configuration); 1 when empty.
  std::vector<RankRun> Run(const JobSpec& spec, const std::vector<wire::AuditPlan>& plans,
                           const std::vector<std::string>& cheats,
                           const std::vector<int>& threads_of = {}) {
    return testing::RunAuditedRanks(std::vector<JobSpec>(plans.size(), spec), plans, cheats,
                                    [&](int r, TrainerOptions* opts) {
                                      opts->threads = threads_of.empty() ? 1 : threads_of[r];
                                    });
  }

  std::string dir_;
};

const std::vector<std::string> kFourAccounts = {"a", "b", "c", "d"};

TEST_F(AuditTrainerTest, HonestRanksAreAuditedWithoutChangingTheRun) {
  const JobSpec spec = Spec(4, 4);
  auto plain = Run(spec, std::vector<wire::AuditPlan>(4), {});
  auto audited = Run(spec, Plans(kFourAccounts, {0.3, 0.3, 0.3, 0.3}), {});
  int audits = 0;
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(plain[r].status.ok()) << plain[r].status.ToString();
    ASSERT_TRUE(audited[r].status.ok()) << audited[r].status.ToString();
    // Audits recompute on the side: the parameters end bit-identical to an unaudited run.
    EXPECT_EQ(audited[r].result.param_checksum, plain[0].result.param_checksum);
    for (const auto& rec : audited[r].records) {
      if (rec.role == wire::AuditRole::kAuditor) {
        ++audits;
        EXPECT_EQ(rec.verdict, "exact") << "step " << rec.step;
      }
    }
  }
  // 24 steps x 4 auditees x 0.3: about 29 audits.
  EXPECT_GT(audits, 10);
}

// The side band carries every step's hashes, draws and norms in the gradient all-reduce, so a
// step without a draw or a screen outlier makes no collective beyond it, and one with a draw or
// a screened rank makes one more (sketches and recomputations; honest ranks need no arbitration).
TEST_F(AuditTrainerTest, OnlyStepsWithAnAuditMakeAnExchange) {
  const JobSpec spec = Spec(4, 4);
  auto quiet = [](std::vector<wire::AuditPlan> plans) {
    for (auto& p : plans) p.screen_z = 1e9;  // nothing screened
    return plans;
  };
  auto plain = Run(spec, std::vector<wire::AuditPlan>(4), {});
  auto never = Run(spec, quiet(Plans(kFourAccounts, {0, 0, 0, 0})), {});
  auto drawn = Run(spec, quiet(Plans(kFourAccounts, {0.3, 0.3, 0.3, 0.3})), {});
  auto screen_all = [](std::vector<wire::AuditPlan> plans) {
    for (auto& p : plans) p.screen_min_deviation = 0;  // z alone: honest ranks get screened
    return plans;
  };
  auto screened = Run(spec, screen_all(Plans(kFourAccounts, {0, 0, 0, 0})), {});
  auto audited_steps = [](const std::vector<RankRun>& runs) {
    std::set<int64_t> steps;
    for (const auto& run : runs) {
      for (const auto& rec : run.records) steps.insert(rec.step);
    }
    return static_cast<int64_t>(steps.size());
  };
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(plain[r].status.ok()) << plain[r].status.ToString();
    ASSERT_TRUE(never[r].status.ok()) << never[r].status.ToString();
    ASSERT_TRUE(drawn[r].status.ok()) << drawn[r].status.ToString();
    ASSERT_TRUE(screened[r].status.ok()) << screened[r].status.ToString();
  }
  const int64_t steps = plain[0].result.steps;
  const int64_t with_draw = audited_steps(drawn), with_screen = audited_steps(screened);
  EXPECT_EQ(audited_steps(never), 0);
  EXPECT_GT(with_draw, 0);
  EXPECT_LT(with_draw, steps);
  EXPECT_GT(with_screen, 0) << "no honest rank was screened: the test shows nothing";
  for (const auto& run : screened) {
    for (const auto& rec : run.records) EXPECT_TRUE(rec.screened);
  }
  // Every step makes one small all-gather after the gradient all-reduce (its tail: tickets and
  // sum-check claims), and a step with an audit one exchange more (another all-gather).
  for (int r = 0; r < 4; ++r) {
    SCOPED_TRACE("rank " + std::to_string(r));
    EXPECT_EQ(plain[r].all_gathers, 0);
    EXPECT_EQ(never[r].all_gathers, steps);
    EXPECT_EQ(drawn[r].all_gathers, steps + with_draw);
    EXPECT_EQ(screened[r].all_gathers, steps + with_screen);
    for (const auto* runs : {&never, &drawn, &screened}) {
      EXPECT_EQ((*runs)[r].all_reduces, plain[r].all_reduces);
    }
  }
  // Within one configuration an audit costs one recomputation, the auditor's: the auditee shows
  // its hash and norm, and computes nothing again (it did, to sketch itself, until 2026-12-06).
  for (const auto* runs : {&drawn, &screened}) {
    int64_t audits = 0, recomputed = 0;
    for (const auto& run : *runs) {
      recomputed += run.result.audit_recomputations;
      for (const auto& rec : run.records) audits += rec.role == wire::AuditRole::kAuditor;
    }
    EXPECT_GT(audits, 0);
    EXPECT_EQ(recomputed, audits);
  }
}

// One cheater (rank 2) per fault mode: the first audit of it disagrees, a third rank arbitrates
// and agrees with the auditor, and every rank stops with the dispute.
TEST_F(AuditTrainerTest, EveryFaultModeIsCaughtAndArbitrated) {
  const JobSpec spec = Spec(4, 8);
  for (const std::string mode : {"zero", "stale", "noise:0.001", "scale:1.5", "skip:0.5"}) {
    SCOPED_TRACE(mode);
    auto runs = Run(spec, Plans(kFourAccounts, {0.2, 0.2, 0.2, 0.2}), {"", "", mode, ""});
    int64_t step = -1;
    for (int r = 0; r < 4; ++r) {
      ASSERT_FALSE(runs[r].status.ok()) << "rank " << r << " finished";
      EXPECT_EQ(ExitCodeFor(runs[r].status), kTrainAuditDispute) << runs[r].status.ToString();
    }
    bool auditor_mismatch = false, arbiter_agrees = false, auditee_reported = false;
    for (int r = 0; r < 4; ++r) {
      for (const auto& rec : runs[r].records) {
        if (rec.auditee != 2 || rec.verdict == "exact") continue;
        step = rec.step;
        auditor_mismatch |= rec.role == wire::AuditRole::kAuditor && rec.verdict == "mismatch";
        arbiter_agrees |= rec.role == wire::AuditRole::kArbiter && rec.verdict == "mismatch";
      }
      for (const auto& rec : runs[r].records) {
        auditee_reported |=
            rec.role == wire::AuditRole::kAuditee && rec.rank == 2 && rec.step == step;
      }
    }
    EXPECT_TRUE(auditor_mismatch || arbiter_agrees);
    EXPECT_TRUE(arbiter_agrees) << "no arbiter confirmed the mismatch";
    EXPECT_TRUE(auditee_reported);
    EXPECT_GT(step, 0);
  }
}

// Ranks 0 and 1 (account a) collude: 0 sends zeros, 1 covers for it. Audited only by its partner,
// rank 0 gets away; audited by other accounts, it is caught.
TEST_F(AuditTrainerTest, CollusionHidesOnlyFromTheColludersOwnAccount) {
  const JobSpec spec = Spec(4, 4);
  const std::vector<std::string> accounts = {"a", "a", "b", "c"};
  auto partner_only = Plans(accounts, {0.5, 0, 0, 0});
  for (auto& plan : partner_only) {
    plan.auditors[0] = {1};  // as when no other account is in the job
    plan.screen_z = 1e9;     // the norm screen would see the zeros
  }
  auto covered = Run(spec, partner_only, {"collude", "collude", "", ""});
  for (int r = 0; r < 4; ++r) EXPECT_TRUE(covered[r].status.ok()) << covered[r].status.ToString();
  auto caught = Run(spec, Plans(accounts, {0.5, 0, 0, 0}), {"collude", "collude", "", ""});
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(ExitCodeFor(caught[r].status), kTrainAuditDispute) << caught[r].status.ToString();
  }
}

// Rank 2 is the only one on one BLAS thread, so every rank that judges it runs another
// configuration and compares sketches, not hashes. An evading rank 2 commits to zeros and, once
// it knows it is audited, claims the honest gradient's sketch: its own sketch proves nothing, so
// it must reveal the bytes it committed to, and they give it away (docs/audits.md "Reveals").
TEST_F(AuditTrainerTest, AcrossConfigurationsTheRevealCatchesAnEvadingRank) {
  const JobSpec spec = Spec(4, 8);
  auto plans = Plans(kFourAccounts, {0, 0, 0.3, 0});
  for (auto& p : plans) p.screen_z = 1e9;  // caught by the draw, not by its zeros' norm
  const std::vector<int> threads = {2, 2, 1, 2};
  auto honest = Run(spec, plans, {}, threads);
  int revealed = 0;
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(honest[r].status.ok()) << honest[r].status.ToString();
    for (const auto& rec : honest[r].records) {
      if (rec.role != wire::AuditRole::kAuditor) continue;
      ASSERT_TRUE(rec.revealed.has_value()) << "step " << rec.step;
      EXPECT_NE(rec.verdict, "mismatch");
      ++revealed;
    }
  }
  EXPECT_GT(revealed, 0) << "rank 2 was never audited: the test shows nothing";
  auto runs = Run(spec, plans, {"", "", "evade", ""}, threads);
  bool arbiter_confirmed = false;
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(ExitCodeFor(runs[r].status), kTrainAuditDispute) << runs[r].status.ToString();
    for (const auto& rec : runs[r].records) {
      if (rec.role != wire::AuditRole::kArbiter) continue;
      ASSERT_TRUE(rec.revealed.has_value());
      EXPECT_EQ(rec.verdict, "mismatch");
      arbiter_confirmed = true;
    }
  }
  EXPECT_TRUE(arbiter_confirmed);
}

TEST_F(AuditTrainerTest, TheNormScreenAuditsAZeroGradientAtOnce) {
  const JobSpec spec = Spec(4, 2);
  auto runs = Run(spec, Plans(kFourAccounts, {0, 0, 0, 0}), {"", "zero", "", ""});
  for (int r = 0; r < 4; ++r) {
    ASSERT_EQ(ExitCodeFor(runs[r].status), kTrainAuditDispute) << runs[r].status.ToString();
    EXPECT_NE(runs[r].status.message().find("at step 1:"), std::string::npos)
        << runs[r].status.message();
    EXPECT_NE(runs[r].status.message().find("norm screen"), std::string::npos);
  }
}

// A rank that commits to its honest gradient and sends zeros passes every audit of its
// commitment; only the sum check sees it (docs/audits.md "The sum check").
TEST_F(AuditTrainerTest, TheSumCheckStopsARankThatSendsAnotherGradientThanItCommitted) {
  const JobSpec spec = Spec(4, 8);
  auto plans = Plans(kFourAccounts, {0.2, 0.2, 0.2, 0.2});
  // Claiming its commitment's projections, it is stopped but not named: no audit disagrees.
  auto runs = Run(spec, plans, {"", "", "split", ""});
  int64_t stopped_at = -1;
  for (int r = 0; r < 4; ++r) {
    ASSERT_EQ(ExitCodeFor(runs[r].status), kTrainAuditDispute) << runs[r].status.ToString();
    const std::string& m = runs[r].status.message();
    EXPECT_NE(m.find("not the sum of the gradients the ranks committed to"), std::string::npos)
        << m;
    const int64_t step = std::stoll(m.substr(m.find("at step ") + 8));
    if (stopped_at < 0) stopped_at = step;
    EXPECT_EQ(step, stopped_at) << "ranks stopped at different steps";
    for (const auto& rec : runs[r].records) {
      EXPECT_NE(rec.verdict, "mismatch") << "step " << rec.step;
      // The failed step's clean audits prove nothing about what was sent: not reported.
      EXPECT_LT(rec.step, stopped_at);
    }
  }
  // Claiming the projections of the zeros it sent, the sum adds up, and the first audit of it
  // finds its claim is not of its commitment: a dispute that a third rank confirms.
  auto sent = Run(spec, plans, {"", "", "split-sent", ""});
  bool arbiter_confirmed = false;
  for (int r = 0; r < 4; ++r) {
    ASSERT_EQ(ExitCodeFor(sent[r].status), kTrainAuditDispute) << sent[r].status.ToString();
    EXPECT_NE(sent[r].status.message().find("recomputed rank 2's gradient"), std::string::npos)
        << sent[r].status.message();
    for (const auto& rec : sent[r].records) {
      arbiter_confirmed |=
          rec.role == wire::AuditRole::kArbiter && rec.auditee == 2 && rec.verdict == "mismatch";
    }
  }
  EXPECT_TRUE(arbiter_confirmed);
}

// Every step's sum is checked before its update, on the claims of the step's tail: with no draws
// and no screen at all, a rank that commits to its honest gradient and sends zeros is stopped at
// step 1, before any update; honest ranks run exactly as without audits. (Until 2026-12-07 such
// a step was checked a step late, its update already applied.)
TEST_F(AuditTrainerTest, EveryStepsSumIsCheckedBeforeItsUpdate) {
  const JobSpec spec = Spec(4, 2);
  auto plans = Plans(kFourAccounts, {0, 0, 0, 0});
  for (auto& p : plans) p.screen_z = 1e9;
  auto plain = Run(spec, std::vector<wire::AuditPlan>(4), {});
  auto honest = Run(spec, plans, {});
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(honest[r].status.ok()) << honest[r].status.ToString();
    EXPECT_EQ(honest[r].result.param_checksum, plain[0].result.param_checksum);
    EXPECT_EQ(honest[r].all_reduces, plain[r].all_reduces);
    EXPECT_EQ(honest[r].all_gathers, plain[r].result.steps);
    EXPECT_TRUE(honest[r].records.empty());
  }
  for (const char* cheat : {"split", "misclaim"}) {
    auto runs = Run(spec, plans, {"", "", cheat, ""});
    for (int r = 0; r < 4; ++r) {
      ASSERT_EQ(ExitCodeFor(runs[r].status), kTrainAuditDispute) << runs[r].status.ToString();
      EXPECT_NE(runs[r].status.message().find("at step 1: the all-reduced gradient is not the sum"),
                std::string::npos)
          << runs[r].status.message();
      EXPECT_TRUE(runs[r].records.empty()) << "nobody is named by a sum";
    }
  }
}

// No rank can learn who is audited at a step before it has sent its gradient for it: nothing
// that travels with the gradient depends on the drawers' keys (the draw tickets travel in the
// step's tail, after the gradient all-reduce). Until 2026-12-07 they rode with the gradient, so a
// rank that rewrote the all-reduce's schedule could read its drawer's ticket first and cheat only
// on steps it was not drawn.
TEST_F(AuditTrainerTest, NoRankLearnsTheDrawBeforeItHasSentItsGradient) {
  const JobSpec spec = Spec(4, 2);
  auto plans = Plans(kFourAccounts, {0.3, 0.3, 0.3, 0.3});
  auto other_keys = plans;
  for (auto& p : other_keys) p.key += "9";
  auto runs = Run(spec, plans, {});
  auto rekeyed = Run(spec, other_keys, {});
  auto audited_steps = [](const std::vector<RankRun>& of) {
    std::set<int64_t> steps;
    for (const auto& run : of) {
      for (const auto& rec : run.records) steps.insert(rec.step);
    }
    return steps;
  };
  ASSERT_NE(audited_steps(runs), audited_steps(rekeyed))
      << "the same draws: the test shows nothing";
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(runs[r].status.ok()) << runs[r].status.ToString();
    ASSERT_TRUE(rekeyed[r].status.ok()) << rekeyed[r].status.ToString();
    // The gradient all-reduces (float) carry the same bytes whatever the draws; the tails (the
    // all-gathers) differ.
    EXPECT_EQ(runs[r].float_inputs, rekeyed[r].float_inputs) << "rank " << r;
    EXPECT_NE(runs[r].gather_inputs, rekeyed[r].gather_inputs) << "rank " << r;
    EXPECT_EQ(runs[r].result.param_checksum, rekeyed[r].result.param_checksum);
  }
}

// No checkpoint holds a step whose sum is unchecked: with a checkpoint after every step, a split
// rank is stopped at step 1 and no checkpoint is written.
TEST_F(AuditTrainerTest, NoCheckpointHoldsAStepWhoseSumIsUnchecked) {
  JobSpec spec = Spec(4, 2);
  spec.checkpoint.every_steps = 1;
  auto plans = Plans(kFourAccounts, {0, 0, 0, 0});
  for (auto& p : plans) p.screen_z = 1e9;
  const std::string ckpt_dir = dir_ + "/ckpt";
  auto with_checkpoints = [&](int r, TrainerOptions* opts) {
    if (r == 0) opts->checkpoint_dir = ckpt_dir;
  };
  auto honest =
      testing::RunAuditedRanks(std::vector<JobSpec>(4, spec), plans, {}, with_checkpoints);
  for (int r = 0; r < 4; ++r) ASSERT_TRUE(honest[r].status.ok()) << honest[r].status.ToString();
  ASSERT_TRUE(std::filesystem::exists(ckpt_dir)) << "no checkpoint written: the test shows nothing";
  std::filesystem::remove_all(ckpt_dir);
  auto runs = testing::RunAuditedRanks(std::vector<JobSpec>(4, spec), plans, {"", "", "split", ""},
                                       with_checkpoints);
  for (int r = 0; r < 4; ++r) {
    ASSERT_EQ(ExitCodeFor(runs[r].status), kTrainAuditDispute) << runs[r].status.ToString();
    EXPECT_NE(runs[r].status.message().find("at step 1: the all-reduced gradient is not the sum"),
              std::string::npos)
        << runs[r].status.message();
  }
  EXPECT_FALSE(std::filesystem::exists(ckpt_dir) && !std::filesystem::is_empty(ckpt_dir))
      << "a checkpoint holds the unchecked step";
}

// A stop is taken together (docs/audits.md "Stops"): a rank told to stop says so in the next
// step's side band, every rank stops after that step, and that step's sum is checked before its
// update, so the checkpoint written at the stop holds no unchecked step. Before, the told rank
// left at once and its peers failed in the step's all-reduce, with the last step's sum unchecked.
TEST_F(AuditTrainerTest, AStopIsTakenTogetherAndItsLastStepIsChecked) {
  const JobSpec spec = Spec(4, 2);
  auto plans = Plans(kFourAccounts, {0, 0, 0, 0});
  for (auto& p : plans) p.screen_z = 1e9;
  const std::string ckpt_dir = dir_ + "/ckpt";
  std::atomic<bool> stop{true};
  auto stop_rank_2 = [&](int r, TrainerOptions* opts) {
    if (r == 2) opts->stop_requested = &stop;
    if (r == 0) opts->checkpoint_dir = ckpt_dir;
  };
  auto honest = testing::RunAuditedRanks(std::vector<JobSpec>(4, spec), plans, {}, stop_rank_2);
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(honest[r].status.ok()) << r << ": " << honest[r].status.ToString();
    EXPECT_TRUE(honest[r].result.stopped) << r;
    EXPECT_EQ(honest[r].result.steps, 1) << r;
    EXPECT_EQ(honest[r].result.param_checksum, honest[0].result.param_checksum);
    ASSERT_EQ(honest[r].attestations.size(), 1u) << r;
    EXPECT_EQ(honest[r].attestations[0].step, 1);
  }
  ASSERT_TRUE(std::filesystem::exists(ckpt_dir + "/ckpt-000000000001.safetensors"));
  std::filesystem::remove_all(ckpt_dir);
  // A split rank is stopped by the check of that step, before its update: nothing is written.
  auto split = testing::RunAuditedRanks(std::vector<JobSpec>(4, spec), plans, {"", "split", "", ""},
                                        stop_rank_2);
  for (int r = 0; r < 4; ++r) {
    ASSERT_EQ(ExitCodeFor(split[r].status), kTrainAuditDispute) << split[r].status.ToString();
    EXPECT_NE(split[r].status.message().find("at step 1: the all-reduced gradient is not the sum"),
              std::string::npos)
        << split[r].status.message();
  }
  EXPECT_FALSE(std::filesystem::exists(ckpt_dir) && !std::filesystem::is_empty(ckpt_dir));
}

// Every rank attests the state rank 0 checkpoints (docs/audits.md "Checkpoints"): after each
// scheduled step (rank 0's word in the side band tells the others) and the last. An honest rank
// 0's files hold exactly the state every rank attests; a forging one's do not, while it trains
// and attests as if they did.
TEST_F(AuditTrainerTest, EveryRankAttestsTheStateRankZeroCheckpoints) {
  JobSpec spec = Spec(4, 1);
  spec.checkpoint.every_steps = 2;
  spec.checkpoint.keep = 100;
  auto plans = Plans(kFourAccounts, {0, 0, 0, 0});
  for (auto& p : plans) p.screen_z = 1e9;
  const std::string ckpt_dir = dir_ + "/ckpt";
  auto with_checkpoints = [&](int r, TrainerOptions* opts) {
    if (r == 0) opts->checkpoint_dir = ckpt_dir;
  };
  // The digest of each file rank 0 wrote, by step.
  auto files = [&] {
    std::map<int64_t, std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(ckpt_dir)) {
      auto bytes = ReadFileLimited(e.path().string(), 1 << 24);
      EXPECT_TRUE(bytes.ok());
      auto index = IndexSafetensors(*bytes);
      EXPECT_TRUE(index.ok());
      out[std::stoll(index->metadata.at("step"))] = audit::StateDigest(*bytes, *index);
    }
    std::filesystem::remove_all(ckpt_dir);
    return out;
  };
  auto attested = [](const testing::AuditedRankRun& run) {
    std::map<int64_t, std::string> out;
    for (const auto& a : run.attestations) {
      EXPECT_EQ(out.count(a.step), 0u) << "step " << a.step << " attested twice";
      out[a.step] = a.digest;
    }
    return out;
  };
  auto honest =
      testing::RunAuditedRanks(std::vector<JobSpec>(4, spec), plans, {}, with_checkpoints);
  for (int r = 0; r < 4; ++r) ASSERT_TRUE(honest[r].status.ok()) << honest[r].status.ToString();
  const std::map<int64_t, std::string> written = files();
  const int64_t last = honest[0].result.steps;
  ASSERT_GE(last, 5);
  ASSERT_EQ(written.size(), static_cast<size_t>(last / 2 + last % 2))
      << "every second step and the last";
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(attested(honest[r]), written) << "rank " << r;
  }
  EXPECT_EQ(written.rbegin()->first, last);
  // Rank 0 forges every file; its training, and the others' attestations, are unchanged.
  auto forged = testing::RunAuditedRanks(std::vector<JobSpec>(4, spec), plans,
                                         {"forge", "", "", ""}, with_checkpoints);
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(forged[r].status.ok()) << forged[r].status.ToString();
    EXPECT_EQ(forged[r].result.param_checksum, honest[r].result.param_checksum);
  }
  const std::map<int64_t, std::string> forgeries = files();
  EXPECT_EQ(attested(forged[0]), forgeries);  // it vouches for its own forgeries
  for (int r = 1; r < 4; ++r) EXPECT_EQ(attested(forged[r]), written) << "rank " << r;
  ASSERT_EQ(forgeries.size(), written.size());
  for (const auto& [step, digest] : forgeries) EXPECT_NE(digest, written.at(step)) << step;
  // Unaudited ranks attest nothing.
  auto plain = testing::RunAuditedRanks(std::vector<JobSpec>(4, spec),
                                        std::vector<wire::AuditPlan>(4), {}, with_checkpoints);
  for (int r = 0; r < 4; ++r) EXPECT_TRUE(plain[r].attestations.empty());
  std::filesystem::remove_all(ckpt_dir);
}

// After a failed sum check the scheduler makes the plan transparent: every rank's gradient is
// broadcast, so the split rank is seen sending zeros against its commitment, audited with those
// bytes as its reveal, and named. Honest ranks reduce transparently without an accusation.
TEST_F(AuditTrainerTest, ATransparentReductionNamesTheRankThatSentOtherThanItCommitted) {
  const JobSpec spec = Spec(4, 2);
  auto plans = Plans(kFourAccounts, {0, 0, 0, 0});  // no draws: only what was sent accuses
  for (auto& p : plans) {
    p.transparent = true;
    p.screen_z = 1e9;
  }
  auto honest = Run(spec, plans, {});
  for (int r = 0; r < 4; ++r) {
    ASSERT_TRUE(honest[r].status.ok()) << honest[r].status.ToString();
    EXPECT_TRUE(honest[r].records.empty());
    EXPECT_EQ(honest[r].result.param_checksum, honest[0].result.param_checksum);
  }
  auto runs = Run(spec, plans, {"", "", "split", ""});
  bool auditor_saw = false, arbiter_saw = false;
  for (int r = 0; r < 4; ++r) {
    ASSERT_EQ(ExitCodeFor(runs[r].status), kTrainAuditDispute) << runs[r].status.ToString();
    EXPECT_NE(runs[r].status.message().find("at step 1:"), std::string::npos)
        << runs[r].status.message();
    for (const auto& rec : runs[r].records) {
      if (rec.auditee != 2 || rec.role == wire::AuditRole::kAuditee) continue;
      // Its judges report the zeros it sent, off its commitment, as its reveal.
      ASSERT_TRUE(rec.revealed.has_value());
      EXPECT_NE(rec.revealed->hash, rec.commitment.hash);
      EXPECT_EQ(rec.revealed->norm, 0);
      EXPECT_EQ(rec.verdict, "mismatch");
      auditor_saw |= rec.role == wire::AuditRole::kAuditor;
      arbiter_saw |= rec.role == wire::AuditRole::kArbiter;
    }
  }
  EXPECT_TRUE(auditor_saw && arbiter_saw);
}

// A rank that sends and commits to its honest gradient but claims wrong projections: where no
// audit of it falls in the step, the sum check fails and names nobody. Once the plan is
// transparent its claims are not summed (every gradient sent was seen and matched against its
// commitment), so it can no longer stop the job unnamed; the first audit of it finds the claim
// is not of its commitment, and names it.
TEST_F(AuditTrainerTest, ATransparentPlanLetsNoRankStopTheJobUnnamedByClaimingWrongly) {
  const JobSpec spec = Spec(4, 8);
  auto plans = Plans(kFourAccounts, {0.2, 0.2, 0.2, 0.2});
  for (auto& p : plans) p.screen_z = 1e9;
  auto runs = Run(spec, plans, {"", "", "misclaim", ""});
  int64_t plain_stop = -1;
  for (int r = 0; r < 4; ++r) {
    ASSERT_EQ(ExitCodeFor(runs[r].status), kTrainAuditDispute) << runs[r].status.ToString();
    const std::string& m = runs[r].status.message();
    plain_stop = std::stoll(m.substr(m.find("at step ") + 8));
    // With these seeds the first step with an exchange audits another rank: unnamed.
    EXPECT_NE(m.find("not the sum"), std::string::npos) << m;
  }
  for (auto& p : plans) p.transparent = true;
  auto transparent = Run(spec, plans, {"", "", "misclaim", ""});
  bool arbiter_confirmed = false;
  for (int r = 0; r < 4; ++r) {
    ASSERT_EQ(ExitCodeFor(transparent[r].status), kTrainAuditDispute)
        << transparent[r].status.ToString();
    const std::string& m = transparent[r].status.message();
    EXPECT_NE(m.find("recomputed rank 2's gradient"), std::string::npos) << m;
    EXPECT_GT(std::stoll(m.substr(m.find("at step ") + 8)), plain_stop)
        << "the transparent run stopped where the plain one did: the test shows nothing";
    for (const auto& rec : transparent[r].records) {
      arbiter_confirmed |=
          rec.role == wire::AuditRole::kArbiter && rec.auditee == 2 && rec.verdict == "mismatch";
    }
  }
  EXPECT_TRUE(arbiter_confirmed);
  // Honest ranks under a transparent plan with draws: audited, nobody stopped.
  auto honest = Run(spec, plans, {});
  for (int r = 0; r < 4; ++r) ASSERT_TRUE(honest[r].status.ok()) << honest[r].status.ToString();
}

TEST(CheatMode, ParsesTheModesAndRefusesOthers) {
  EXPECT_EQ(ParseCheatMode("").value().kind, CheatMode::kNone);
  EXPECT_EQ(ParseCheatMode("zero").value().kind, CheatMode::kZero);
  EXPECT_EQ(ParseCheatMode("scale:0.5").value().value, 0.5);
  EXPECT_EQ(ParseCheatMode("skip:0.1").value().kind, CheatMode::kSkip);
  EXPECT_EQ(ParseCheatMode("split").value().kind, CheatMode::kSplit);
  EXPECT_EQ(ParseCheatMode("split-sent").value().kind, CheatMode::kSplitSent);
  EXPECT_EQ(ParseCheatMode("misclaim").value().kind, CheatMode::kMisclaim);
  EXPECT_EQ(ParseCheatMode("forge").value().kind, CheatMode::kForge);
  for (const char* bad : {"zeros", "skip:2", "noise:", "noise:x", "scale", "zero:1", "split:1"}) {
    auto m = ParseCheatMode(bad);
    ASSERT_FALSE(m.ok()) << bad;
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace shoal

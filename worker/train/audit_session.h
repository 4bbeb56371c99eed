// AuditSession: one rank's side of the in-step audit protocol (docs/audits.md), the StepAudit an
// engine calls around its all-reduce.
//
// Commit() hashes the local gradient, keeps a copy of it, and writes this rank's slot of the side
// band that rides in the gradient all-reduce: its hash, configuration and gradient norm. Verify()
// reads every rank's slot (the hashes fix the sketch seed), then in one small all-gather (the
// step's tail) every rank's draw ticket and sum-check claim: no rank learns who is audited at a
// step, nor the sketch's directions, before it has sent its gradient. It checks the step's sum on
// one projection and returns at once when no drawer's ticket audits anyone and no norm is an
// outlier. Otherwise it assigns auditors, exchanges the recomputations of the drawn and screened
// audits and every rank's sum-check projections (a reveal across configurations), judges every
// claim as every other rank does, arbitrates disputes in one more exchange, checks that the
// all-reduced gradient sums the claims on every projection, reports this rank's audit records,
// and fails the step (before its update) on a dispute or a failed sum check with a status
// ExitCodeFor maps to kTrainAuditDispute.
//
// Every rank makes the same collective calls in the same order: how many exchanges a step needs
// is decided from data every rank holds after the previous one (the side band, for the first).
// Not thread-safe: the trainer's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/audit/commitment.h"
#include "common/status.h"
#include "common/wire/audit_report.h"
#include "kernels/collectives/collective.h"
#include "worker/train/engines/step_engine.h"

namespace shoal {

// A test fault (shoal-train --cheat, docs/audits.md "Fault injection").
struct CheatMode {
  enum Kind {
    kNone,
    kZero,
    kStale,
    kNoise,
    kScale,
    kSkip,
    kCollude,
    kEvade,
    kSplit,
    kSplitSent,
    kMisclaim,
    kForge
  } kind = kNone;
  double value = 0;  // noise's sigma, scale's factor, skip's fraction
};
// "zero", "stale", "noise:S", "scale:X", "skip:P", "collude", "evade", "split", "split-sent",
// "misclaim", "forge" ("" = none); InvalidArgument else. evade sends zeros, but once audited it
// claims (and reveals) the honest gradient, as a lazy worker that computes only when it learns it
// is audited would. split commits to the honest gradient (so every audit of its commitment passes),
// sends zeros into the all-reduce and claims its commitment's projections: the sum check stops the
// step but cannot name it. split-sent claims the projections of what it sent instead: the sum adds
// up, and an audit of it finds the claim is not of its commitment. misclaim commits to and sends
// the honest gradient but claims zero projections: without an audit of it, the sum check fails and
// names nobody (forcing the job's retries to be transparent, where claims are not summed).
// forge trains honestly, but as rank 0 writes checkpoints whose weights are not those it holds
// (each parameter plus 0.01) and attests their digest: the other ranks' attestations give it away.
Result<CheatMode> ParseCheatMode(const std::string& text);

// The start of the message of the status Verify returns on a dispute.
inline constexpr std::string_view kAuditDisputeMessage = "audit dispute";

class AuditSession final : public StepAudit {
 public:
  // Fills `in` with rank q's micro-batches of the step being taken (x, y: the callee's buffers).
  using RowsOf = std::function<void(int q, StepInput* in)>;
  // Writes one report (an audit record, with its "type").
  using Reporter = std::function<void(const nlohmann::json&)>;

  AuditSession(wire::AuditPlan plan, Collective& collective, std::string config, CheatMode cheat,
               Reporter report, std::ostream& log);

  // The step about to be taken: its input (every rank's shape is this rank's), how to read
  // another rank's rows of it, and whether this rank will write a checkpoint after it (rank 0's
  // word counts: it travels in the side band, and every rank then attests the state it holds
  // after the step: RankZeroCheckpointsAfter). `stop_wanted`: this rank was told to stop. Its
  // word travels in the side band too, and every rank stops after this step (StopsAfter), so
  // that a stop is taken together.
  void Prepare(const StepInput& in, RowsOf rows_of, bool checkpoint_after = false,
               bool stop_wanted = false);

  int64_t SideBandFloats() const override;
  Status Commit(int64_t step, float* local, int64_t n, float* side) override;
  // An all-reduce; with a transparent plan every rank's buffer is broadcast and summed in rank
  // order (the same on every rank), and a rank whose gradient does not hash to the commitment in
  // its own side-band slot is audited at this step with those bytes as its reveal: its auditor
  // and arbiter report them, and the scheduler quarantines it.
  Status Reduce(float* data, int64_t count) override;
  Status Verify(int64_t step, const float* reduced, const float* side, StepEngine& engine) override;

  // Whether rank 0 said in `step`'s side band that it writes a checkpoint after that step (every
  // rank then attests the state it holds: docs/audits.md "Checkpoints").
  bool RankZeroCheckpointsAfter(int64_t step) const { return checkpoint_step_ == step; }
  // Whether a rank said in `step`'s side band that it was told to stop: every rank stops after
  // that step.
  bool StopsAfter(int64_t step) const { return stop_step_ == step; }
  // Local gradients this rank computed again for audits, as auditor or arbiter: an audit costs
  // one (the auditor's), two in a dispute.
  int64_t recomputations() const { return recomputations_; }

 private:
  struct Case;
  void Cheat(float* local, int64_t n);
  // Rank q's gradient recomputed here, committed to (sketched only if q's configuration differs).
  Result<audit::Commitment> Recompute(int q, const std::string& seed,
                                      const std::string& config_of_q, StepEngine& engine);
  // Rank q broadcasts the gradient it committed to; every rank hashes and sketches what arrived.
  Result<audit::Commitment> Reveal(int q, const std::string& seed, const std::string& config);
  // The bytes this rank shows as committed: its copy (the evade fault: the honest gradient).
  const std::vector<float>& Committed() const;
  // "" when `reduced` sums the ranks' claimed projections within audit::SumTolerance, else why.
  std::string SumCheck(const float* reduced, const std::string& seed,
                       const std::vector<audit::Commitment>& claims,
                       const std::vector<double>& norms) const;
  // "" when each of `sums` (the ranks' claims added up) lies within `tolerance` of the
  // projection in `got` of the all-reduced gradient, else why not.
  static std::string SumMismatch(const std::vector<double>& got, const std::vector<double>& sums,
                                 double tolerance);
  // Every rank's `slots` added up, when each rank fills only its own (the others zero): gathered
  // in one round (Collective::AllGather) instead of an all-reduce's 2 log2(world).
  Status SumOwnSlots(std::vector<double>* slots);
  // The step's failure for a failed sum check (`error`: SumMismatch's), logged.
  Status SumFailed(int64_t step, const std::string& error);
  // This rank's claimed sum-check projections under `seed` (`count` 1: only the first, the same
  // bits): of its committed copy (the split-sent and misclaim faults: zeros).
  std::vector<double> OwnProjections(const std::string& seed, int count) const;
  void ReportCases(int64_t step, const std::vector<Case>& cases);

  wire::AuditPlan plan_;
  Collective& coll_;
  const int rank_, world_;
  std::string config_;
  CheatMode cheat_;
  Reporter report_;
  std::ostream& log_;
  std::mt19937_64 cheat_rng_;

  StepInput input_;
  RowsOf rows_of_;
  int64_t checkpoint_step_ = -1;  // the last step rank 0 said it checkpoints after
  int64_t stop_step_ = -1;        // the last step a rank said it stops after
  bool stop_wanted_ = false;      // Prepare's word for this step
  int64_t n_ = 0;                // this step's gradient's floats
  std::vector<float> local_;     // this step's committed gradient
  std::vector<float> previous_;  // the stale fault's last honest gradient
  std::vector<float> honest_;    // the evade fault's honest gradient (it committed to zeros)
  // Transparent plans: the gradients ranks sent that do not hash to their commitments, by rank.
  std::map<int, std::vector<float>> sent_off_;
  std::string hash_;
  double norm_ = 0;        // the L2 norm of what this rank shows (the evade fault: the honest one)
  audit::Commitment own_;  // this step's claim, when audited: hash, config, norm, projections
  bool checkpoint_after_ = false;  // Prepare's word for this step
  int64_t recomputations_ = 0;
};

}  // namespace shoal

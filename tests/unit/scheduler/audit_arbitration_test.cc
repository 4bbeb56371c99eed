// Judging audit records (docs/audits.md "Disputes"): scheduler/audit/arbitration.h.
#include "scheduler/audit/arbitration.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace shoal::audit {
namespace {

const char* kCfgA = "cpu/fp32/Haswell/t1/b0";
const char* kCfgB = "cpu/fp32/SkylakeX/t2/b0";
const std::string kSeed = SketchSeed("nonce", 3, {std::string(64, 'a'), std::string(64, 'b')});

std::vector<float> Gradient(float scale = 1) {
  std::vector<float> g(512);
  for (size_t i = 0; i < g.size(); ++i) g[i] = scale * 1e-3f * static_cast<float>((i * 37) % 19);
  return g;
}

Commitment Of(const std::vector<float>& g, const char* config) {
  return Commit(g.data(), static_cast<int64_t>(g.size()), kSeed, config);
}

const Commitment kHonest = Of(Gradient(), kCfgA);
const Commitment kZeros = Of(std::vector<float>(512, 0.f), kCfgA);

AuditCase Case(std::optional<Commitment> claim, std::optional<Commitment> recomputed,
               int arbiter = -1, std::optional<Commitment> arbitrated = std::nullopt) {
  AuditCase c;
  c.step = 40;
  c.auditee = 2;
  c.auditor = 0;
  c.arbiter = arbiter;
  c.claim = std::move(claim);
  c.recomputed = std::move(recomputed);
  c.arbitrated = std::move(arbitrated);
  return c;
}

TEST(AuditJudge, EqualHashesInOneConfigurationAreClean) {
  EXPECT_EQ(Judge(Case(kHonest, Of(Gradient(), kCfgA))), Finding::kClean);
}

TEST(AuditJudge, RoundingAcrossConfigurationsIsClean) {
  std::vector<float> g = Gradient();
  for (size_t i = 0; i < g.size(); i += 7) g[i] = std::nextafter(g[i], 1.f);
  EXPECT_EQ(Judge(Case(kHonest, Of(g, kCfgB))), Finding::kClean);
  // The same few ulps within one configuration are a mismatch: the hashes must be equal there.
  EXPECT_EQ(Judge(Case(kHonest, Of(g, kCfgA))), Finding::kInconclusive);
}

TEST(AuditJudge, MissingRecordsArePending) {
  EXPECT_EQ(Judge(Case(std::nullopt, kHonest)), Finding::kPending);
  EXPECT_EQ(Judge(Case(kHonest, std::nullopt)), Finding::kPending);
  EXPECT_EQ(Judge(Case(kZeros, kHonest, /*arbiter=*/1)), Finding::kPending);
}

TEST(AuditJudge, ADisputeWithoutAnArbiterIsInconclusive) {
  EXPECT_EQ(Judge(Case(kZeros, kHonest)), Finding::kInconclusive);
}

TEST(AuditJudge, TheArbiterSidesWithTheAuditor) {
  EXPECT_EQ(Judge(Case(kZeros, kHonest, 1, Of(Gradient(), kCfgA))), Finding::kAuditeeCheated);
  // Across configurations too.
  EXPECT_EQ(Judge(Case(kZeros, kHonest, 1, Of(Gradient(), kCfgB))), Finding::kAuditeeCheated);
}

TEST(AuditJudge, TheArbiterSidesWithTheAuditee) {
  EXPECT_EQ(Judge(Case(kHonest, kZeros, 1, kHonest)), Finding::kAuditorLied);
}

TEST(AuditJudge, TheArbiterSidesWithNeither) {
  EXPECT_EQ(Judge(Case(kHonest, kZeros, 1, Of(Gradient(2), kCfgA))), Finding::kInconclusive);
}

TEST(AuditJudge, EvidenceNamesExpectedAndGot) {
  AuditCase c = Case(kZeros, kHonest, 1, kHonest);
  AuditEvidence e = MakeEvidence(7, 2, c, Finding::kAuditeeCheated);
  EXPECT_EQ(e.expected_hash, kHonest.hash);
  EXPECT_EQ(e.got_hash, kZeros.hash);
  EXPECT_DOUBLE_EQ(e.got_norm, 0);
  std::string text = EvidenceText(e);
  EXPECT_NE(text.find("job 7 attempt 2 step 40: rank 2 cheated"), std::string::npos) << text;
  EXPECT_NE(text.find("arbiter rank 1"), std::string::npos) << text;
  EXPECT_NE(text.find(kHonest.hash.substr(0, 12)), std::string::npos) << text;
  AuditEvidence lied = MakeEvidence(7, 2, Case(kHonest, kZeros, 1, kHonest), Finding::kAuditorLied);
  EXPECT_EQ(lied.expected_hash, kHonest.hash);
  EXPECT_EQ(lied.got_hash, kZeros.hash);
  EXPECT_NE(EvidenceText(lied).find("rank 0 accused rank 2 falsely"), std::string::npos);
}

wire::AuditRecord Record(wire::AuditRole role, int64_t step, int auditee, int auditor,
                         const Commitment& c, int arbiter = -1) {
  wire::AuditRecord r;
  r.step = step;
  r.role = role;
  r.auditee = auditee;
  r.auditor = auditor;
  r.arbiter = arbiter;
  r.rank = role == wire::AuditRole::kAuditee   ? auditee
           : role == wire::AuditRole::kAuditor ? auditor
                                               : arbiter;
  r.commitment = c;
  return r;
}

TEST(AuditBook, PairsTheAuditeeAndTheAuditor) {
  AuditBook book;
  auto first = book.Add(Record(wire::AuditRole::kAuditor, 5, 2, 0, kHonest), 1000);
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->has_value());
  EXPECT_EQ(book.pending(), 1u);
  auto second = book.Add(Record(wire::AuditRole::kAuditee, 5, 2, 0, kHonest), 1100);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->finding, Finding::kClean);
  EXPECT_EQ((*second)->c.step, 5);
  EXPECT_EQ(book.pending(), 0u);
  // A straggler of a decided case does not open a new one.
  auto late = book.Add(Record(wire::AuditRole::kAuditee, 5, 2, 0, kHonest), 1200);
  ASSERT_TRUE(late.ok());
  EXPECT_FALSE(late->has_value());
  EXPECT_EQ(book.pending(), 0u);
}

TEST(AuditBook, ADisputeWaitsForTheArbiter) {
  AuditBook book;
  ASSERT_TRUE(book.Add(Record(wire::AuditRole::kAuditee, 5, 2, 0, kZeros, 1), 0).ok());
  auto two = book.Add(Record(wire::AuditRole::kAuditor, 5, 2, 0, kHonest, 1), 0);
  ASSERT_TRUE(two.ok());
  EXPECT_FALSE(two->has_value());
  auto three = book.Add(Record(wire::AuditRole::kArbiter, 5, 2, 0, kHonest, 1), 0);
  ASSERT_TRUE(three.ok() && three->has_value());
  EXPECT_EQ((*three)->finding, Finding::kAuditeeCheated);
}

TEST(AuditBook, AnotherRanksRecordIsRefused) {
  AuditBook book;
  wire::AuditRecord r = Record(wire::AuditRole::kAuditee, 5, 2, 0, kHonest);
  r.rank = 3;  // claims to speak for rank 2
  EXPECT_EQ(book.Add(r, 0).status().code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(book.Add(Record(wire::AuditRole::kAuditee, 5, 2, 0, kZeros, 1), 0).ok());
  EXPECT_EQ(book.Add(Record(wire::AuditRole::kAuditor, 5, 2, 0, kHonest, 3), 0).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(AuditBook, ASecondStoryIsIgnored) {
  AuditBook book;
  ASSERT_TRUE(book.Add(Record(wire::AuditRole::kAuditee, 5, 2, 0, kZeros), 0).ok());
  ASSERT_TRUE(book.Add(Record(wire::AuditRole::kAuditee, 5, 2, 0, kHonest), 0).ok());
  auto d = book.Add(Record(wire::AuditRole::kAuditor, 5, 2, 0, kHonest), 0);
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((*d)->finding, Finding::kInconclusive);  // the first claim (zeros) stands
}

TEST(AuditBook, TimeoutNamesTheRankThatDidNotReport) {
  AuditBook book;
  ASSERT_TRUE(book.Add(Record(wire::AuditRole::kAuditee, 5, 2, 0, kHonest), 1000).ok());
  ASSERT_TRUE(book.Add(Record(wire::AuditRole::kAuditee, 6, 2, 0, kZeros, 1), 5000).ok());
  ASSERT_TRUE(book.Add(Record(wire::AuditRole::kAuditor, 6, 2, 0, kHonest, 1), 5000).ok());
  EXPECT_TRUE(book.Expire(2000, 10000).empty());
  auto out = book.Expire(12000, 10000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].missing, std::vector<int>({0}));
  EXPECT_EQ(out[0].message, "step 5, audit of rank 2 by rank 0: rank 0 timed out");
  out = book.Expire(20000, 10000);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].missing, std::vector<int>({1}));  // the arbiter
  EXPECT_EQ(book.pending(), 0u);
}

TEST(AuditBook, TheCapExpiresTheOldestFirst) {
  AuditBook book(/*max_pending=*/3);
  for (int step = 1; step <= 5; ++step) {
    ASSERT_TRUE(book.Add(Record(wire::AuditRole::kAuditee, step, 1, 0, kHonest), step).ok());
  }
  EXPECT_EQ(book.pending(), 3u);
  auto out = book.Expire(6, 1000);  // nothing is old yet: only the pushed-out ones
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].c.step, 1);
  EXPECT_EQ(out[1].c.step, 2);
  EXPECT_EQ(out[0].missing, std::vector<int>({0}));
}

// An evading auditee commits to zeros, and once it knows it is audited by another configuration
// claims the honest gradient's sketch. Its own sketch is ignored: the claim judged is the one it
// revealed, which either hashes to the zeros' commitment or to nothing it committed to.
}  // namespace
}  // namespace shoal::audit

namespace shoal::audit {
namespace {

// Across configurations a gap just past the tolerance (a rounding tail: a ReLU flipped by
// rounding) accuses nobody; a gross one does (docs/audits.md "Disputes").
TEST(AuditJudge, AcrossConfigurationsOnlyAGrossGapAccuses) {
  const Commitment claim = Of(Gradient(), kCfgA);  // the auditee, honest
  // The auditor, on another configuration, lands 1.5 tolerances away; the arbiter shares the
  // auditee's configuration and agrees with it to the bit.
  const Commitment near = Of(Gradient(1.0f + 1.5f * static_cast<float>(kFp32Tolerance)), kCfgB);
  EXPECT_EQ(Judge(Case(claim, near, 3, claim)), Finding::kInconclusive);
  // Ten tolerances away is no rounding: the auditor is caught.
  const Commitment far = Of(Gradient(1.0f + 10.0f * static_cast<float>(kFp32Tolerance)), kCfgB);
  EXPECT_EQ(Judge(Case(claim, far, 3, claim)), Finding::kAuditorLied);
}

// An evading auditee commits to zeros, and once it knows it is audited by another configuration
// claims the honest gradient's sketch. Its own sketch is ignored: the claim judged is the one it
// revealed, which either hashes to the zeros' commitment or to nothing it committed to.
TEST(AuditJudge, AcrossConfigurationsTheRevealedClaimIsJudged) {
  Commitment self = kHonest;  // the honest sketch...
  self.hash = kZeros.hash;    // ...under the zeros' commitment
  const Commitment recomputed = Of(Gradient(), kCfgB);
  const Commitment arbitrated = Of(Gradient(), kCfgB);
  auto with = [&](std::optional<Commitment> by_auditor, std::optional<Commitment> by_arbiter) {
    AuditCase c = Case(self, recomputed, 3, arbitrated);
    c.revealed_by_auditor = std::move(by_auditor);
    c.revealed_by_arbiter = std::move(by_arbiter);
    return Judge(c);
  };
  // Without a reveal the self-reported sketch would pass: what the reveal is there to close.
  EXPECT_EQ(Judge(Case(self, recomputed)), Finding::kClean);
  // It reveals the zeros it committed to: their sketch is far from the recomputation.
  EXPECT_EQ(with(kZeros, kZeros), Finding::kAuditeeCheated);
  // It reveals the honest bytes, which do not hash to its commitment: both judges see that.
  EXPECT_EQ(with(kHonest, kHonest), Finding::kAuditeeCheated);
  // Judges that saw different broadcasts decide nothing.
  EXPECT_EQ(with(kZeros, kHonest), Finding::kInconclusive);
  // An honest auditee's reveal is clean without an arbiter.
  AuditCase honest = Case(kHonest, recomputed);
  honest.revealed_by_auditor = kHonest;
  EXPECT_EQ(Judge(honest), Finding::kClean);
  // An auditor that says the honest auditee's bytes were off its commitment, where the arbiter
  // saw the committed bytes, lied.
  AuditCase framed = Case(kHonest, recomputed, 3, arbitrated);
  framed.revealed_by_auditor = kZeros;
  framed.revealed_by_arbiter = kHonest;
  EXPECT_EQ(Judge(framed), Finding::kAuditorLied);
  // The evidence shows the revealed claim, and says when it was off the commitment.
  AuditCase off = Case(self, recomputed, 3, arbitrated);
  off.revealed_by_auditor = off.revealed_by_arbiter = kHonest;
  const AuditEvidence e = MakeEvidence(1, 1, off, Finding::kAuditeeCheated);
  EXPECT_NE(e.detail.find("not to the commitment"), std::string::npos) << e.detail;
}

// The sum check's binding (docs/audits.md "The sum check"): a rank that sent zeros and claims
// their projections while committing to the honest gradient. Its hash matches every
// recomputation; its projections do not.
TEST(AuditJudge, ProjectionsThatAreNotOfTheCommittedBytesAreCaught) {
  auto with_projections = [](Commitment c, const std::vector<float>& of) {
    c.projections = SumProjections(of.data(), static_cast<int64_t>(of.size()), kSeed);
    return c;
  };
  const std::vector<float> zeros(512, 0.f);
  const Commitment claim = with_projections(kHonest, zeros);
  const Commitment recomputed = with_projections(Of(Gradient(), kCfgA), Gradient());
  EXPECT_EQ(Judge(Case(with_projections(kHonest, Gradient()), recomputed)), Finding::kClean);
  EXPECT_EQ(Judge(Case(claim, recomputed, 1, recomputed)), Finding::kAuditeeCheated);
  // Across configurations the revealed bytes are judged: the claimed projections must be theirs.
  AuditCase across = Case(claim, with_projections(Of(Gradient(), kCfgB), Gradient()), 3,
                          with_projections(Of(Gradient(), kCfgB), Gradient()));
  across.revealed_by_auditor = across.revealed_by_arbiter = with_projections(kHonest, Gradient());
  EXPECT_EQ(Judge(across), Finding::kAuditeeCheated);
  // A record without projections (older workers) is judged as before.
  EXPECT_EQ(Judge(Case(kHonest, recomputed)), Finding::kClean);
}

TEST(AuditBook, KeepsWhatEachJudgeSawRevealed) {
  Commitment self = kHonest;
  self.hash = kZeros.hash;
  for (const bool reveal : {false, true}) {
    AuditBook book;
    wire::AuditRecord audit = Record(wire::AuditRole::kAuditor, 5, 2, 0, Of(Gradient(), kCfgB));
    if (reveal) audit.revealed = kZeros;
    ASSERT_TRUE(book.Add(Record(wire::AuditRole::kAuditee, 5, 2, 0, self), 0).ok());
    auto decided = book.Add(audit, 0);
    ASSERT_TRUE(decided.ok() && decided->has_value());
    // With no third rank the revealed mismatch is inconclusive; without the reveal, clean.
    EXPECT_EQ((*decided)->finding, reveal ? Finding::kInconclusive : Finding::kClean);
  }
}

}  // namespace
}  // namespace shoal::audit

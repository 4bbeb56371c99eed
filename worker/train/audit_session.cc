#include "worker/train/audit_session.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include "kernels/cpu/reduce.h"

namespace shoal {
namespace {

constexpr int kHashBytes = 32;
constexpr int kConfigBytes = 64;
constexpr int kSketchDoubles = 1 + audit::kSketchBuckets;    // norm, buckets
// A commitment, no config: hash bytes, norm, sketch, sum-check projections.
constexpr int kResultDoubles = kHashBytes + kSketchDoubles + audit::kSumProjections;
// A rank's slot of the side band (floats): hash bytes, config bytes, gradient norm, 1 when it
// writes a checkpoint after this step (only rank 0's is read), and 1 when it was told to stop
// (every rank stops after this step). All but the norm are integers below 2^24, which floats
// hold exactly.
constexpr int kSideNorm = kHashBytes + kConfigBytes;
constexpr int kSideCheckpoint = kSideNorm + 1;
constexpr int kSideStop = kSideCheckpoint + 1;
constexpr int kSideFloats = kSideStop + 1;
// A rank's slot of the step's tail (doubles), the small all-gather after the gradient's: its
// draw ticket (audit::DrawTicket) and its sum-check claim (the first projection of its
// committed copy). Both wait for the gradient all-reduce to end, so no rank learns who is
// audited at a step before it has sent its gradient for it.
constexpr int kTailTicket = 0;
constexpr int kTailClaim = 1;
constexpr int kTailDoubles = 2;

int HexValue(char c) { return c >= '0' && c <= '9' ? c - '0' : c - 'a' + 10; }

// An exchanged value as an integer in [lo, hi], or `fallback` when it is not one: a peer may
// write anything into the exchange (NaN included), which must not become undefined behaviour.
int AsInt(double v, int lo, int hi, int fallback) {
  return std::isfinite(v) && v >= lo && v <= hi ? static_cast<int>(v) : fallback;
}

// A 64-hex-digit hash as 32 byte values; and back.
template <typename T>
void PutHash(const std::string& hex, T* out) {
  for (int i = 0; i < kHashBytes; ++i)
    out[i] = static_cast<T>(HexValue(hex[2 * i]) * 16 + HexValue(hex[2 * i + 1]));
}
template <typename T>
std::string GetHash(const T* in) {
  static const char* kDigits = "0123456789abcdef";
  std::string hex(2 * kHashBytes, '0');
  for (int i = 0; i < kHashBytes; ++i) {
    const int b = AsInt(in[i], 0, 255, 0);
    hex[2 * i] = kDigits[b >> 4];
    hex[2 * i + 1] = kDigits[b & 15];
  }
  return hex;
}

void PutResult(const audit::Commitment& c, double* out) {
  PutHash(c.hash, out);
  out[kHashBytes] = c.norm;
  std::copy(c.sketch.begin(), c.sketch.end(), out + kHashBytes + 1);
  // A recomputation always carries its projections; a colluder's copy of a claim may not (zeros).
  std::copy(c.projections.begin(), c.projections.end(), out + kHashBytes + kSketchDoubles);
}
audit::Commitment GetResult(const double* in, std::string config) {
  audit::Commitment c;
  c.hash = GetHash(in);
  c.norm = in[kHashBytes];
  c.sketch.assign(in + kHashBytes + 1, in + kHashBytes + kSketchDoubles);
  c.projections.assign(in + kHashBytes + kSketchDoubles, in + kResultDoubles);
  c.config = std::move(config);
  return c;
}

// Everything a judge computes of bytes it was shown (a reveal, or what a rank sent): hash, norm,
// sketch and sum-check projections.
audit::Commitment CommitShown(const std::vector<float>& bytes, const std::string& seed,
                              const std::string& config) {
  const int64_t n = static_cast<int64_t>(bytes.size());
  audit::Commitment c = audit::Commit(bytes.data(), n, seed, config);
  c.projections = audit::SumProjections(bytes.data(), n, seed);
  return c;
}

}  // namespace

Result<CheatMode> ParseCheatMode(const std::string& text) {
  CheatMode m;
  if (text.empty()) return m;
  const size_t colon = text.find(':');
  const std::string kind = text.substr(0, colon);
  const std::string arg = colon == std::string::npos ? "" : text.substr(colon + 1);
  auto number = [&](double lo, double hi) -> Status {
    const auto [end, ec] = std::from_chars(arg.data(), arg.data() + arg.size(), m.value);
    if (ec != std::errc() || end != arg.data() + arg.size() || !(m.value >= lo && m.value <= hi)) {
      return InvalidArgument("--cheat " + text + ": " + kind + " needs a number in [" +
                             std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
    return Status::Ok();
  };
  if (kind == "zero" && arg.empty()) {
    m.kind = CheatMode::kZero;
  } else if (kind == "stale" && arg.empty()) {
    m.kind = CheatMode::kStale;
  } else if (kind == "collude" && arg.empty()) {
    m.kind = CheatMode::kCollude;
  } else if (kind == "evade" && arg.empty()) {
    m.kind = CheatMode::kEvade;
  } else if (kind == "split" && arg.empty()) {
    m.kind = CheatMode::kSplit;
  } else if (kind == "split-sent" && arg.empty()) {
    m.kind = CheatMode::kSplitSent;
  } else if (kind == "misclaim" && arg.empty()) {
    m.kind = CheatMode::kMisclaim;
  } else if (kind == "forge" && arg.empty()) {
    m.kind = CheatMode::kForge;
  } else if (kind == "noise") {
    m.kind = CheatMode::kNoise;
    RETURN_IF_ERROR(number(0, 1e6));
  } else if (kind == "scale") {
    m.kind = CheatMode::kScale;
    RETURN_IF_ERROR(number(-1e6, 1e6));
  } else if (kind == "skip") {
    m.kind = CheatMode::kSkip;
    RETURN_IF_ERROR(number(0, 1));
  } else {
    return InvalidArgument(
        "--cheat " + text +
        ": expected zero, stale, noise:SIGMA, scale:X, skip:P, collude, evade, split, "
        "split-sent, misclaim or forge");
  }
  return m;
}

// One audit of the step: q's claim against a recomputation, and its arbitration.
struct AuditSession::Case {
  int auditee = 0;
  int auditor = 0;  // the rank that recomputed first (AssignAuditors', or the screen's choice)
  bool screened = false;
  std::optional<audit::Commitment> recomputed;
  audit::Verdict verdict = audit::Verdict::kMismatch;
  bool disputed = false;
  int arbiter = -1;
  std::optional<audit::Commitment> arbitrated;
  audit::Verdict arbiter_verdict = audit::Verdict::kMismatch;  // the arbiter's vs the claim
  std::optional<audit::Commitment> revealed;  // what the auditee revealed, when it had to
};

AuditSession::AuditSession(wire::AuditPlan plan, Collective& collective, std::string config,
                           CheatMode cheat, Reporter report, std::ostream& log)
    : plan_(std::move(plan)),
      coll_(collective),
      rank_(collective.rank()),
      world_(collective.size()),
      config_(std::move(config)),
      cheat_(cheat),
      report_(std::move(report)),
      log_(log),
      cheat_rng_(0x5eed + static_cast<uint64_t>(collective.rank())) {}

void AuditSession::Prepare(const StepInput& in, RowsOf rows_of, bool checkpoint_after,
                           bool stop_wanted) {
  input_ = in;
  input_.audit = nullptr;
  rows_of_ = std::move(rows_of);
  checkpoint_after_ = checkpoint_after;
  stop_wanted_ = stop_wanted;
}

void AuditSession::Cheat(float* local, int64_t n) {
  switch (cheat_.kind) {
    case CheatMode::kNone:
    case CheatMode::kSplit:  // Commit sends their zeros after committing
    case CheatMode::kSplitSent:
    case CheatMode::kMisclaim:  // honest until it claims (Verify)
    case CheatMode::kForge:     // honest in every step (the trainer forges its checkpoints)
      return;
    case CheatMode::kEvade:
      honest_.assign(local, local + n);
      [[fallthrough]];
    case CheatMode::kZero:
    case CheatMode::kCollude:
      std::fill(local, local + n, 0.f);
      return;
    case CheatMode::kStale:
      if (static_cast<int64_t>(previous_.size()) == n) {
        std::vector<float> now(local, local + n);
        std::copy(previous_.begin(), previous_.end(), local);
        previous_ = std::move(now);
      } else {
        previous_.assign(local, local + n);  // the first step has nothing older to resend
      }
      return;
    case CheatMode::kNoise: {
      std::normal_distribution<float> noise(0.f, static_cast<float>(cheat_.value));
      for (int64_t i = 0; i < n; ++i) local[i] += noise(cheat_rng_);
      return;
    }
    case CheatMode::kScale:
      for (int64_t i = 0; i < n; ++i) local[i] *= static_cast<float>(cheat_.value);
      return;
    case CheatMode::kSkip:
      if (std::uniform_real_distribution<double>(0, 1)(cheat_rng_) < cheat_.value) {
        std::fill(local, local + n, 0.f);
      }
      return;
  }
}

int64_t AuditSession::SideBandFloats() const { return static_cast<int64_t>(world_) * kSideFloats; }

Status AuditSession::Commit(int64_t step, float* local, int64_t n, float* side) {
  Cheat(local, n);
  // Every rank keeps a copy of the gradient it commits to: the sum check needs its projections
  // once the seed is known, after the all-reduce has overwritten `local`, and a reveal needs its
  // bytes. It costs a gradient's memory and a copy per step (bench/README.md "audits"); the
  // alternative, recomputing it on every step with an exchange, would cost every rank a forward
  // and backward pass there.
  n_ = n;
  local_.assign(local, local + n);
  // The split faults commit to the honest gradient and send zeros.
  if (cheat_.kind == CheatMode::kSplit || cheat_.kind == CheatMode::kSplitSent) {
    std::fill(local, local + n, 0.f);
  }
  hash_ = audit::GradientHash(local_.data(), n);
  // The norm, for the screen (as a float in the side band) and an audited rank's record. The
  // evade fault shows the honest one, so that only an audit can catch it.
  const double sq = cheat_.kind == CheatMode::kEvade ? cpu::SumOfSquares(honest_.data(), n)
                                                     : cpu::SumOfSquares(local_.data(), n);
  float* slot = side + static_cast<int64_t>(rank_) * kSideFloats;
  PutHash(hash_, slot);
  for (size_t i = 0; i < config_.size() && i < static_cast<size_t>(kConfigBytes); ++i) {
    slot[kHashBytes + i] = static_cast<unsigned char>(config_[i]);
  }
  norm_ = std::sqrt(sq);
  slot[kSideNorm] = static_cast<float>(norm_);
  slot[kSideCheckpoint] = checkpoint_after_ ? 1.f : 0.f;
  slot[kSideStop] = stop_wanted_ ? 1.f : 0.f;
  return Status::Ok();
}

Status AuditSession::Reduce(float* data, int64_t count) {
  if (!plan_.transparent) return coll_.AllReduceSum(data, count);
  // Summed in rank order from zero, identically on every rank; hashing every rank's gradient
  // costs world hashes per step, which only a job that a failed sum check stopped pays.
  const int64_t side_at = count - SideBandFloats();
  std::vector<float> mine(data, data + count), theirs(static_cast<size_t>(count));
  std::fill(data, data + count, 0.f);
  sent_off_.clear();
  for (int q = 0; q < world_; ++q) {
    float* buf = q == rank_ ? mine.data() : theirs.data();
    RETURN_IF_ERROR(coll_.Broadcast(buf, count * static_cast<int64_t>(sizeof(float)), q));
    if (audit::GradientHash(buf, n_) != GetHash(buf + side_at + q * kSideFloats)) {
      sent_off_[q].assign(buf, buf + n_);
    }
    for (int64_t i = 0; i < count; ++i) data[i] += buf[i];
  }
  return Status::Ok();
}

Result<audit::Commitment> AuditSession::Recompute(int q, const std::string& seed,
                                                  const std::string& config_of_q,
                                                  StepEngine& engine) {
  StepInput in = input_;
  rows_of_(q, &in);
  std::vector<float> g;
  RETURN_IF_ERROR(engine.LocalGradient(in, &g));
  ++recomputations_;
  const int64_t n = static_cast<int64_t>(g.size());
  audit::Commitment c;
  if (config_of_q != config_) {
    c = audit::Commit(g.data(), n, seed, config_);
  } else {
    // Within one configuration only the hash (and projections) are compared: no sketch pass.
    c.hash = audit::GradientHash(g.data(), n);
    c.norm = std::sqrt(cpu::SumOfSquares(g.data(), n));
    c.sketch.assign(audit::kSketchBuckets, 0.0);
    c.config = config_;
  }
  c.projections = audit::SumProjections(g.data(), n, seed);
  return c;
}

const std::vector<float>& AuditSession::Committed() const {
  // The evade fault, knowing now that it is audited, shows the honest gradient.
  return cheat_.kind == CheatMode::kEvade ? honest_ : local_;
}

std::string AuditSession::SumCheck(const float* reduced, const std::string& seed,
                                   const std::vector<audit::Commitment>& claims,
                                   const std::vector<double>& norms) const {
  const std::vector<double> got = audit::SumProjections(reduced, n_, seed);
  std::vector<double> sums(got.size(), 0.0);
  for (const audit::Commitment& c : claims) {
    for (size_t k = 0; k < got.size(); ++k) {
      sums[k] += c.projections.size() == got.size() ? c.projections[k] : NAN;
    }
  }
  return SumMismatch(got, sums, audit::SumTolerance(norms));
}

std::string AuditSession::SumMismatch(const std::vector<double>& got,
                                      const std::vector<double>& sums, double tolerance) {
  for (size_t k = 0; k < got.size(); ++k) {
    // (NaN, from a rank's malformed claim, fails too.)
    if (!(std::fabs(sums[k] - got[k]) <= tolerance)) {
      std::ostringstream why;
      why << "the all-reduced gradient is not the sum of the gradients the ranks committed to "
             "(projection "
          << k << ": " << got[k] << ", the ranks' claims add up to " << sums[k] << ", tolerance "
          << tolerance << "): a rank sent another gradient than its commitment";
      return why.str();
    }
  }
  return "";
}

Status AuditSession::SumOwnSlots(std::vector<double>* slots) {
  const size_t n = slots->size();
  std::vector<double> all(n * static_cast<size_t>(world_));
  RETURN_IF_ERROR(
      coll_.AllGather(slots->data(), all.data(), static_cast<int64_t>(n * sizeof(double))));
  std::fill(slots->begin(), slots->end(), 0.0);
  for (int r = 0; r < world_; ++r) {
    for (size_t i = 0; i < n; ++i) (*slots)[i] += all[r * n + i];
  }
  return Status::Ok();
}

Status AuditSession::SumFailed(int64_t step, const std::string& error) {
  log_ << "audit: step " << step << ": " << error << std::endl;
  return Aborted(std::string(kAuditDisputeMessage) + " at step " + std::to_string(step) + ": " +
                 error);
}

std::vector<double> AuditSession::OwnProjections(const std::string& seed, int count) const {
  // (The split-sent fault claims the projections of the zeros it sent, misclaim those of zeros.)
  if (cheat_.kind == CheatMode::kSplitSent || cheat_.kind == CheatMode::kMisclaim) {
    return std::vector<double>(count == 1 ? 1 : audit::kSumProjections, 0.0);
  }
  return audit::SumProjections(local_.data(), n_, seed, true, count);
}

Result<audit::Commitment> AuditSession::Reveal(int q, const std::string& seed,
                                               const std::string& config) {
  std::vector<float> bytes(static_cast<size_t>(n_));
  if (q == rank_) {
    const std::vector<float>& shown = Committed();
    std::copy(shown.begin(), shown.end(), bytes.begin());
  }
  RETURN_IF_ERROR(
      coll_.Broadcast(bytes.data(), static_cast<int64_t>(bytes.size() * sizeof(float)), q));
  return CommitShown(bytes, seed, config);
}

Status AuditSession::Verify(int64_t step, const float* reduced, const float* side,
                            StepEngine& engine) {
  // 1. The side band: every hash (so the sketch seed is fixed), configuration and norm.
  std::vector<std::string> hashes(world_), configs(world_);
  std::vector<double> norms(world_);
  for (int r = 0; r < world_; ++r) {
    const float* slot = side + static_cast<int64_t>(r) * kSideFloats;
    hashes[r] = GetHash(slot);
    for (int i = 0; i < kConfigBytes; ++i) {
      const int c = AsInt(slot[kHashBytes + i], 0, 127, 0);
      if (c == 0) break;
      configs[r] += static_cast<char>(c);
    }
    norms[r] = slot[kSideNorm];
    if (slot[kSideStop] == 1.f) stop_step_ = step;  // any rank's word
  }
  if (side[kSideCheckpoint] == 1.f) checkpoint_step_ = step;  // rank 0's word
  const std::string seed = audit::SketchSeed(plan_.nonce, step, hashes);

  // The tail: every rank's ticket and sum-check claim, in one small all-gather now that every
  // gradient has been sent. A transparent plan claims nothing (it makes no sum check, below).
  double own_tail[kTailDoubles] = {};
  own_tail[kTailTicket] = audit::DrawTicket(plan_.key, step);
  if (!plan_.transparent) own_tail[kTailClaim] = OwnProjections(seed, 1)[0];
  std::vector<double> tail(static_cast<size_t>(world_) * kTailDoubles);
  RETURN_IF_ERROR(coll_.AllGather(own_tail, tail.data(), sizeof(own_tail)));
  std::vector<uint32_t> tickets(world_);
  double claimed = 0;
  for (int r = 0; r < world_; ++r) {
    // A malformed ticket draws nobody.
    tickets[r] = static_cast<uint32_t>(AsInt(tail[r * kTailDoubles + kTailTicket], 0,
                                             audit::kTicketRange - 1, audit::kTicketRange - 1));
    claimed += tail[r * kTailDoubles + kTailClaim];
  }
  // Every step's sum, on the first projection (the same bits as the full check's first, in a
  // third of its time), before the step's update. A step with an exchange checks all four below;
  // a dispute there names a culprit and decides the step first.
  const std::string quick_sum_error =
      plan_.transparent ? ""
                        : SumMismatch({audit::SumProjections(reduced, n_, seed, true, 1)[0]},
                                      {claimed}, audit::SumTolerance(norms));
  // Who is audited: each rank by the ticket of its drawer at this step.
  std::vector<int> audited;
  for (int q = 0; q < world_; ++q) {
    const int d = audit::Drawer(step, world_, plan_.auditors[q]);
    if (d >= 0 && audit::TicketDraws(tickets[d], plan_.rates[q])) audited.push_back(q);
  }
  const std::vector<int> outliers =
      audit::NormOutliers(norms, plan_.screen_z, plan_.screen_min_deviation);
  // Nothing more to check: every rank sees the same side band and tail (and, with a transparent
  // plan, the same broadcasts), so every rank skips the rest alike.
  if (audited.empty() && outliers.empty() && sent_off_.empty()) {
    return quick_sum_error.empty() ? Status::Ok() : SumFailed(step, quick_sum_error);
  }

  // 2. The step's audits, known to every rank from the side band: the drawn ranks, each with an
  // auditor the seed assigns (one audit per auditor where there are enough), then each outlier
  // not drawn already, audited by a rank the seed picks.
  std::vector<Case> cases;
  const std::vector<int> auditors = audit::AssignAuditors(seed, audited, plan_.auditors);
  for (size_t k = 0; k < audited.size(); ++k) {
    if (auditors[k] < 0) continue;
    Case c;
    c.auditee = audited[k];
    c.auditor = auditors[k];
    cases.push_back(std::move(c));
  }
  // A rank not audited yet, audited by a rank the seed picks.
  auto audit_at_once = [&](int q, bool screened) {
    if (std::any_of(cases.begin(), cases.end(), [&](const Case& c) { return c.auditee == q; })) {
      return;
    }
    const int by = audit::ChooseArbiter(seed, q, -1, plan_.accounts);
    if (by < 0) return;
    Case c;
    c.auditee = q;
    c.auditor = by;
    c.screened = screened;
    cases.push_back(std::move(c));
  };
  for (int q : outliers) audit_at_once(q, /*screened=*/true);
  // With a transparent plan, each rank seen sending another gradient than its commitment. What
  // it sent is its reveal (below).
  for (const auto& [q, bytes] : sent_off_) {
    log_ << "audit: step " << step << ": rank " << q
         << " sent a gradient that does not hash to its commitment" << std::endl;
    audit_at_once(q, /*screened=*/false);
  }

  // 3. One exchange: each audit's recomputation in a slot of its own (a rank may have two, e.g.
  // a draw and a screen), then every rank's sum-check projections of the gradient it committed
  // to. An auditee's own sketch is neither made nor exchanged: within one configuration the
  // hashes decide, across configurations every judge (and the scheduler, from the judges'
  // records) sketches the revealed bytes (below). Its record carries its hash, exact norm and
  // projections.
  const std::vector<double> projections = OwnProjections(seed, audit::kSumProjections);
  if (std::any_of(cases.begin(), cases.end(), [&](const Case& c) { return c.auditee == rank_; })) {
    own_.hash = hash_;
    own_.config = config_;
    own_.norm = norm_;
    own_.sketch.assign(audit::kSketchBuckets, 0.0);
    own_.projections = projections;
  }
  const size_t claims_at = cases.size() * kResultDoubles;
  std::vector<double> mine(claims_at + static_cast<size_t>(world_) * audit::kSumProjections, 0.0),
      all;
  std::copy(projections.begin(), projections.end(),
            mine.begin() + static_cast<ptrdiff_t>(claims_at) + rank_ * audit::kSumProjections);
  // A colluder auditing a rank of its own account copies that rank's hash; equal hashes judge
  // exact in any configuration, so its own sketch there does not matter.
  auto covers = [&](const Case& c) {
    return !c.screened && cheat_.kind == CheatMode::kCollude &&
           plan_.accounts[c.auditee] == plan_.accounts[rank_];
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    if (c.auditor != rank_) continue;
    audit::Commitment got;
    if (covers(c)) {
      got.hash = hashes[c.auditee];
      got.norm = norms[c.auditee];
      got.sketch.assign(audit::kSketchBuckets, 0.0);
      got.config = config_;
      // The partner's claimed projections: those of the zeros it committed to (colluders agree
      // on them out of band).
      got.projections.assign(audit::kSumProjections, 0.0);
    } else {
      ASSIGN_OR_RETURN(got, Recompute(c.auditee, seed, configs[c.auditee], engine));
    }
    PutResult(got, mine.data() + k * kResultDoubles);
  }
  all = mine;
  RETURN_IF_ERROR(SumOwnSlots(&all));
  // Each rank's claim: its hash and (float) norm as the side band gave them, its projections as
  // the exchange did.
  std::vector<audit::Commitment> claims(world_);
  for (int r = 0; r < world_; ++r) {
    claims[r].hash = hashes[r];
    claims[r].config = configs[r];
    claims[r].norm = norms[r];
    claims[r].sketch.assign(audit::kSketchBuckets, 0.0);
    const auto at = all.begin() + static_cast<ptrdiff_t>(claims_at) + r * audit::kSumProjections;
    claims[r].projections.assign(at, at + audit::kSumProjections);
  }
  auto judge = [&](const audit::Commitment& claim, const audit::Commitment& got) {
    return audit::Compare(claim, got, audit::DefaultTolerance(claim.config, got.config)).verdict;
  };
  // Across configurations a rank's own sketch proves nothing: it was made after the rank learnt
  // it is audited, and could be the honest gradient's while the hash is of something else. So
  // a rank judged by another configuration reveals the bytes it committed to, and the claim
  // judged is their sketch; bytes that do not hash to the commitment, or whose projections are
  // not the ones the rank claimed, are no claim at all. (With a transparent plan, what a rank
  // sent off its commitment is its reveal, to every judge.)
  std::map<int, audit::Commitment> revealed;
  for (const auto& [q, bytes] : sent_off_) revealed[q] = CommitShown(bytes, seed, configs[q]);
  auto reveal_for = [&](int q, int judge_rank) -> Status {
    if (configs[judge_rank] == configs[q] || revealed.count(q)) return Status::Ok();
    ASSIGN_OR_RETURN(revealed[q], Reveal(q, seed, configs[q]));
    if (revealed[q].hash != hashes[q]) {
      log_ << "audit: step " << step << ": rank " << q
           << " revealed a gradient that does not hash to its commitment" << std::endl;
    }
    return Status::Ok();
  };
  auto claim_of = [&](int q) {
    auto it = revealed.find(q);
    if (it == revealed.end()) return claims[q];
    audit::Commitment c = it->second;
    if (c.hash != claims[q].hash || c.projections != claims[q].projections) {
      c.norm = NAN;  // malformed: never matches
    }
    c.hash = claims[q].hash;
    return c;
  };
  for (size_t k = 0; k < cases.size(); ++k) {
    Case& c = cases[k];
    c.recomputed = GetResult(all.data() + k * kResultDoubles, configs[c.auditor]);
    RETURN_IF_ERROR(reveal_for(c.auditee, c.auditor));
    // A colluder's record carries the partner's sketch, as its in-step one did not.
    if (c.auditor == rank_ && covers(c)) {
      c.recomputed = claims[c.auditee];
      c.recomputed->config = config_;
    }
    c.verdict = judge(claim_of(c.auditee), *c.recomputed);
    c.disputed = c.verdict == audit::Verdict::kMismatch;
  }

  // 4. Disputes arbitrated, in one more exchange. (The loop also recomputes any audit that has no
  // recomputation yet; since every audit is known from the side band, none is left here.)
  for (int round = 0; round < 2; ++round) {
    std::vector<int> work;  // case indexes, each a slot of the exchange
    for (size_t i = 0; i < cases.size(); ++i) {
      Case& c = cases[i];
      if (!c.recomputed) {
        work.push_back(static_cast<int>(i));
      } else if (c.disputed && c.arbiter < 0 && !c.arbitrated) {
        c.arbiter = audit::ChooseArbiter(seed, c.auditee, c.auditor, plan_.accounts);
        if (c.arbiter >= 0) work.push_back(static_cast<int>(i));
      }
    }
    if (work.empty()) break;
    std::vector<double> slots(work.size() * kResultDoubles, 0.0), summed;
    for (size_t w = 0; w < work.size(); ++w) {
      const Case& c = cases[work[w]];
      const int by = c.recomputed ? c.arbiter : c.auditor;
      if (by != rank_) continue;
      ASSIGN_OR_RETURN(audit::Commitment got,
                       Recompute(c.auditee, seed, configs[c.auditee], engine));
      PutResult(got, slots.data() + w * kResultDoubles);
    }
    summed = slots;
    RETURN_IF_ERROR(SumOwnSlots(&summed));
    for (size_t w = 0; w < work.size(); ++w) {
      Case& c = cases[work[w]];
      const double* slot = summed.data() + w * kResultDoubles;
      if (!c.recomputed) {
        c.recomputed = GetResult(slot, configs[c.auditor]);
        RETURN_IF_ERROR(reveal_for(c.auditee, c.auditor));
        c.verdict = judge(claim_of(c.auditee), *c.recomputed);
        c.disputed = c.verdict == audit::Verdict::kMismatch;
      } else {
        c.arbitrated = GetResult(slot, configs[c.arbiter]);
        RETURN_IF_ERROR(reveal_for(c.auditee, c.arbiter));
        c.arbiter_verdict = judge(claim_of(c.auditee), *c.arbitrated);
      }
    }
  }
  for (Case& c : cases) {
    if (auto it = revealed.find(c.auditee); it != revealed.end()) c.revealed = it->second;
  }
  // 5. The sum check. A disputed audit decides the step first (its records name a culprit); a
  // failed sum check alone names nobody, and the step's clean audits then prove nothing about
  // what their auditees sent, so they are not reported. A transparent reduction needs no sum
  // check: every rank saw every gradient sent, and Reduce matched each against its sender's
  // commitment (a mismatch is a case above, with a culprit). Summing claims there would only let
  // a rank that claims wrongly stop every transparent attempt without being named.
  const bool disputed =
      std::any_of(cases.begin(), cases.end(), [](const Case& c) { return c.disputed; });
  const std::string sum_error = disputed || plan_.transparent ? ""
                                : !quick_sum_error.empty()    ? quick_sum_error
                                                           : SumCheck(reduced, seed, claims, norms);
  if (!sum_error.empty()) return SumFailed(step, sum_error);
  ReportCases(step, cases);
  for (const Case& c : cases) {
    if (!c.disputed) continue;
    std::ostringstream why;
    why << kAuditDisputeMessage << " at step " << step << ": rank " << c.auditor
        << (c.screened ? " (norm screen)" : "") << " recomputed rank " << c.auditee
        << "'s gradient and it does not match its commitment";
    if (c.arbiter < 0) {
      why << "; no third rank to arbitrate";
    } else {
      why << "; arbiter rank " << c.arbiter << " finds the claim "
          << audit::ToString(c.arbiter_verdict);
    }
    return Aborted(why.str());
  }
  return Status::Ok();
}

void AuditSession::ReportCases(int64_t step, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    auto record = [&](wire::AuditRole role, const audit::Commitment& what, std::string verdict) {
      wire::AuditRecord r;
      r.step = step;
      r.role = role;
      r.rank = rank_;
      r.auditee = c.auditee;
      r.auditor = c.auditor;
      r.arbiter = c.arbiter;
      r.screened = c.screened;
      r.commitment = what;
      r.verdict = std::move(verdict);
      if (role != wire::AuditRole::kAuditee) r.revealed = c.revealed;
      report_(wire::ToJson(r));
    };
    if (rank_ == c.auditee) record(wire::AuditRole::kAuditee, own_, "");
    if (rank_ == c.auditor && c.recomputed) {
      record(wire::AuditRole::kAuditor, *c.recomputed, audit::ToString(c.verdict));
    }
    if (rank_ == c.arbiter && c.arbitrated) {
      record(wire::AuditRole::kArbiter, *c.arbitrated, audit::ToString(c.arbiter_verdict));
    }
  }
}

}  // namespace shoal

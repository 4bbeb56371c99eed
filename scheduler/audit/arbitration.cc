#include "scheduler/audit/arbitration.h"

#include <cstdio>

namespace shoal::audit {
namespace {

bool Agree(const Commitment& a, const Commitment& b) {
  return Compare(a, b, DefaultTolerance(a.config, b.config)).verdict != Verdict::kMismatch;
}

// A disagreement that may accuse: different bits within one configuration, or across
// configurations a gap of more than kGrossFactor tolerances (docs/audits.md "Disputes").
bool ClearlyDisagree(const Commitment& a, const Commitment& b) {
  // (Equal hashes with different projections: the claimed projections are not of those bytes.)
  if (a.config == b.config) return Compare(a, b, 0).verdict == Verdict::kMismatch;
  return Compare(a, b, kGrossFactor * DefaultTolerance(a.config, b.config)).verdict ==
         Verdict::kMismatch;
}

// The claim as a judge saw it revealed: the revealed bytes' norm and sketch under the claim's
// hash and configuration, or nullopt when the bytes do not hash to the commitment or their
// sum-check projections are not the ones the auditee claimed.
std::optional<Commitment> AsRevealed(const Commitment& claim, const Commitment& revealed) {
  if (revealed.hash != claim.hash) return std::nullopt;
  if (!claim.projections.empty() && !revealed.projections.empty() &&
      claim.projections != revealed.projections) {
    return std::nullopt;
  }
  Commitment c = revealed;
  c.config = claim.config;
  return c;
}

std::string Short(const std::string& hash) { return hash.substr(0, 12); }

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

}  // namespace

const char* ToString(Finding f) {
  switch (f) {
    case Finding::kClean:
      return "clean";
    case Finding::kPending:
      return "pending";
    case Finding::kAuditeeCheated:
      return "auditee cheated";
    case Finding::kAuditorLied:
      return "auditor lied";
    case Finding::kInconclusive:
      return "inconclusive";
  }
  return "unknown";
}

Finding Judge(const AuditCase& c) {
  if (!c.claim || !c.recomputed) return Finding::kPending;
  // What the auditor judged: the claim as revealed to it (nullopt: bytes off the commitment).
  std::optional<Commitment> claim = *c.claim;
  if (c.revealed_by_auditor) claim = AsRevealed(*c.claim, *c.revealed_by_auditor);
  if (claim && Agree(*claim, *c.recomputed)) return Finding::kClean;
  if (c.arbiter < 0) return Finding::kInconclusive;  // two ranks: nobody can break the tie
  if (!c.arbitrated) return Finding::kPending;
  const bool auditor_saw_unbound = !claim.has_value();
  if (c.revealed_by_arbiter) {
    claim = AsRevealed(*c.claim, *c.revealed_by_arbiter);
    if (!claim) {
      // The arbiter saw bytes off the commitment too: the auditee revealed something else than
      // it committed to. If the auditor did not, they saw different broadcasts: no verdict.
      return auditor_saw_unbound ? Finding::kAuditeeCheated : Finding::kInconclusive;
    }
  } else if (auditor_saw_unbound) {
    claim = *c.claim;  // the arbiter judged the committed hash itself
  }
  const bool with_auditor = Agree(*c.recomputed, *c.arbitrated);
  const bool with_auditee = Agree(*claim, *c.arbitrated);
  if (with_auditor && ClearlyDisagree(*claim, *c.arbitrated)) return Finding::kAuditeeCheated;
  if (with_auditee && (auditor_saw_unbound || ClearlyDisagree(*c.recomputed, *c.arbitrated))) {
    return Finding::kAuditorLied;
  }
  return Finding::kInconclusive;
}

AuditEvidence MakeEvidence(int64_t job, int attempt, const AuditCase& c, Finding finding) {
  AuditEvidence e;
  e.job = job;
  e.attempt = attempt;
  e.step = c.step;
  e.auditee = c.auditee;
  e.auditor = c.auditor;
  e.arbiter = c.arbiter;
  e.finding = finding;
  if (!c.claim || !c.recomputed) return e;
  // The claim is what was revealed where the auditee had to reveal (the arbiter's view first).
  Commitment claim = *c.claim;
  const auto& revealed = c.revealed_by_arbiter ? c.revealed_by_arbiter : c.revealed_by_auditor;
  if (revealed) {
    claim = *revealed;
    claim.config = c.claim->config;
  }
  const bool auditor_wrong = finding == Finding::kAuditorLied;
  const Commitment& expected = auditor_wrong ? claim : *c.recomputed;
  const Commitment& got = auditor_wrong ? *c.recomputed : claim;
  e.expected_hash = expected.hash;
  e.got_hash = got.hash;
  e.expected_norm = expected.norm;
  e.got_norm = got.norm;
  e.detail = Compare(expected, got, DefaultTolerance(expected.config, got.config)).detail;
  if (revealed && revealed->hash != c.claim->hash) {
    e.detail = "the revealed gradient hashes to " + Short(revealed->hash) +
               ", not to the commitment " + Short(c.claim->hash);
  }
  return e;
}

std::string EvidenceText(const AuditEvidence& e) {
  std::string who;
  switch (e.finding) {
    case Finding::kAuditeeCheated:
      who = "rank " + std::to_string(e.auditee) + " cheated";
      break;
    case Finding::kAuditorLied:
      who = "rank " + std::to_string(e.auditor) + " accused rank " + std::to_string(e.auditee) +
            " falsely";
      break;
    default:
      who = "audit of rank " + std::to_string(e.auditee) + " " + ToString(e.finding);
  }
  std::string s = "job " + std::to_string(e.job) + " attempt " + std::to_string(e.attempt) +
                  " step " + std::to_string(e.step) + ": " + who + " (audited by rank " +
                  std::to_string(e.auditor);
  if (e.arbiter >= 0) s += ", arbiter rank " + std::to_string(e.arbiter);
  s += "): expected hash " + Short(e.expected_hash) + " norm " + Number(e.expected_norm) +
       ", got hash " + Short(e.got_hash) + " norm " + Number(e.got_norm);
  if (!e.detail.empty()) s += ": " + e.detail;
  return s;
}

Result<std::optional<AuditBook::Decided>> AuditBook::Add(const wire::AuditRecord& record,
                                                         int64_t now_ms) {
  const int expected_rank = record.role == wire::AuditRole::kAuditee   ? record.auditee
                            : record.role == wire::AuditRole::kAuditor ? record.auditor
                                                                       : record.arbiter;
  if (record.rank != expected_rank || record.auditee == record.auditor ||
      (record.role == wire::AuditRole::kArbiter && record.arbiter < 0)) {
    return InvalidArgument(std::string("audit record of step ") + std::to_string(record.step) +
                           ": rank " + std::to_string(record.rank) + " cannot report as " +
                           wire::ToString(record.role) + " of the audit of rank " +
                           std::to_string(record.auditee) + " by rank " +
                           std::to_string(record.auditor));
  }
  const Key key{record.step, record.auditee, record.auditor};
  if (decided_.count(key)) return std::optional<Decided>();
  auto it = cases_.find(key);
  if (it == cases_.end()) {
    if (max_pending_ > 0 && cases_.size() >= max_pending_) {
      auto oldest = by_age_.begin();
      auto victim = cases_.find(oldest->second);
      pushed_out_.push_back(TimeOut(victim->second.c));
      cases_.erase(victim);
      by_age_.erase(oldest);
    }
    Pending p;
    p.c.step = record.step;
    p.c.auditee = record.auditee;
    p.c.auditor = record.auditor;
    p.first_ms = now_ms;
    it = cases_.emplace(key, std::move(p)).first;
    by_age_.insert({now_ms, key});
  }
  AuditCase& c = it->second.c;
  if (record.arbiter >= 0) {
    if (c.arbiter >= 0 && c.arbiter != record.arbiter) {
      return InvalidArgument("audit record of step " + std::to_string(record.step) + " from rank " +
                             std::to_string(record.rank) + " names arbiter rank " +
                             std::to_string(record.arbiter) + ", the case's is rank " +
                             std::to_string(c.arbiter));
    }
    c.arbiter = record.arbiter;
  }
  std::optional<Commitment>& slot = record.role == wire::AuditRole::kAuditee   ? c.claim
                                    : record.role == wire::AuditRole::kAuditor ? c.recomputed
                                                                               : c.arbitrated;
  if (!slot) slot = record.commitment;
  if (record.revealed) {
    std::optional<Commitment>& seen =
        record.role == wire::AuditRole::kAuditor ? c.revealed_by_auditor : c.revealed_by_arbiter;
    if (!seen) seen = record.revealed;
  }
  const Finding f = Judge(c);
  if (f == Finding::kPending) return std::optional<Decided>();
  Decided d{std::move(c), f};
  by_age_.erase({it->second.first_ms, key});
  cases_.erase(it);
  RememberDecided(key);
  return std::optional<Decided>(std::move(d));
}

std::vector<AuditBook::TimedOut> AuditBook::Expire(int64_t now_ms, int64_t timeout_ms) {
  std::vector<TimedOut> out = std::move(pushed_out_);
  pushed_out_.clear();
  while (!by_age_.empty() && now_ms - by_age_.begin()->first > timeout_ms) {
    auto oldest = by_age_.begin();
    auto it = cases_.find(oldest->second);
    out.push_back(TimeOut(it->second.c));
    RememberDecided(oldest->second);
    cases_.erase(it);
    by_age_.erase(oldest);
  }
  return out;
}

AuditBook::TimedOut AuditBook::TimeOut(const AuditCase& c) {
  TimedOut t;
  t.c = c;
  if (!c.claim) t.missing.push_back(c.auditee);
  if (!c.recomputed) t.missing.push_back(c.auditor);
  if (c.arbiter >= 0 && !c.arbitrated) t.missing.push_back(c.arbiter);
  t.message = "step " + std::to_string(c.step) + ", audit of rank " + std::to_string(c.auditee) +
              " by rank " + std::to_string(c.auditor) + ":";
  for (size_t i = 0; i < t.missing.size(); ++i) {
    t.message += (i == 0 ? " rank " : ", rank ") + std::to_string(t.missing[i]);
  }
  t.message += " timed out";
  return t;
}

void AuditBook::RememberDecided(const Key& key) {
  if (!decided_.insert(key).second) return;
  decided_order_.push_back(key);
  const size_t cap = max_pending_ > 0 ? max_pending_ : 10000;
  while (decided_order_.size() > cap) {
    decided_.erase(decided_order_.front());
    decided_order_.pop_front();
  }
}

}  // namespace shoal::audit

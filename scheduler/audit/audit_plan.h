// An attempt's audit plan (docs/audits.md "Audits", "Adaptive trust"): who audits whom, how
// often, and with which secret keys. The scheduler builds it when an attempt starts, hands each
// rank its part in its assignment and keeps every key, so that it can replay any rank's tickets
// (audit::DrawTicket) when it judges what the ranks report.
// BuildAuditPlan is pure given its random source; SecureRandomHex draws from OpenSSL.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/wire/audit_report.h"

namespace shoal::audit {

// One rank of the attempt, in rank order.
struct PlanRank {
  std::string worker_id;
  std::string account;
  double rate = 0;  // the worker's audit rate (trust.h): the chance the rank is audited per step
};

// Returns `bytes` random bytes as 2 × bytes lowercase hex digits.
using RandomHex = std::function<std::string(int bytes)>;

inline constexpr int kNonceBytes = 16;
inline constexpr int kKeyBytes = 32;

struct AttemptAuditPlan {
  std::string nonce;                   // hex, kNonceBytes
  std::vector<wire::AuditPlan> ranks;  // ranks[r]: rank r's part (its key is only its own)
};

// The ranks that may audit rank q: ranks of other accounts than q's on other workers than q's;
// when there are none, ranks of q's account on other workers; else none (q is not audited).
// Never q itself nor a rank on q's worker (it would vouch for itself).
std::vector<int> AuditorsOf(const std::vector<PlanRank>& ranks, int q);

// The plan for every rank: a fresh nonce, a distinct kKeyBytes key per rank (its tickets,
// audit::DrawTicket), and in every rank's part the same rates[q] = rate_q, the chance that q is
// audited at a step, and auditors[q] = AuditorsOf(q), who may draw for it and recompute it.
// InvalidArgument for a rate outside [0, 1], a bad screen_z or screen_min_deviation; Internal when
// `random_hex` gives malformed output or keeps repeating a key.
Result<AttemptAuditPlan> BuildAuditPlan(const std::vector<PlanRank>& ranks, double screen_z,
                                        double screen_min_deviation, const RandomHex& random_hex);

// Production's random source: OpenSSL's RAND_bytes (aborts if the OS has no entropy, since no
// key can be made secure then).
std::string SecureRandomHex(int bytes);

}  // namespace shoal::audit

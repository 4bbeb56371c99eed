// The wire forms of audits (docs/audits.md): the audit plan a rank gets in its assignment, and
// the audit records a rank reports as "@shoal {"type":"audit",...}" lines, which its worker
// forwards to the scheduler unchanged.
// Value types; the functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/audit/commitment.h"
#include "common/status.h"

namespace shoal::wire {

// One rank's part of an attempt's audit plan ("audit" in its Assignment; absent: no audits).
struct AuditPlan {
  std::string nonce;                  // the attempt's, hex: part of every step's sketch seed
  std::string key;                    // this rank's secret key, hex (audit::DrawTicket)
  std::vector<double> rates;          // rates[q]: the chance rank q is audited at a step
  std::vector<std::vector<int>> auditors;  // auditors[q]: the ranks that may audit rank q
  std::vector<std::string> accounts;       // accounts[q]: rank q's worker's account
  double screen_z = 3.5;              // robust z-score above which a norm is audited at once
  // ...when also this fraction of the median norm off it (audit::NormOutliers)
  double screen_min_deviation = audit::kScreenMinDeviation;
  // Every rank's gradient is broadcast and summed in rank order instead of all-reduced, so that
  // every rank sees what each sent and checks it against its commitment (docs/audits.md "The sum
  // check": the scheduler sets it after an attempt stopped by a failed sum check). World times
  // the traffic of an all-reduce.
  bool transparent = false;
  bool operator==(const AuditPlan&) const = default;
};

nlohmann::json ToJson(const AuditPlan& plan);
// InvalidArgument unless nonce and key are non-empty hex strings, rates, auditors and accounts
// arrays of the same length with every rate in [0, 1] and auditors[q] distinct ranks other than
// q, screen_z (when present) a positive number, screenMinDeviation (when present) a number >= 0
// and transparent (when present) a boolean.
Result<AuditPlan> AuditPlanFromJson(const nlohmann::json& j);

nlohmann::json ToJson(const audit::Commitment& c);
// InvalidArgument unless hash is 64 hex digits, norm a finite number >= 0, sketch an array of
// kSketchBuckets finite numbers and config a string.
Result<audit::Commitment> CommitmentFromJson(const nlohmann::json& j);

// What one rank reports about one audit of one step. The auditee reports its own commitment; the
// auditor and the arbiter their recomputation of the auditee's gradient. The scheduler pairs the
// records of (attempt, step, auditee) and judges them itself.
enum class AuditRole { kAuditee, kAuditor, kArbiter };
const char* ToString(AuditRole role);

struct AuditRecord {
  int64_t step = 0;
  AuditRole role = AuditRole::kAuditee;
  int rank = 0;  // the reporting rank
  int auditee = 0;
  int auditor = 0;
  int arbiter = -1;       // -1 unless the audit was disputed and an arbiter chosen
  bool screened = false;  // triggered by the norm screen rather than the draw
  audit::Commitment commitment;
  // How the reporting rank judged the claim in the step (audit::ToString(Verdict)); "" for the
  // auditee's own record.
  std::string verdict;
  // An auditor's or arbiter's view of the auditee's revealed gradient, when its configuration
  // differs from the auditee's: the hash of the bytes the auditee broadcast and their norm and
  // sketch (docs/audits.md "Reveals"). Across configurations this, not the auditee's own sketch,
  // is the claim judged.
  std::optional<audit::Commitment> revealed;
  bool operator==(const AuditRecord&) const = default;
};

nlohmann::json ToJson(const AuditRecord& r);  // with "type": "audit"
// InvalidArgument "malformed audit record: ..." for a missing or mistyped field.
Result<AuditRecord> AuditRecordFromJson(const nlohmann::json& j);

// What every rank of an audited attempt reports after each step whose state rank 0 may write
// to a checkpoint: the digest of that state (audit::StateDigest; docs/audits.md "Checkpoints").
// Forwarded like an audit record; the scheduler tells them apart by "type".
struct Attestation {
  int64_t step = 0;
  int rank = 0;
  std::string digest;  // 64 hex digits
  bool operator==(const Attestation&) const = default;
};

// Whether a reported audit event is an attestation rather than an audit record.
bool IsAttestation(const nlohmann::json& j);
nlohmann::json ToJson(const Attestation& a);  // with "type": "attest"
// InvalidArgument "malformed attestation: ..." unless step and rank are integers >= 0 and digest
// 64 hex digits.
Result<Attestation> AttestationFromJson(const nlohmann::json& j);

}  // namespace shoal::wire

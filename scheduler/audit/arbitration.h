// Judging what ranks report about audits (docs/audits.md "Disputes"): the scheduler pairs the
// records of one audit (the auditee's own commitment, the auditor's recomputation and, in a
// dispute, the arbiter's) and applies the protocol's rule itself, from what each rank reported
// through its own worker, never from what one rank says about another.
// Pure: no I/O, no clock (callers pass the time). AuditBook is not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "common/audit/commitment.h"
#include "common/status.h"
#include "common/wire/audit_report.h"

namespace shoal::audit {

// One audit of rank `auditee` by rank `auditor` at `step`.
struct AuditCase {
  int64_t step = 0;
  int auditee = 0, auditor = 0;
  int arbiter = -1;                      // -1: no dispute (yet), or no third rank to arbitrate
  std::optional<Commitment> claim;       // the auditee's own record
  std::optional<Commitment> recomputed;  // the auditor's
  std::optional<Commitment> arbitrated;  // the arbiter's
  // The auditee's revealed gradient as the auditor and the arbiter saw it (their records'
  // `revealed`), when a judge's configuration differs from the auditee's.
  std::optional<Commitment> revealed_by_auditor, revealed_by_arbiter;
};

enum class Finding {
  kClean,           // the recomputation matches the claim
  kPending,         // a record the decision needs is missing
  kAuditeeCheated,  // the arbiter agrees with the auditor, not the auditee
  kAuditorLied,     // the arbiter agrees with the auditee, not the auditor
  kInconclusive,    // no arbiter, or it agrees with both or neither
};
const char* ToString(Finding f);

// Claim vs recomputation with audit::Compare under audit::DefaultTolerance of their configs:
// kExact or kWithinTolerance is kClean. A mismatch needs the arbiter's record (kPending until it
// is in; kInconclusive when arbiter is -1), which then sides with one party or neither. Siding
// against a party needs a clear disagreement with it: different bits within one configuration,
// or across configurations more than kGrossFactor tolerances (a rounding tail is inconclusive).
// Where the auditee revealed its gradient, the claim judged is the revealed one (its own sketch
// was made after it knew it was audited): as the auditor saw it, then as the arbiter saw it.
// Revealed bytes that do not hash to the commitment are no claim; the auditee cheated when both
// judges saw that, and an auditor that says so while the arbiter saw the committed bytes lied.
Finding Judge(const AuditCase& c);

// What people are shown of a decided dispute (a quarantine's evidence, the job's timeline):
// whose commitment was expected and what was got instead.
struct AuditEvidence {
  int64_t job = 0;
  int attempt = 0;
  int64_t step = 0;
  int auditee = 0, auditor = 0, arbiter = -1;
  Finding finding = Finding::kInconclusive;
  std::string expected_hash, got_hash;
  double expected_norm = 0, got_norm = 0;
  std::string detail;  // the Comparison's detail of got vs expected
};
// For kAuditeeCheated the expected commitment is the auditor's (which the arbiter confirmed) and
// the got one the auditee's claim; for kAuditorLied the other way round; otherwise the claim is
// expected and the recomputation got. Needs claim and recomputed.
AuditEvidence MakeEvidence(int64_t job, int attempt, const AuditCase& c, Finding finding);
// One line, e.g. "job 7 attempt 1 step 40: rank 2 cheated (audited by rank 0, arbiter rank 1):
// expected hash 1a2b… norm 0.0123, got hash 0000… norm 0: <detail>".
std::string EvidenceText(const AuditEvidence& e);

// Pairs the audit records of one attempt as they arrive, in memory and bounded. Cases are keyed
// by (step, auditee, auditor): several ranks may audit one rank at a step, each its own case.
class AuditBook {
 public:
  struct Decided {
    AuditCase c;
    Finding finding = Finding::kClean;
  };
  struct TimedOut {
    AuditCase c;
    std::vector<int> missing;  // the ranks whose record never came
    std::string message;       // "step 40, audit of rank 2 by rank 0: rank 0 timed out"
  };

  explicit AuditBook(size_t max_pending = 10000) : max_pending_(max_pending) {}

  // Files one record. Returns the decision when the case becomes decidable (the case is then
  // forgotten), nullopt while it is pending. InvalidArgument for a record whose rank does not
  // play its role (an auditee record from another rank...), or that names another arbiter than
  // the case's; a second record of a role already in is ignored (a rank cannot change its story),
  // as are stragglers of recently decided cases. When max_pending cases are pending, the oldest
  // is moved out and reported by the next Expire as timed out.
  Result<std::optional<Decided>> Add(const wire::AuditRecord& record, int64_t now_ms);

  // The cases pending for longer than timeout_ms (and those pushed out by the cap), removed,
  // each naming the ranks that did not report: a late or malformed report times its rank out,
  // it never blocks the book.
  std::vector<TimedOut> Expire(int64_t now_ms, int64_t timeout_ms);

  size_t pending() const { return cases_.size(); }

 private:
  using Key = std::tuple<int64_t, int, int>;  // step, auditee, auditor
  struct Pending {
    AuditCase c;
    int64_t first_ms = 0;
  };
  static TimedOut TimeOut(const AuditCase& c);
  void RememberDecided(const Key& key);

  size_t max_pending_;
  std::map<Key, Pending> cases_;
  std::set<std::pair<int64_t, Key>> by_age_;  // (first_ms, key) of every pending case
  std::vector<TimedOut> pushed_out_;
  // Recently decided keys, oldest first, so that a straggler does not open a case that can only
  // time out. Bounded like the pending cases.
  std::set<Key> decided_;
  std::deque<Key> decided_order_;
};

}  // namespace shoal::audit

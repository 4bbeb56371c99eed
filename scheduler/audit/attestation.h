// Checkpoint attestations (docs/audits.md "Checkpoints"): rank 0 alone writes an attempt's
// checkpoints, so a cheating rank 0 could upload other weights than the ones every rank trained,
// and a retry would resume from them. In an audited attempt every rank therefore attests the
// digest of the state it holds (audit::StateDigest) after each step rank 0 checkpoints, and the
// scheduler compares the attestations of ranks of other accounts with the digest of the file.
// Pure, thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace shoal::audit {

// What the scheduler knows about one checkpoint step of one attempt.
struct CheckpointAttestations {
  std::string file_digest;             // of the file rank 0 uploaded; "" until it is stored
  std::map<int, std::string> by_rank;  // each rank's attested digest
  bool forged = false;                 // judged kForged (its writer was dealt with once)
  bool operator==(const CheckpointAttestations&) const = default;
};

enum class CheckpointTrust {
  kTrusted,     // ranks of other accounts vouch for the file (or the attempt has no other account)
  kUnattested,  // not (yet) enough attestations to say, or word against word: not resumed from
  kForged,      // ranks of two or more other accounts agree on a state the file does not hold
};
const char* ToString(CheckpointTrust trust);

// The rule, with `accounts[r]` rank r's worker's account and rank 0 the writer. Only ranks of an
// account other than rank 0's count (rank 0's own account could cover for it), and:
//  - none exists (one contributor ran every rank): kTrusted, as audits are then of no use either;
//  - at least one of them attests the file's digest, and more of them attest it than attest
//    anything else: kTrusted;
//  - none attests the file's digest, and ranks of at least two different accounts attest one
//    same other digest: kForged. One account alone cannot get a writer quarantined;
//  - otherwise kUnattested: the file is not resumed from or published, and nobody is blamed.
CheckpointTrust JudgeCheckpoint(const CheckpointAttestations& c,
                                const std::vector<std::string>& accounts);

// The evidence of a kForged checkpoint, for the writer's quarantine and the job's events:
// "job 7 attempt 1: the checkpoint rank 0 wrote at step 40 holds state 3fa2..., while ranks 1
// (account b), 2 (account c) attest 9c1e...".
std::string ForgeryEvidence(int64_t job, int attempt, int64_t step, const CheckpointAttestations& c,
                            const std::vector<std::string>& accounts);

}  // namespace shoal::audit

#include "scheduler/audit/attestation.h"

#include <set>

namespace shoal::audit {
namespace {

// The ranks of accounts other than rank 0's, with their attested digests.
std::map<int, std::string> Others(const CheckpointAttestations& c,
                                  const std::vector<std::string>& accounts) {
  std::map<int, std::string> out;
  if (accounts.empty()) return out;
  for (const auto& [rank, digest] : c.by_rank) {
    if (rank > 0 && rank < static_cast<int>(accounts.size()) && accounts[rank] != accounts[0]) {
      out[rank] = digest;
    }
  }
  return out;
}

// The digest most ranks of other accounts attest (other than the file's), and their accounts.
std::pair<std::string, std::set<std::string>> StrongestOther(
    const CheckpointAttestations& c, const std::vector<std::string>& accounts) {
  std::map<std::string, std::set<std::string>> accounts_of;
  for (const auto& [rank, digest] : Others(c, accounts)) {
    if (digest != c.file_digest) accounts_of[digest].insert(accounts[rank]);
  }
  std::pair<std::string, std::set<std::string>> best;
  for (auto& [digest, accts] : accounts_of) {
    if (accts.size() > best.second.size()) best = {digest, accts};
  }
  return best;
}

}  // namespace

const char* ToString(CheckpointTrust trust) {
  switch (trust) {
    case CheckpointTrust::kTrusted:
      return "attested";
    case CheckpointTrust::kUnattested:
      return "unattested";
    case CheckpointTrust::kForged:
      return "forged";
  }
  return "unknown";
}

CheckpointTrust JudgeCheckpoint(const CheckpointAttestations& c,
                                const std::vector<std::string>& accounts) {
  bool other_account = false;
  for (size_t r = 1; r < accounts.size(); ++r) other_account |= accounts[r] != accounts[0];
  if (!other_account) return CheckpointTrust::kTrusted;
  if (c.file_digest.empty()) return CheckpointTrust::kUnattested;
  int match = 0, differ = 0;
  for (const auto& [rank, digest] : Others(c, accounts))
    ++(digest == c.file_digest ? match : differ);
  if (match >= 1 && match > differ) return CheckpointTrust::kTrusted;
  if (match == 0 && StrongestOther(c, accounts).second.size() >= 2) return CheckpointTrust::kForged;
  return CheckpointTrust::kUnattested;
}

std::string ForgeryEvidence(int64_t job, int attempt, int64_t step, const CheckpointAttestations& c,
                            const std::vector<std::string>& accounts) {
  const auto [digest, accts] = StrongestOther(c, accounts);
  std::string ranks;
  for (const auto& [rank, d] : Others(c, accounts)) {
    if (d != digest) continue;
    ranks +=
        (ranks.empty() ? "" : ", ") + std::to_string(rank) + " (account " + accounts[rank] + ")";
  }
  return "job " + std::to_string(job) + " attempt " + std::to_string(attempt) +
         ": the checkpoint rank 0 wrote at step " + std::to_string(step) + " holds state " +
         c.file_digest.substr(0, 16) + "..., while ranks " + ranks + " attest " +
         digest.substr(0, 16) + "...";
}

}  // namespace shoal::audit

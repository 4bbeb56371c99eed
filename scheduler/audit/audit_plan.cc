#include "scheduler/audit/audit_plan.h"

#include <openssl/rand.h>

#include <cmath>
#include <cstdlib>
#include <set>

namespace shoal::audit {
namespace {

bool IsHexOfSize(const std::string& s, int bytes) {
  if (s.size() != static_cast<size_t>(bytes) * 2) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

}  // namespace

std::vector<int> AuditorsOf(const std::vector<PlanRank>& ranks, int q) {
  std::vector<int> other_accounts, same_account;
  const PlanRank& auditee = ranks[q];
  for (int r = 0; r < static_cast<int>(ranks.size()); ++r) {
    if (r == q || ranks[r].worker_id == auditee.worker_id) continue;
    (ranks[r].account != auditee.account ? other_accounts : same_account).push_back(r);
  }
  // Collusion within one account is in the threat model: its own ranks audit q only when no
  // other account could.
  return other_accounts.empty() ? same_account : other_accounts;
}

Result<AttemptAuditPlan> BuildAuditPlan(const std::vector<PlanRank>& ranks, double screen_z,
                                        double screen_min_deviation, const RandomHex& random_hex) {
  if (!std::isfinite(screen_z) || screen_z <= 0) {
    return InvalidArgument("audit screen z must be above 0, got " + std::to_string(screen_z));
  }
  if (!std::isfinite(screen_min_deviation) || screen_min_deviation < 0) {
    return InvalidArgument("audit screen deviation must be >= 0, got " +
                           std::to_string(screen_min_deviation));
  }
  const int n = static_cast<int>(ranks.size());
  for (int q = 0; q < n; ++q) {
    if (!(ranks[q].rate >= 0 && ranks[q].rate <= 1)) {  // also refuses NaN
      return InvalidArgument("rank " + std::to_string(q) + "'s audit rate must be in [0, 1], got " +
                             std::to_string(ranks[q].rate));
    }
  }
  AttemptAuditPlan plan;
  plan.nonce = random_hex(kNonceBytes);
  if (!IsHexOfSize(plan.nonce, kNonceBytes)) return Internal("random source gave a bad nonce");
  std::vector<std::string> accounts;
  for (const PlanRank& r : ranks) accounts.push_back(r.account);
  plan.ranks.resize(n);
  std::vector<double> rates;
  std::vector<std::vector<int>> auditors;
  for (int q = 0; q < n; ++q) {
    auditors.push_back(AuditorsOf(ranks, q));
    rates.push_back(ranks[q].rate);
  }
  for (int r = 0; r < n; ++r) {
    plan.ranks[r].nonce = plan.nonce;
    plan.ranks[r].rates = rates;
    plan.ranks[r].auditors = auditors;
    plan.ranks[r].accounts = accounts;
    plan.ranks[r].screen_z = screen_z;
    plan.ranks[r].screen_min_deviation = screen_min_deviation;
  }
  // Distinct keys: two ranks with one key would draw the same tickets, and each could predict
  // the other's. A repeat from a real source means it is broken, so a few retries are enough.
  std::set<std::string> keys;
  for (int r = 0; r < n; ++r) {
    for (int tries = 0;; ++tries) {
      if (tries == 8) return Internal("random source keeps repeating audit keys");
      std::string key = random_hex(kKeyBytes);
      if (!IsHexOfSize(key, kKeyBytes)) return Internal("random source gave a bad audit key");
      if (keys.insert(key).second) {
        plan.ranks[r].key = std::move(key);
        break;
      }
    }
  }
  return plan;
}

std::string SecureRandomHex(int bytes) {
  std::string raw(static_cast<size_t>(bytes), '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), bytes) != 1) std::abort();
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    hex.push_back(kDigits[c >> 4]);
    hex.push_back(kDigits[c & 15]);
  }
  return hex;
}

}  // namespace shoal::audit

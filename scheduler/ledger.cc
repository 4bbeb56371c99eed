#include "scheduler/ledger.h"

#include <cmath>

namespace shoal {

void Ledger::Load(const std::vector<LedgerEntry>& entries, int64_t now_ms) {
  entries_.clear();
  for (const auto& e : entries) entries_[e.account] = e;
  last_ms_ = now_ms;
}

void Ledger::Advance(int64_t now_ms, const std::map<std::string, double>& earning,
                     const std::map<std::string, double>& spending) {
  if (last_ms_ < 0 || now_ms <= last_ms_) {
    if (last_ms_ < 0) last_ms_ = now_ms;
    return;
  }
  const double dt = static_cast<double>(now_ms - last_ms_) / 1000.0;
  last_ms_ = now_ms;
  // Exact for the decay; the charge of the interval is added undecayed (intervals are a second
  // or so against a half-life of days).
  const double keep = half_life_s_ > 0 ? std::exp2(-dt / half_life_s_) : 1.0;
  for (auto& [name, e] : entries_) {
    e.contributed *= keep;
    e.used *= keep;
  }
  for (const auto& [account, gpus] : earning) {
    LedgerEntry& e = entries_[account];
    e.account = account;
    e.contributed += gpus * dt;
  }
  for (const auto& [account, gpus] : spending) {
    LedgerEntry& e = entries_[account];
    e.account = account;
    e.used += gpus * dt;
  }
}

void Ledger::Credit(const std::string& account, double gpu_seconds) {
  LedgerEntry& e = entries_[account];
  e.account = account;
  e.contributed += gpu_seconds;
}

std::vector<LedgerEntry> Ledger::Entries() const {
  std::vector<LedgerEntry> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back(e);
  return out;
}

}  // namespace shoal

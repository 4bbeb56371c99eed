#include "scheduler/ledger.h"

#include <algorithm>
#include <cmath>

namespace shoal {

double UnitsPerRank(const JobSpec& spec) {
  return spec.resources.backend == Backend::kCpu ? 1.0
                                                 : std::max(1, spec.resources.gpus_per_worker);
}

double AttemptUnitsPerRank(const JobSpec& spec, const Attempt& a) {
  const double seconds =
      static_cast<double>(std::max<int64_t>(0, a.ended_ms - a.started_ms)) / 1000.0;
  return UnitsPerRank(spec) * seconds;
}

LedgerRates RatesOf(const std::map<int64_t, Job>& jobs,
                    const std::map<std::string, Worker>& workers) {
  LedgerRates rates;
  for (const auto& [id, w] : workers) {
    if (w.state == WorkerState::kAlive) rates.earning[w.account] += 0;
  }
  for (const auto& [id, job] : jobs) {
    const Attempt* a = job.current_attempt();
    if (job.state != JobState::kRunning || a == nullptr) continue;
    const double per_rank = UnitsPerRank(job.spec);
    for (const auto& r : a->ranks) {
      if (r.state != RankState::kExited) rates.spending[job.owner] += per_rank;
    }
  }
  return rates;
}

void Ledger::Accrue(int64_t now_ms, const std::map<int64_t, Job>& jobs,
                    const std::map<std::string, Worker>& workers) {
  const LedgerRates rates = RatesOf(jobs, workers);
  Advance(now_ms, rates.earning, rates.spending);
}

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
  // Exact for the decay (of the decayed pair only: the totals never decay); the charge of the
  // interval is added undecayed (intervals are a second or so against a half-life of days).
  const double keep = half_life_s_ > 0 ? std::exp2(-dt / half_life_s_) : 1.0;
  for (auto& [name, e] : entries_) {
    e.contributed *= keep;
    e.used *= keep;
  }
  for (const auto& [account, gpus] : earning) {
    LedgerEntry& e = entries_[account];
    e.account = account;
    e.contributed += gpus * dt;
    e.total_contributed += gpus * dt;
  }
  for (const auto& [account, gpus] : spending) {
    LedgerEntry& e = entries_[account];
    e.account = account;
    e.used += gpus * dt;
    e.total_used += gpus * dt;
  }
}

void Ledger::Credit(const std::string& account, double gpu_seconds) {
  LedgerEntry& e = entries_[account];
  e.account = account;
  e.contributed += gpu_seconds;
  e.total_contributed += gpu_seconds;
}

std::vector<LedgerEntry> Ledger::Entries() const {
  std::vector<LedgerEntry> out;
  out.reserve(entries_.size());
  for (const auto& [name, e] : entries_) out.push_back(e);
  return out;
}

}  // namespace shoal

// The contribution ledger (issue 4, docs/design.md §5): how much each account has given to the pool
// and taken from it, the input of the fair-share policy.
//
// An account earns one unit per second for each GPU its workers held for ranks of attempts that
// completed (Credit, when the attempt ends: advertised capacity earns nothing, nor do attempts
// that failed or were cancelled), and its jobs spend one unit per second per GPU they hold.
// CPU-only workers and jobs count slots instead of GPUs (a slot-second is worth a GPU-second), so a
// CPU-only pool has a ledger too. Both sums decay with a half-life, as Slurm's fair-share usage
// does: what an account did a half-life ago counts half; undecayed totals are kept beside them
// (BOINC's "total credit"). Accrual is piecewise: Advance() charges
// the rates that held since the previous call.
//
// Pure bookkeeping (no clock, no I/O); the scheduler persists Entries() with the store.
// Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "scheduler/state/records.h"  // LedgerEntry

namespace shoal {

// Ledger units one rank of `spec` holds per second: its GPUs, or 1 for a cpu rank (a slot).
double UnitsPerRank(const JobSpec& spec);

// Ledger units an attempt's ranks earned each, for the time it ran (its ranks held
// UnitsPerRank from started_ms to ended_ms).
double AttemptUnitsPerRank(const JobSpec& spec, const Attempt& a);

// What the pool is doing now, per account: `earning` lists (at 0) every account with a live
// worker, so that a contributing account has an entry (what it earns is credited when an attempt
// completes, never for what a worker advertises); `spending` holds the units of ranks that hold
// slots in running jobs, by owner.
struct LedgerRates {
  std::map<std::string, double> earning, spending;
};
LedgerRates RatesOf(const std::map<int64_t, Job>& jobs,
                    const std::map<std::string, Worker>& workers);

class Ledger {
 public:
  explicit Ledger(double half_life_s) : half_life_s_(half_life_s) {}

  // Starts from stored entries, as of `now_ms` (the time between the last save and now is not
  // charged: nobody observed the pool then).
  void Load(const std::vector<LedgerEntry>& entries, int64_t now_ms);

  // Decays everything by the time since the previous Advance (or Load), then charges `earning`
  // and `spending` (GPUs per account, held over that interval). The first call only sets the time.
  void Advance(int64_t now_ms, const std::map<std::string, double>& earning,
               const std::map<std::string, double>& spending);

  // Adds `gpu_seconds` to what `account` contributed (work done, credited when it ended).
  void Credit(const std::string& account, double gpu_seconds);

  // Charges what the pool is doing now, as of `now_ms`: Advance with RatesOf(jobs, workers).
  void Accrue(int64_t now_ms, const std::map<int64_t, Job>& jobs,
              const std::map<std::string, Worker>& workers);

  std::vector<LedgerEntry> Entries() const;
  double half_life_s() const { return half_life_s_; }

 private:
  double half_life_s_;
  int64_t last_ms_ = -1;
  std::map<std::string, LedgerEntry> entries_;
};

}  // namespace shoal

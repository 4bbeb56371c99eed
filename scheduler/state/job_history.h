// JobHistory: the read side of what a job's ranks reported — its log lines and metric series — and
// of the ledger's history, as the API serves them. The API reads through this narrow interface (on its own read-only database
// connection, off the event loop) instead of reaching into the Store, whose writes belong to the
// Scheduler. Implemented by Store (scheduler/state/store.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace shoal {

// One stored log line of a job.
struct LogRecord {
  int64_t seq = 0;  // increasing over the job's lines, in the order they were stored
  int attempt = 0;
  int rank = 0;  // the rank that wrote it, or kSchedulerLogRank for the scheduler's own lines
  int64_t ts_ms = 0;
  std::string line;
};

// One account's ledger as of a snapshot (ledger_history table; GET /v1/accounts/history).
struct LedgerHistoryRow {
  int64_t ts_ms = 0;
  std::string account;
  double total_contributed = 0;  // undecayed GPU-seconds
  double total_used = 0;
  double contributed = 0;  // decayed with the fair-share half-life
  double used = 0;
};

class JobHistory {
 public:
  virtual ~JobHistory() = default;

  // Lines with seq > after_seq, oldest first: at most `limit`, and no more after the one that
  // brings their text to `max_bytes` (at least one line is returned when there is one). rank < 0
  // means every rank; lines the scheduler wrote itself (rank kSchedulerLogRank) go with any rank.
  virtual Result<std::vector<LogRecord>> ReadLogs(int64_t job_id, int64_t after_seq, int rank,
                                                  int limit,
                                                  int64_t max_bytes = int64_t{1} << 62) = 0;
  // The after_seq that makes ReadLogs return the job's last `n` lines (of `rank`, or of every
  // rank when rank < 0): the seq of the line just before them, or 0 when there are at most n.
  virtual Result<int64_t> LogSeqBeforeLast(int64_t job_id, int rank, int n) = 0;
  // The job's metric points, oldest first, at most `limit`.
  virtual Result<std::vector<nlohmann::json>> ReadMetrics(int64_t job_id, int limit) = 0;
  // Ledger snapshots with ts_ms >= since_ms, of `account` ("" = every account), ordered by
  // (ts_ms, account): the newest `limit` rows when there are more (a chart wants the recent end).
  virtual Result<std::vector<LedgerHistoryRow>> ReadLedgerHistory(int64_t since_ms,
                                                                  const std::string& account,
                                                                  int limit) = 0;
};

}  // namespace shoal

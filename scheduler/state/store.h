// Store: the scheduler's durable state in one SQLite database (WAL mode, synchronous=FULL) under
// the state directory.
//
// Every method that returns OK has committed its write: callers acknowledge a client only after
// such a call. A failed write leaves the database as it was (each call is one transaction; the
// batch methods put a whole batch in one, so that N writes cost one fsync).
// Not thread-safe: the scheduler calls it from its single event-loop thread.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "scheduler/state/job_history.h"
#include "scheduler/state/records.h"

namespace shoal {

class Store final : public JobHistory {
 public:
  // Opens (creating if needed) <state_dir>/shoal.db and applies the schema. Returns Unavailable
  // when the directory or database cannot be opened or is locked by another scheduler.
  static Result<std::unique_ptr<Store>> Open(const std::string& state_dir);
  // A second, read-only connection to the database Open created, for reads that should not run
  // on the event loop (logs, metrics): WAL lets it read while the writer commits. Only the read
  // methods (ReadLogs, LogSeqBeforeLast, ReadMetrics, ReadLedgerHistory) may be called on it, from one thread at a
  // time.
  static Result<std::unique_ptr<Store>> OpenReader(const std::string& state_dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Inserts a new job and returns the id the database assigned (ids are never reused).
  Result<int64_t> InsertJob(const Job& job);
  // Inserts new jobs in ONE transaction (one fsync for all: group commit) and returns the ids the
  // database assigned, in order. All or nothing: on error no job of the batch is stored. Ids of
  // committed jobs are never reused.
  Result<std::vector<int64_t>> InsertJobs(const std::vector<const Job*>& jobs);
  // Writes a job's mutable fields and all of its attempts.
  Status SaveJob(const Job& job);
  Status SaveWorker(const Worker& worker);

  // The writes of one transaction, so that many cost one fsync (group commit).
  struct Batch {
    std::vector<const Job*> new_jobs;     // inserted, as InsertJob
    std::vector<const Job*> jobs;         // existing jobs' current state, as SaveJob
    std::vector<const Worker*> workers;   // as SaveWorker, in order (a repeated id: the last wins)
  };
  // Writes the whole batch in one transaction, all or nothing, and returns the ids assigned to
  // new_jobs, in order.
  Result<std::vector<int64_t>> WriteBatch(const Batch& batch);
  // Replaces the stored ledger rows of these accounts (one transaction).
  Status SaveLedger(const std::vector<LedgerEntry>& entries);
  // Appends a snapshot of `entries` as of `ts_ms` to the ledger history and deletes the rows
  // older than `delete_before_ms` (retention), in one transaction.
  Status AppendLedgerHistory(int64_t ts_ms, const std::vector<LedgerEntry>& entries,
                             int64_t delete_before_ms);
  // JobHistory (job_history.h).
  Result<std::vector<LedgerHistoryRow>> ReadLedgerHistory(int64_t since_ms,
                                                          const std::string& account,
                                                          int limit) override;

  // Replaces the stored failure records of these workers (one transaction).
  Status SaveFailureRecords(const std::vector<FailureRecord>& records);

  struct Snapshot {
    std::vector<Job> jobs;  // ordered by id
    std::vector<Worker> workers;
    std::vector<LedgerEntry> ledger;
    std::vector<FailureRecord> failures;  // ordered by worker id
  };
  // Reads everything back (at start-up). A stored spec that no longer parses is an Internal error.
  Result<Snapshot> LoadAll();

  using LogRecord = shoal::LogRecord;
  Status AppendLogs(int64_t job_id, int attempt, int rank, int64_t ts_ms,
                    const std::vector<std::string>& lines);
  // JobHistory (job_history.h).
  Result<std::vector<LogRecord>> ReadLogs(int64_t job_id, int64_t after_seq, int rank, int limit,
                                          int64_t max_bytes = int64_t{1} << 62) override;
  Result<int64_t> LogSeqBeforeLast(int64_t job_id, int rank, int n) override;
  // The bytes of text of the job's stored log lines.
  Result<int64_t> LogBytes(int64_t job_id);
  // Deletes the job's oldest lines, keeping the newest whose text is at most `keep_bytes`, and
  // puts `marker` (rank kSchedulerLogRank) where they were. Returns the bytes of text kept,
  // the marker's included.
  Result<int64_t> DropOldestLogs(int64_t job_id, int64_t keep_bytes, const std::string& marker);
  // The rank of the lines the scheduler writes into a job's log (e.g. the marker above).
  static constexpr int kSchedulerLogRank = -1;
  // Deletes every log line and metric point of these jobs (retention), in one transaction.
  Status DeleteJobLogs(const std::vector<int64_t>& job_ids);

  // Accounts and bearer tokens (scheduler/auth.h gives them meaning; only hashes are stored).
  struct AccountRow {
    std::string name;
    int64_t created_ms = 0;
  };
  struct TokenRow {
    int64_t id = 0;  // assigned by InsertToken
    std::string account;
    std::string role;   // "admin" | "user" | "contributor"
    std::string hash;   // SHA-256 hex of the token
    std::string label;  // what the token is for, free text
    int64_t created_ms = 0;
    int64_t revoked_ms = 0;  // 0 = valid
    int64_t expires_ms = 0;  // 0 = never expires
    int64_t last_used_ms = 0;  // 0 = never used (as last persisted; see SaveTokensLastUsed)
  };
  // Inserts an account; AlreadyExists if the name is taken.
  Status InsertAccount(const AccountRow& account);
  // Inserts a token (and its account, if missing, in the same transaction); returns its id.
  Result<int64_t> InsertToken(const TokenRow& token);
  // Marks a token revoked at `revoked_ms`; NotFound for an unknown id.
  Status RevokeToken(int64_t id, int64_t revoked_ms);
  Result<std::vector<AccountRow>> LoadAccounts();
  Result<std::vector<TokenRow>> LoadTokens();  // ordered by id
  // Sets the last-used times of tokens, (id, ms) pairs, in one transaction (all or nothing). A
  // stored time is never moved backwards; unknown ids are ignored.
  Status SaveTokensLastUsed(const std::vector<std::pair<int64_t, int64_t>>& last_used);

  Status AppendMetric(int64_t job_id, int attempt, int64_t ts_ms, const nlohmann::json& point);
  Result<std::vector<nlohmann::json>> ReadMetrics(int64_t job_id, int limit) override;
  Result<int64_t> MetricCount(int64_t job_id);
  // Halves the density of the older half of the job's metric points (every other one of them is
  // deleted), so that a long run's curve keeps its shape in a bounded number of points.
  Status ThinMetrics(int64_t job_id);

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Status Exec(const char* sql);
  Status Check(int rc, const char* what);
  // The one integer `sql` (one parameter: a job id) yields, 0 when it yields no row.
  Result<int64_t> JobInt(const char* sql, int64_t job_id, const char* what);
  Status SaveJobLocked(const Job& job);
  Status SaveWorkerLocked(const Worker& worker);

  sqlite3* db_;
};

}  // namespace shoal

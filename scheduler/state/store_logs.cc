// The Store's job logs and metric series: appends, paged reads, the per-job caps (dropping the
// oldest lines, thinning old points) and their deletion when a finished job's retention ends.
// Part of the Store class (scheduler/state/store.h).
#include <nlohmann/json.hpp>

#include "scheduler/state/sqlite_util.h"
#include "scheduler/state/store.h"

namespace shoal {

using sqlite_util::Stmt;
using sqlite_util::Txn;

Status Store::AppendLogs(int64_t job_id, int attempt, int rank, int64_t ts_ms,
                         const std::vector<std::string>& lines) {
  if (lines.empty()) return Status::Ok();
  Txn txn(db_);
  if (!txn.ok()) return Unavailable(std::string("sqlite begin: ") + sqlite3_errmsg(db_));
  Stmt st(db_, "INSERT INTO logs(job_id, attempt, rank, ts_ms, line) VALUES(?,?,?,?,?)");
  for (const auto& line : lines) {
    sqlite3_reset(st.get());
    st.Bind(1, job_id).Bind(2, attempt).Bind(3, rank).Bind(4, ts_ms).Bind(5, line);
    RETURN_IF_ERROR(Check(st.Step(), "append log"));
  }
  if (!txn.Commit()) return Unavailable("sqlite commit: " + txn.error());
  return Status::Ok();
}

Result<std::vector<Store::LogRecord>> Store::ReadLogs(int64_t job_id, int64_t after_seq, int rank,
                                                      int limit, int64_t max_bytes) {
  Stmt st(db_,
          "SELECT seq, attempt, rank, ts_ms, line FROM logs WHERE job_id=? AND seq>? "
          "AND (?<0 OR rank=? OR rank<0) ORDER BY seq LIMIT ?");
  st.Bind(1, job_id).Bind(2, after_seq).Bind(3, rank).Bind(4, rank).Bind(5, limit);
  std::vector<LogRecord> out;
  int64_t bytes = 0;
  int rc;
  while (bytes < max_bytes && (rc = st.Step()) == SQLITE_ROW) {
    out.push_back({st.Int(0), static_cast<int>(st.Int(1)), static_cast<int>(st.Int(2)), st.Int(3),
                   st.Text(4)});
    bytes += static_cast<int64_t>(out.back().line.size());
  }
  if (bytes >= max_bytes) return out;  // stopped early: the statement is not done, not failed
  RETURN_IF_ERROR(Check(rc, "read logs"));
  return out;
}

Result<int64_t> Store::LogSeqBeforeLast(int64_t job_id, int rank, int n) {
  Stmt st(db_,
          "SELECT seq FROM logs WHERE job_id=? AND (?<0 OR rank=? OR rank<0) ORDER BY seq DESC "
          "LIMIT 1 OFFSET ?");
  st.Bind(1, job_id).Bind(2, rank).Bind(3, rank).Bind(4, n);
  int rc = st.Step();
  if (rc == SQLITE_ROW) return st.Int(0);
  RETURN_IF_ERROR(Check(rc, "read logs"));
  return int64_t{0};  // fewer than n+1 lines: the tail is all of them
}

Result<int64_t> Store::JobInt(const char* sql, int64_t job_id, const char* what) {
  Stmt st(db_, sql);
  st.Bind(1, job_id);
  int rc = st.Step();
  if (rc == SQLITE_ROW) return st.Int(0);
  RETURN_IF_ERROR(Check(rc, what));
  return int64_t{0};
}

Result<int64_t> Store::LogBytes(int64_t job_id) {
  return JobInt("SELECT COALESCE(SUM(LENGTH(CAST(line AS BLOB))), 0) FROM logs WHERE job_id=?",
                job_id, "log size");
}

Result<int64_t> Store::DropOldestLogs(int64_t job_id, int64_t keep_bytes,
                                      const std::string& marker) {
  Txn txn(db_);
  if (!txn.ok()) return Unavailable(std::string("sqlite begin: ") + sqlite3_errmsg(db_));
  // Newest first, until the kept text would pass keep_bytes: the line found there and every
  // older one go. Only the lengths are read, not the text.
  int64_t kept = static_cast<int64_t>(marker.size());
  int64_t first_dropped = 0, attempt = 0, ts_ms = 0;
  {
    Stmt st(db_,
            "SELECT seq, LENGTH(CAST(line AS BLOB)), attempt, ts_ms FROM logs WHERE job_id=? "
            "ORDER BY seq DESC");
    st.Bind(1, job_id);
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      if (kept + st.Int(1) > keep_bytes) {
        first_dropped = st.Int(0);
        break;
      }
      kept += st.Int(1);
      attempt = st.Int(2);
      ts_ms = st.Int(3);
    }
    if (rc != SQLITE_ROW) RETURN_IF_ERROR(Check(rc, "log sizes"));
  }
  if (first_dropped == 0) return kept - static_cast<int64_t>(marker.size());  // fits already
  {
    Stmt del(db_, "DELETE FROM logs WHERE job_id=? AND seq<=?");
    del.Bind(1, job_id).Bind(2, first_dropped);
    RETURN_IF_ERROR(Check(del.Step(), "drop old logs"));
  }
  // The marker takes the seq of the newest dropped line: it reads where they were, in order.
  Stmt ins(db_, "INSERT INTO logs(seq, job_id, attempt, rank, ts_ms, line) VALUES(?,?,?,?,?,?)");
  ins.Bind(1, first_dropped).Bind(2, job_id).Bind(3, attempt).Bind(4, int64_t{kSchedulerLogRank});
  ins.Bind(5, ts_ms).Bind(6, marker);
  RETURN_IF_ERROR(Check(ins.Step(), "log marker"));
  if (!txn.Commit()) return Unavailable("sqlite commit: " + txn.error());
  return kept;
}

Status Store::DeleteJobLogs(const std::vector<int64_t>& job_ids) {
  if (job_ids.empty()) return Status::Ok();
  Txn txn(db_);
  if (!txn.ok()) return Unavailable(std::string("sqlite begin: ") + sqlite3_errmsg(db_));
  Stmt logs(db_, "DELETE FROM logs WHERE job_id=?");
  Stmt metrics(db_, "DELETE FROM metrics WHERE job_id=?");
  for (int64_t id : job_ids) {
    for (Stmt* st : {&logs, &metrics}) {
      sqlite3_reset(st->get());
      st->Bind(1, id);
      RETURN_IF_ERROR(Check(st->Step(), "delete logs"));
    }
  }
  if (!txn.Commit()) return Unavailable("sqlite commit: " + txn.error());
  return Status::Ok();
}

Status Store::AppendMetric(int64_t job_id, int attempt, int64_t ts_ms,
                           const nlohmann::json& point) {
  Stmt st(db_, "INSERT INTO metrics(job_id, attempt, ts_ms, point) VALUES(?,?,?,?)");
  st.Bind(1, job_id).Bind(2, attempt).Bind(3, ts_ms).Bind(4, point.dump());
  return Check(st.Step(), "append metric");
}

Result<std::vector<nlohmann::json>> Store::ReadMetrics(int64_t job_id, int limit) {
  Stmt st(db_, "SELECT point FROM metrics WHERE job_id=? ORDER BY rowid LIMIT ?");
  st.Bind(1, job_id).Bind(2, limit);
  std::vector<nlohmann::json> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    auto p = nlohmann::json::parse(st.Text(0), nullptr, false);
    if (!p.is_discarded()) out.push_back(std::move(p));
  }
  RETURN_IF_ERROR(Check(rc, "read metrics"));
  return out;
}

Result<int64_t> Store::MetricCount(int64_t job_id) {
  return JobInt("SELECT COUNT(*) FROM metrics WHERE job_id=?", job_id, "count metrics");
}

Status Store::ThinMetrics(int64_t job_id) {
  ASSIGN_OR_RETURN(int64_t n, MetricCount(job_id));
  Stmt st(db_,
          "DELETE FROM metrics WHERE rowid IN (SELECT rowid FROM (SELECT rowid, "
          "ROW_NUMBER() OVER (ORDER BY rowid) AS i FROM metrics WHERE job_id=? ORDER BY rowid "
          "LIMIT ?) WHERE i % 2 = 0)");
  st.Bind(1, job_id).Bind(2, n / 2);
  return Check(st.Step(), "thin metrics");
}

}  // namespace shoal

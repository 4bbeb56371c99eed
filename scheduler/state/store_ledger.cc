// The Store's contribution ledger: the current rows (SaveLedger; LoadAll reads them back) and
// the ledger's history, snapshots of every account taken every ledgerHistoryInterval, which the
// dashboard charts. Part of the Store class (scheduler/state/store.h).
#include "scheduler/state/sqlite_util.h"
#include "scheduler/state/store.h"

namespace shoal {

using sqlite_util::Stmt;
using sqlite_util::Txn;

Status Store::SaveLedger(const std::vector<LedgerEntry>& entries) {
  Txn txn(db_);
  if (!txn.ok()) return Unavailable(std::string("sqlite begin: ") + sqlite3_errmsg(db_));
  Stmt st(db_,
          "INSERT OR REPLACE INTO ledger(account, contributed, used, total_contributed, "
          "total_used) VALUES(?,?,?,?,?)");
  for (const auto& e : entries) {
    sqlite3_reset(st.get());
    st.Bind(1, e.account)
        .BindDouble(2, e.contributed)
        .BindDouble(3, e.used)
        .BindDouble(4, e.total_contributed)
        .BindDouble(5, e.total_used);
    RETURN_IF_ERROR(Check(st.Step(), "save ledger"));
  }
  if (!txn.Commit()) return Unavailable("sqlite commit: " + txn.error());
  return Status::Ok();
}

Status Store::AppendLedgerHistory(int64_t ts_ms, const std::vector<LedgerEntry>& entries,
                                  int64_t delete_before_ms) {
  Txn txn(db_);
  if (!txn.ok()) return Unavailable(std::string("sqlite begin: ") + sqlite3_errmsg(db_));
  {
    Stmt st(db_,
            "INSERT INTO ledger_history(ts_ms, account, total_contributed, total_used, "
            "contributed, used) VALUES(?,?,?,?,?,?)");
    for (const auto& e : entries) {
      sqlite3_reset(st.get());
      st.Bind(1, ts_ms)
          .Bind(2, e.account)
          .BindDouble(3, e.total_contributed)
          .BindDouble(4, e.total_used)
          .BindDouble(5, e.contributed)
          .BindDouble(6, e.used);
      RETURN_IF_ERROR(Check(st.Step(), "append ledger history"));
    }
  }
  Stmt del(db_, "DELETE FROM ledger_history WHERE ts_ms < ?");
  del.Bind(1, delete_before_ms);
  RETURN_IF_ERROR(Check(del.Step(), "delete old ledger history"));
  if (!txn.Commit()) return Unavailable("sqlite commit: " + txn.error());
  return Status::Ok();
}

Result<std::vector<LedgerHistoryRow>> Store::ReadLedgerHistory(int64_t since_ms,
                                                               const std::string& account,
                                                               int limit) {
  // The newest `limit` rows (the index on ts_ms walks backwards), then put oldest first.
  Stmt st(db_,
          "SELECT ts_ms, account, total_contributed, total_used, contributed, used FROM ("
          "SELECT * FROM ledger_history WHERE ts_ms >= ? AND (? = '' OR account = ?) "
          "ORDER BY ts_ms DESC, account DESC LIMIT ?) ORDER BY ts_ms, account");
  st.Bind(1, since_ms).Bind(2, account).Bind(3, account).Bind(4, limit);
  std::vector<LedgerHistoryRow> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back({st.Int(0), st.Text(1), st.Double(2), st.Double(3), st.Double(4), st.Double(5)});
  }
  RETURN_IF_ERROR(Check(rc, "read ledger history"));
  return out;
}

}  // namespace shoal

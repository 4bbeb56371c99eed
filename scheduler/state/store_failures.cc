// The Store's worker failure records (SaveFailureRecords; LoadAll reads them back): each
// worker's up time and losses, from which the scheduler estimates its MTBF for Young/Daly
// checkpoint intervals, so that a restarted scheduler keeps what it learned. Part of the Store
// class (scheduler/state/store.h).
#include "scheduler/state/sqlite_util.h"
#include "scheduler/state/store.h"

namespace shoal {

using sqlite_util::Stmt;
using sqlite_util::Txn;

Status Store::SaveFailureRecords(const std::vector<FailureRecord>& records) {
  Txn txn(db_);
  if (!txn.ok()) return Unavailable(std::string("sqlite begin: ") + sqlite3_errmsg(db_));
  Stmt st(db_, "INSERT OR REPLACE INTO worker_failures(worker_id, up_ms, losses) VALUES(?,?,?)");
  for (const FailureRecord& r : records) {
    sqlite3_reset(st.get());
    st.Bind(1, r.worker_id).Bind(2, r.up_ms).Bind(3, r.losses);
    RETURN_IF_ERROR(Check(st.Step(), "save worker failures"));
  }
  if (!txn.Commit()) return Unavailable("sqlite commit: " + txn.error());
  return Status::Ok();
}

}  // namespace shoal

#include "scheduler/state/store.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "scheduler/state/codec.h"
#include "scheduler/state/sqlite_util.h"

namespace shoal {
namespace {

using sqlite_util::Stmt;
using sqlite_util::Txn;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  owner TEXT NOT NULL,
  spec_text TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL,
  submitted_ms INTEGER NOT NULL,
  started_ms INTEGER NOT NULL,
  finished_ms INTEGER NOT NULL,
  progress TEXT NOT NULL,
  result TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (
  job_id INTEGER NOT NULL REFERENCES jobs(id),
  number INTEGER NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (job_id, number));
CREATE TABLE IF NOT EXISTS workers (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  host TEXT NOT NULL,
  slots INTEGER NOT NULL,
  cpus INTEGER NOT NULL,
  gpus TEXT NOT NULL,
  state TEXT NOT NULL,
  registered_ms INTEGER NOT NULL,
  account TEXT NOT NULL DEFAULT 'default');
CREATE TABLE IF NOT EXISTS ledger (
  account TEXT PRIMARY KEY,
  contributed REAL NOT NULL,
  used REAL NOT NULL,
  total_contributed REAL NOT NULL DEFAULT 0,
  total_used REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS ledger_history (
  ts_ms INTEGER NOT NULL,
  account TEXT NOT NULL,
  total_contributed REAL NOT NULL,
  total_used REAL NOT NULL,
  contributed REAL NOT NULL,
  used REAL NOT NULL);
CREATE INDEX IF NOT EXISTS ledger_history_by_ts ON ledger_history(ts_ms);
CREATE TABLE IF NOT EXISTS logs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  job_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  rank INTEGER NOT NULL,
  ts_ms INTEGER NOT NULL,
  line TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_by_job ON logs(job_id, seq);
CREATE TABLE IF NOT EXISTS metrics (
  job_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  ts_ms INTEGER NOT NULL,
  point TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS metrics_by_job ON metrics(job_id, ts_ms);
CREATE TABLE IF NOT EXISTS accounts (
  name TEXT PRIMARY KEY,
  created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account TEXT NOT NULL REFERENCES accounts(name),
  role TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  label TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  revoked_ms INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS worker_failures (
  worker_id TEXT PRIMARY KEY,
  up_ms INTEGER NOT NULL,
  losses INTEGER NOT NULL);
)sql";

// A job's timeline as one column: {"list": [...], "dropped": N}.
std::string StoredEvents(const Job& job) {
  return nlohmann::json{{"list", EventsToJson(job.events)}, {"dropped", job.events_dropped}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void LoadEvents(const std::string& text, Job* job) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return;
  job->events = EventsFromJson(j.value("list", nlohmann::json::array()));
  if (j.contains("dropped") && j["dropped"].is_number_integer()) {
    job->events_dropped = j["dropped"].get<int64_t>();
  }
}

// The pins as one column: a JSON array of wire::Pin.
std::string StoredPins(const Job& job) {
  nlohmann::json pins = nlohmann::json::array();
  for (const wire::Pin& pin : job.pins) pins.push_back(wire::ToJson(pin));
  return pins.dump();
}

Status LoadPins(const std::string& text, Job* job) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_array()) return Internal("stored pins of job " + std::to_string(job->id) + " do not parse");
  for (const auto& item : j) {
    auto pin = wire::PinFromJson(item);
    if (!pin.ok()) {
      return Internal("stored pins of job " + std::to_string(job->id) + ": " +
                      pin.status().message());
    }
    job->pins.push_back(std::move(*pin));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Store>> Store::Open(const std::string& state_dir) {
  if (::mkdir(state_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return Unavailable("cannot create state dir " + state_dir + ": " + std::strerror(errno));
  }
  std::string path = state_dir + "/shoal.db";
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Unavailable("cannot open " + path + ": " + msg);
  }
  std::unique_ptr<Store> store(new Store(db));
  sqlite3_busy_timeout(db, 2000);
  // WAL for concurrent readers; synchronous=FULL so a commit survives power loss, not only a
  // process crash (an acknowledged job is never lost).
  RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL"));
  RETURN_IF_ERROR(store->Exec("PRAGMA synchronous=FULL"));
  RETURN_IF_ERROR(store->Exec("PRAGMA foreign_keys=ON"));
  RETURN_IF_ERROR(store->Exec(kSchema));
  // Databases from before idempotency keys get the column (NULL for their jobs) now.
  if (!Stmt(db, "SELECT idem_key FROM jobs LIMIT 0").ok()) {
    RETURN_IF_ERROR(store->Exec("ALTER TABLE jobs ADD COLUMN idem_key TEXT"));
  }
  RETURN_IF_ERROR(store->Exec(
      "CREATE UNIQUE INDEX IF NOT EXISTS jobs_by_idem_key ON jobs(owner, idem_key) "
      "WHERE idem_key IS NOT NULL"));
  // Databases from before workers had an account get the column (and the default) now.
  if (!Stmt(db, "SELECT account FROM workers LIMIT 0").ok()) {
    RETURN_IF_ERROR(store->Exec(
        "ALTER TABLE workers ADD COLUMN account TEXT NOT NULL DEFAULT 'default'"));
  }
  // ... and so do those from before job timelines and worker instances.
  if (!Stmt(db, "SELECT events FROM jobs LIMIT 0").ok()) {
    RETURN_IF_ERROR(store->Exec("ALTER TABLE jobs ADD COLUMN events TEXT NOT NULL DEFAULT '{}'"));
  }
  // ... and those from before the dataset registry.
  if (!Stmt(db, "SELECT pins FROM jobs LIMIT 0").ok()) {
    RETURN_IF_ERROR(store->Exec("ALTER TABLE jobs ADD COLUMN pins TEXT NOT NULL DEFAULT '[]'"));
  }
  if (!Stmt(db, "SELECT instance FROM workers LIMIT 0").ok()) {
    RETURN_IF_ERROR(
        store->Exec("ALTER TABLE workers ADD COLUMN instance TEXT NOT NULL DEFAULT ''"));
  }
  if (!Stmt(db, "SELECT machine FROM workers LIMIT 0").ok()) {
    RETURN_IF_ERROR(store->Exec("ALTER TABLE workers ADD COLUMN machine TEXT NOT NULL DEFAULT ''"));
  }
  // ... and tokens from before expiry and last-used times (0: never expires / never used).
  if (!Stmt(db, "SELECT expires_ms FROM tokens LIMIT 0").ok()) {
    RETURN_IF_ERROR(
        store->Exec("ALTER TABLE tokens ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0"));
  }
  if (!Stmt(db, "SELECT last_used_ms FROM tokens LIMIT 0").ok()) {
    RETURN_IF_ERROR(
        store->Exec("ALTER TABLE tokens ADD COLUMN last_used_ms INTEGER NOT NULL DEFAULT 0"));
  }
  if (!Stmt(db, "SELECT completed_ranks FROM workers LIMIT 0").ok()) {
    RETURN_IF_ERROR(
        store->Exec("ALTER TABLE workers ADD COLUMN completed_ranks INTEGER NOT NULL DEFAULT 0"));
  }
  // ... and those from before workers reported memory (0 = unknown).
  if (!Stmt(db, "SELECT memory_lent FROM workers LIMIT 0").ok()) {
    RETURN_IF_ERROR(
        store->Exec("ALTER TABLE workers ADD COLUMN memory_total INTEGER NOT NULL DEFAULT 0;"
                    "ALTER TABLE workers ADD COLUMN memory_lent INTEGER NOT NULL DEFAULT 0"));
  }
  // ... and ledgers from before the undecayed totals. Their totals start at the decayed sums: a
  // lower bound, better than 0 for an account that has been contributing for months. One
  // transaction: a crash in between must not leave one column without the other.
  if (!Stmt(db, "SELECT total_contributed FROM ledger LIMIT 0").ok()) {
    RETURN_IF_ERROR(store->Exec(
        "BEGIN;"
        "ALTER TABLE ledger ADD COLUMN total_contributed REAL NOT NULL DEFAULT 0;"
        "ALTER TABLE ledger ADD COLUMN total_used REAL NOT NULL DEFAULT 0;"
        "UPDATE ledger SET total_contributed = contributed, total_used = used;"
        "COMMIT"));
  }
  // ... and those from before audits (rate 0 = never audited; not quarantined).
  if (!Stmt(db, "SELECT audit_rate FROM workers LIMIT 0").ok()) {
    RETURN_IF_ERROR(
        store->Exec("BEGIN;"
                    "ALTER TABLE workers ADD COLUMN audit_rate REAL NOT NULL DEFAULT 0;"
                    "ALTER TABLE workers ADD COLUMN clean_audits INTEGER NOT NULL DEFAULT 0;"
                    "ALTER TABLE workers ADD COLUMN failed_audits INTEGER NOT NULL DEFAULT 0;"
                    "ALTER TABLE workers ADD COLUMN quarantine TEXT NOT NULL DEFAULT '';"
                    "ALTER TABLE workers ADD COLUMN quarantined_ms INTEGER NOT NULL DEFAULT 0;"
                    "COMMIT"));
  }
  return store;
}

Result<std::unique_ptr<Store>> Store::OpenReader(const std::string& state_dir) {
  std::string path = state_dir + "/shoal.db";
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return Unavailable("cannot open " + path + " for reading: " + msg);
  }
  std::unique_ptr<Store> store(new Store(db));
  sqlite3_busy_timeout(db, 2000);
  return store;
}

Store::~Store() { sqlite3_close(db_); }

Status Store::Exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return Unavailable("sqlite: " + msg);
  }
  return Status::Ok();
}

Status Store::Check(int rc, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return Status::Ok();
  return Unavailable(std::string("sqlite ") + what + ": " + sqlite3_errmsg(db_));
}

Result<int64_t> Store::InsertJob(const Job& job) {
  ASSIGN_OR_RETURN(std::vector<int64_t> ids, InsertJobs({&job}));
  return ids.front();
}

Result<std::vector<int64_t>> Store::InsertJobs(const std::vector<const Job*>& jobs) {
  return WriteBatch({jobs, {}, {}});
}

Result<std::vector<int64_t>> Store::WriteBatch(const Batch& batch) {
  std::vector<int64_t> ids;
  if (batch.new_jobs.empty() && batch.jobs.empty() && batch.workers.empty()) return ids;
  Txn txn(db_);
  if (!txn.ok()) return Unavailable(std::string("sqlite begin: ") + sqlite3_errmsg(db_));
  if (!batch.new_jobs.empty()) {
    // One statement for the whole batch: preparing costs about as much as a small insert.
    Stmt st(db_,
            "INSERT INTO jobs(owner, spec_text, state, reason, submitted_ms, started_ms, "
            "finished_ms, progress, result, idem_key, events, pins) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st.ok()) return Check(SQLITE_ERROR, "prepare insert job");
    ids.reserve(batch.new_jobs.size());
    for (const Job* job : batch.new_jobs) {
      sqlite3_reset(st.get());
      st.Bind(1, job->owner).Bind(2, job->spec_text).Bind(3, std::string(ToString(job->state)))
          .Bind(4, job->reason).Bind(5, job->submitted_ms).Bind(6, job->started_ms)
          .Bind(7, job->finished_ms).Bind(8, job->progress.dump()).Bind(9, job->result.dump());
      if (job->idempotency_key.empty()) {
        sqlite3_bind_null(st.get(), 10);
      } else {
        st.Bind(10, job->idempotency_key);
      }
      st.Bind(11, StoredEvents(*job)).Bind(12, StoredPins(*job));
      RETURN_IF_ERROR(Check(st.Step(), "insert job"));  // ~Txn rolls the whole batch back
      ids.push_back(sqlite3_last_insert_rowid(db_));
    }
  }
  for (const Job* job : batch.jobs) RETURN_IF_ERROR(SaveJobLocked(*job));
  for (const Worker* w : batch.workers) RETURN_IF_ERROR(SaveWorkerLocked(*w));
  if (!txn.Commit()) return Unavailable("sqlite commit: " + txn.error());
  return ids;
}

Status Store::SaveJobLocked(const Job& job) {
  Stmt st(db_,
          "UPDATE jobs SET state=?, reason=?, started_ms=?, finished_ms=?, progress=?, result=?, "
          "events=? WHERE id=?");
  st.Bind(1, std::string(ToString(job.state))).Bind(2, job.reason).Bind(3, job.started_ms)
      .Bind(4, job.finished_ms).Bind(5, job.progress.dump()).Bind(6, job.result.dump())
      .Bind(7, StoredEvents(job)).Bind(8, job.id);
  RETURN_IF_ERROR(Check(st.Step(), "update job"));
  for (const Attempt& a : job.attempts) {
    Stmt at(db_, "INSERT OR REPLACE INTO attempts(job_id, number, body) VALUES(?,?,?)");
    at.Bind(1, job.id).Bind(2, a.number).Bind(3, AttemptToStored(a).dump());
    RETURN_IF_ERROR(Check(at.Step(), "save attempt"));
  }
  return Status::Ok();
}

Status Store::SaveJob(const Job& job) {
  Txn txn(db_);
  if (!txn.ok()) return Unavailable(std::string("sqlite begin: ") + sqlite3_errmsg(db_));
  RETURN_IF_ERROR(SaveJobLocked(job));
  if (!txn.Commit()) return Unavailable("sqlite commit: " + txn.error());
  return Status::Ok();
}

Status Store::SaveWorkerLocked(const Worker& w) {
  nlohmann::json gpus = nlohmann::json::array();
  for (const auto& g : w.gpus) gpus.push_back(ToJson(g));
  Stmt st(db_,
          "INSERT OR REPLACE INTO workers(id, name, host, slots, cpus, gpus, state, "
          "registered_ms, account, instance, completed_ranks, memory_total, memory_lent, "
          "audit_rate, clean_audits, failed_audits, quarantine, quarantined_ms, machine) "
          "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  st.Bind(1, w.id)
      .Bind(2, w.name)
      .Bind(3, w.host)
      .Bind(4, w.slots)
      .Bind(5, w.cpus)
      .Bind(6, gpus.dump())
      .Bind(7, std::string(ToString(w.state)))
      .Bind(8, w.registered_ms)
      .Bind(9, w.account)
      .Bind(10, w.instance)
      .Bind(11, w.completed_ranks)
      .Bind(12, w.memory_total_bytes)
      .Bind(13, w.memory_lent_bytes)
      .BindDouble(14, w.audit_rate)
      .Bind(15, w.clean_audits)
      .Bind(16, w.failed_audits)
      .Bind(17, w.quarantine)
      .Bind(18, w.quarantined_ms)
      .Bind(19, w.machine);
  return Check(st.Step(), "save worker");
}

Status Store::SaveWorker(const Worker& w) { return SaveWorkerLocked(w); }

Result<Store::Snapshot> Store::LoadAll() {
  Snapshot snap;
  {
    Stmt st(db_,
            "SELECT id, owner, spec_text, state, reason, submitted_ms, started_ms, finished_ms, "
            "progress, result, COALESCE(idem_key, ''), events, pins FROM jobs ORDER BY id");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      Job job;
      job.id = st.Int(0);
      job.owner = st.Text(1);
      job.spec_text = st.Text(2);
      auto spec = ParseJobSpec(job.spec_text, "job " + std::to_string(job.id));
      if (!spec.ok()) return Internal("stored spec of job " + std::to_string(job.id) +
                                      " no longer parses: " + spec.status().message());
      job.spec = std::move(spec).value();
      ASSIGN_OR_RETURN(job.state, ParseJobState(st.Text(3)));
      job.reason = st.Text(4);
      job.submitted_ms = st.Int(5);
      job.started_ms = st.Int(6);
      job.finished_ms = st.Int(7);
      job.progress = nlohmann::json::parse(st.Text(8), nullptr, false);
      job.result = nlohmann::json::parse(st.Text(9), nullptr, false);
      if (job.progress.is_discarded()) job.progress = nlohmann::json::object();
      if (job.result.is_discarded()) job.result = nlohmann::json::object();
      job.idempotency_key = st.Text(10);
      LoadEvents(st.Text(11), &job);
      RETURN_IF_ERROR(LoadPins(st.Text(12), &job));
      snap.jobs.push_back(std::move(job));
    }
    RETURN_IF_ERROR(Check(rc, "load jobs"));
  }
  {
    Stmt st(db_, "SELECT job_id, body FROM attempts ORDER BY job_id, number");
    size_t j = 0;
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      int64_t job_id = st.Int(0);
      while (j < snap.jobs.size() && snap.jobs[j].id < job_id) ++j;
      if (j == snap.jobs.size() || snap.jobs[j].id != job_id) continue;
      auto body = nlohmann::json::parse(st.Text(1), nullptr, false);
      ASSIGN_OR_RETURN(Attempt a, AttemptFromStored(body));
      snap.jobs[j].attempts.push_back(std::move(a));
    }
    RETURN_IF_ERROR(Check(rc, "load attempts"));
  }
  {
    Stmt st(db_,
            "SELECT id, name, host, slots, cpus, gpus, state, registered_ms, account, instance, "
            "completed_ranks, memory_total, memory_lent, audit_rate, clean_audits, failed_audits, "
            "quarantine, quarantined_ms, machine FROM workers");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      Worker w;
      w.id = st.Text(0);
      w.name = st.Text(1);
      w.host = st.Text(2);
      w.slots = static_cast<int>(st.Int(3));
      w.cpus = static_cast<int>(st.Int(4));
      auto gpus = nlohmann::json::parse(st.Text(5), nullptr, false);
      if (gpus.is_array()) {
        for (const auto& g : gpus) {
          auto info = GpuInfoFromJson(g);
          if (info.ok()) w.gpus.push_back(*info);
        }
      }
      // Anything unknown loads as lost: it comes back alive with its next heartbeat.
      auto state = ParseWorkerState(st.Text(6));
      w.state = state.ok() ? *state : WorkerState::kLost;
      w.registered_ms = st.Int(7);
      w.account = st.Text(8);
      w.instance = st.Text(9);
      w.completed_ranks = st.Int(10);
      w.memory_total_bytes = st.Int(11);
      w.memory_lent_bytes = st.Int(12);
      w.audit_rate = st.Double(13);
      w.clean_audits = st.Int(14);
      w.failed_audits = st.Int(15);
      w.quarantine = st.Text(16);
      w.quarantined_ms = st.Int(17);
      w.machine = st.Text(18);
      snap.workers.push_back(std::move(w));
    }
    RETURN_IF_ERROR(Check(rc, "load workers"));
  }
  {
    Stmt st(db_,
            "SELECT account, contributed, used, total_contributed, total_used FROM ledger "
            "ORDER BY account");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      snap.ledger.push_back({st.Text(0), st.Double(1), st.Double(2), st.Double(3), st.Double(4)});
    }
    RETURN_IF_ERROR(Check(rc, "load ledger"));
  }
  {
    Stmt st(db_, "SELECT worker_id, up_ms, losses FROM worker_failures ORDER BY worker_id");
    int rc;
    while ((rc = st.Step()) == SQLITE_ROW) {
      snap.failures.push_back({st.Text(0), st.Int(1), st.Int(2)});
    }
    RETURN_IF_ERROR(Check(rc, "load worker failures"));
  }
  return snap;
}

Status Store::InsertAccount(const AccountRow& account) {
  Stmt st(db_, "INSERT OR IGNORE INTO accounts(name, created_ms) VALUES(?,?)");
  st.Bind(1, account.name).Bind(2, account.created_ms);
  RETURN_IF_ERROR(Check(st.Step(), "insert account"));
  if (sqlite3_changes(db_) == 0) {
    return Status(StatusCode::kAlreadyExists, "account \"" + account.name + "\" already exists");
  }
  return Status::Ok();
}

Result<int64_t> Store::InsertToken(const TokenRow& token) {
  Txn txn(db_);
  if (!txn.ok()) return Unavailable(std::string("sqlite begin: ") + sqlite3_errmsg(db_));
  {
    Stmt st(db_, "INSERT OR IGNORE INTO accounts(name, created_ms) VALUES(?,?)");
    st.Bind(1, token.account).Bind(2, token.created_ms);
    RETURN_IF_ERROR(Check(st.Step(), "insert account"));
  }
  Stmt st(db_,
          "INSERT INTO tokens(account, role, hash, label, created_ms, revoked_ms, expires_ms, "
          "last_used_ms) VALUES(?,?,?,?,?,?,?,?)");
  st.Bind(1, token.account)
      .Bind(2, token.role)
      .Bind(3, token.hash)
      .Bind(4, token.label)
      .Bind(5, token.created_ms)
      .Bind(6, token.revoked_ms)
      .Bind(7, token.expires_ms)
      .Bind(8, token.last_used_ms);
  RETURN_IF_ERROR(Check(st.Step(), "insert token"));
  const int64_t id = sqlite3_last_insert_rowid(db_);
  if (!txn.Commit()) return Unavailable("sqlite commit: " + txn.error());
  return id;
}

Status Store::RevokeToken(int64_t id, int64_t revoked_ms) {
  Stmt st(db_, "UPDATE tokens SET revoked_ms=? WHERE id=? AND revoked_ms=0");
  st.Bind(1, revoked_ms).Bind(2, id);
  RETURN_IF_ERROR(Check(st.Step(), "revoke token"));
  if (sqlite3_changes(db_) == 0) return NotFound("no valid token " + std::to_string(id));
  return Status::Ok();
}

Result<std::vector<Store::AccountRow>> Store::LoadAccounts() {
  Stmt st(db_, "SELECT name, created_ms FROM accounts ORDER BY name");
  std::vector<AccountRow> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) out.push_back({st.Text(0), st.Int(1)});
  RETURN_IF_ERROR(Check(rc, "load accounts"));
  return out;
}

Result<std::vector<Store::TokenRow>> Store::LoadTokens() {
  Stmt st(db_,
          "SELECT id, account, role, hash, label, created_ms, revoked_ms, expires_ms, last_used_ms "
          "FROM tokens ORDER BY id");
  std::vector<TokenRow> out;
  int rc;
  while ((rc = st.Step()) == SQLITE_ROW) {
    out.push_back({st.Int(0), st.Text(1), st.Text(2), st.Text(3), st.Text(4), st.Int(5), st.Int(6),
                   st.Int(7), st.Int(8)});
  }
  RETURN_IF_ERROR(Check(rc, "load tokens"));
  return out;
}

Status Store::SaveTokensLastUsed(const std::vector<std::pair<int64_t, int64_t>>& last_used) {
  if (last_used.empty()) return Status::Ok();
  Txn txn(db_);
  if (!txn.ok()) return Unavailable(std::string("sqlite begin: ") + sqlite3_errmsg(db_));
  for (const auto& [id, ms] : last_used) {
    // Never backwards: a stale value must not overwrite a newer one.
    Stmt st(db_, "UPDATE tokens SET last_used_ms=? WHERE id=? AND last_used_ms<?");
    st.Bind(1, ms).Bind(2, id).Bind(3, ms);
    RETURN_IF_ERROR(Check(st.Step(), "save token last-used time"));
  }
  if (!txn.Commit()) return Unavailable("sqlite commit: " + txn.error());
  return Status::Ok();
}

}  // namespace shoal

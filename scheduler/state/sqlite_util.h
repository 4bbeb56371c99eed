// The two SQLite helpers the store's files share: a prepared statement finalized on scope exit
// and an IMMEDIATE transaction rolled back unless committed. Internal to scheduler/state/.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace shoal::sqlite_util {

// One statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr); }
  ~Stmt() { sqlite3_finalize(stmt_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  Stmt& Bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); return *this; }
  Stmt& Bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  int Step() { return sqlite3_step(stmt_); }
  int64_t Int(int col) { return sqlite3_column_int64(stmt_, col); }
  Stmt& BindDouble(int i, double v) { sqlite3_bind_double(stmt_, i, v); return *this; }
  double Double(int col) { return sqlite3_column_double(stmt_, col); }
  std::string Text(int col) {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(stmt_, col)) : "";
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

// Commits on Commit(); rolls back otherwise, so an error path never leaves half a write.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) {
    ok_ = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK;
  }
  ~Txn() {
    if (ok_ && !done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  bool ok() const { return ok_; }
  // Why Commit() failed.
  const std::string& error() const { return error_; }
  bool Commit() {
    done_ = true;
    if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK) return true;
    error_ = sqlite3_errmsg(db_);
    // A COMMIT that failed (busy, I/O error) may leave the transaction open: end it, so that
    // nothing of it is stored later and the next BEGIN works.
    if (sqlite3_get_autocommit(db_) == 0) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    return false;
  }

 private:
  sqlite3* db_;
  bool ok_ = false;
  bool done_ = false;
  std::string error_;
};

}  // namespace shoal::sqlite_util

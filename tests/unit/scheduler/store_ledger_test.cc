// Store's ledger (scheduler/state/store_ledger.cc): the undecayed totals round trip, the ledger's
// history (append, read, retention), and the migration of a ledger from before the totals.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>

#include "scheduler/state/store.h"

namespace shoal {
namespace {

class StoreLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-ledger-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Store> Open() {
    auto store = Store::Open(dir_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }
  std::string dir_;
};

LedgerEntry Entry(const std::string& account, double contributed, double used,
                  double total_contributed, double total_used) {
  LedgerEntry e;
  e.account = account;
  e.contributed = contributed;
  e.used = used;
  e.total_contributed = total_contributed;
  e.total_used = total_used;
  return e;
}

TEST_F(StoreLedgerTest, SavedTotalsLoadBack) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->SaveLedger({Entry("alice", 1, 2, 30, 40), Entry("bob", 0, 5, 0, 50)}).ok());
  ASSERT_TRUE(store->SaveLedger({Entry("alice", 2, 2, 31, 40)}).ok());  // replaces alice's row
  auto snap = store->LoadAll();
  ASSERT_TRUE(snap.ok()) << snap.status().ToString();
  ASSERT_EQ(snap->ledger.size(), 2u);
  EXPECT_EQ(snap->ledger[0].account, "alice");
  EXPECT_EQ(snap->ledger[0].contributed, 2);
  EXPECT_EQ(snap->ledger[0].total_contributed, 31);
  EXPECT_EQ(snap->ledger[0].total_used, 40);
  EXPECT_EQ(snap->ledger[1].total_used, 50);
}

TEST_F(StoreLedgerTest, HistoryAppendsReadsInOrderAndExpires) {
  auto store = Open();
  ASSERT_NE(store, nullptr);
  for (int64_t ts : {1000, 2000, 3000}) {
    const double x = static_cast<double>(ts);
    ASSERT_TRUE(
        store
            ->AppendLedgerHistory(ts, {Entry("bob", 1, 2, x, 0), Entry("alice", 3, 4, 2 * x, 1)}, 0)
            .ok());
  }
  auto rows = store->ReadLedgerHistory(2000, "", 100);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].ts_ms, 2000);
  EXPECT_EQ((*rows)[0].account, "alice");  // by time, then account
  EXPECT_EQ((*rows)[0].total_contributed, 4000);
  EXPECT_EQ((*rows)[0].total_used, 1);
  EXPECT_EQ((*rows)[0].contributed, 3);
  EXPECT_EQ((*rows)[0].used, 4);
  EXPECT_EQ((*rows)[1].account, "bob");
  EXPECT_EQ((*rows)[3].ts_ms, 3000);
  // One account's rows only.
  rows = store->ReadLedgerHistory(0, "bob", 100);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  for (const auto& r : *rows) EXPECT_EQ(r.account, "bob");
  // Past the limit: the newest rows, oldest first.
  rows = store->ReadLedgerHistory(0, "", 3);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].ts_ms, 2000);
  EXPECT_EQ((*rows)[0].account, "bob");
  EXPECT_EQ((*rows)[1].ts_ms, 3000);
  EXPECT_EQ((*rows)[1].account, "alice");
  EXPECT_EQ((*rows)[2].account, "bob");
  // Retention: appending with a cutoff deletes the older snapshots in the same transaction.
  ASSERT_TRUE(store->AppendLedgerHistory(9000, {Entry("alice", 0, 0, 1, 1)}, 2500).ok());
  rows = store->ReadLedgerHistory(0, "", 100);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_EQ((*rows)[0].ts_ms, 3000);
  EXPECT_EQ((*rows)[2].ts_ms, 9000);
  // The read-only connection the API uses reads them too.
  auto reader = Store::OpenReader(dir_);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  rows = (*reader)->ReadLedgerHistory(5000, "", 100);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].account, "alice");
}

// A database from before the totals: its ledger table has three columns and there is no history
// table. Opening it adds both; the totals start at the decayed sums.
TEST_F(StoreLedgerTest, MigratesALedgerFromBeforeTheTotals) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/shoal.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db,
                   "CREATE TABLE ledger (account TEXT PRIMARY KEY, contributed REAL NOT NULL, "
                   "used REAL NOT NULL);"
                   "INSERT INTO ledger VALUES('alice', 12.5, 3);",
                   nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  for (int open = 0; open < 2; ++open) {  // and a second open leaves it as it is
    auto store = Open();
    ASSERT_NE(store, nullptr);
    auto snap = store->LoadAll();
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    ASSERT_EQ(snap->ledger.size(), 1u);
    EXPECT_EQ(snap->ledger[0].account, "alice");
    EXPECT_EQ(snap->ledger[0].contributed, 12.5);
    EXPECT_EQ(snap->ledger[0].total_contributed, 12.5);
    EXPECT_EQ(snap->ledger[0].total_used, 3);
    ASSERT_TRUE(store->AppendLedgerHistory(1000, snap->ledger, 0).ok());
    ASSERT_TRUE(store->SaveLedger({Entry("alice", 12.5, 3, 12.5, 3)}).ok());
  }
  auto store = Open();
  auto rows = store->ReadLedgerHistory(0, "", 10);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(rows->size(), 2u);
}

}  // namespace
}  // namespace shoal

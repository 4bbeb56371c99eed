// Auth: the admin token is made once, only hashes are stored, tokens and revocations survive a
// restart, and bad names, roles and headers are refused with clear errors.
#include "scheduler/auth.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace shoal {
namespace {

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-auth-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    Reopen();
  }
  void TearDown() override {
    auth_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    auth_.reset();
    store_.reset();
    auto store = Store::Open(dir_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto auth = Auth::Load(store_.get(), [this] { return now_; });
    ASSERT_TRUE(auth.ok()) << auth.status().ToString();
    auth_ = std::move(auth).value();
  }
  // Every byte of the database files (the WAL included).
  std::string DatabaseBytes() const {
    std::string all;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) {
      std::ifstream in(e.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      all += ss.str();
    }
    return all;
  }

  std::string dir_;
  int64_t now_ = 1'000;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Auth> auth_;
};

TEST_F(AuthTest, FirstStartMakesOneAdminTokenAndStoresOnlyItsHash) {
  auto token = auth_->Bootstrap();
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  ASSERT_EQ(token->size(), 6u + 64u);
  EXPECT_EQ(token->rfind("shoal_", 0), 0u);
  auto p = auth_->Authenticate("Bearer " + *token);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->account, "admin");
  EXPECT_TRUE(p->admin());
  // A restart makes no second token, and the first still works.
  Reopen();
  auto again = auth_->Bootstrap();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, "");
  EXPECT_TRUE(auth_->Authenticate("Bearer " + *token).ok());
  EXPECT_EQ(auth_->Tokens("").size(), 1u);
  const std::string bytes = DatabaseBytes();
  EXPECT_EQ(bytes.find(token->substr(6)), std::string::npos) << "the plain token was stored";
  EXPECT_NE(bytes.find(HashToken(*token)), std::string::npos);
}

TEST_F(AuthTest, AProvidedAdminTokenIsUsedOnlyOnTheFirstStart) {
  const std::string mine = "my-cluster-secret-0123456789abcdef-xyz";
  EXPECT_EQ(auth_->Bootstrap("short").status().code(), StatusCode::kInvalidArgument);
  auto token = auth_->Bootstrap(mine + "\n");  // as `echo` writes it
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(*token, mine);
  EXPECT_TRUE(auth_->Authenticate("Bearer " + mine).ok());
  // Revoked, it stays revoked across a restart that is handed the same file.
  ASSERT_TRUE(auth_->Revoke(1).ok());
  Reopen();
  EXPECT_EQ(*auth_->Bootstrap(mine), "");
  EXPECT_EQ(auth_->Authenticate("Bearer " + mine).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(AuthTest, APreSharedWorkerTokenBecomesAContributorOnTheFirstStartOnly) {
  const std::string admin = "admin-secret-0123456789abcdef-0123456789";
  const std::string worker = "worker-secret-0123456789abcdef-012345678";
  EXPECT_EQ(auth_->Bootstrap(admin, admin, "cluster").status().code(),
            StatusCode::kInvalidArgument);  // the same secret for both roles
  EXPECT_EQ(auth_->Bootstrap(admin, worker, "Not A Label").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(auth_->Tokens("").empty());  // a refused bootstrap stores nothing
  ASSERT_TRUE(auth_->Bootstrap(admin, worker, "cluster").ok());
  auto p = auth_->Authenticate("Bearer " + worker);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->account, "cluster");
  EXPECT_EQ(p->role, Role::kContributor);
  Reopen();
  EXPECT_EQ(*auth_->Bootstrap(admin, "another-worker-secret-0123456789abcdef", "cluster"), "");
  EXPECT_EQ(auth_->Tokens("cluster").size(), 1u);
}

TEST_F(AuthTest, TokensOfEachRoleAndRevocationSurviveARestart) {
  ASSERT_TRUE(auth_->Bootstrap().ok());
  EXPECT_EQ(auth_->CreateToken("alice", Role::kUser, "").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(auth_->CreateAccount("alice").ok());
  EXPECT_EQ(auth_->CreateAccount("alice").code(), StatusCode::kAlreadyExists);
  auto user = auth_->CreateToken("alice", Role::kUser, "laptop");
  auto contrib = auth_->CreateToken("alice", Role::kContributor, "gpu box");
  ASSERT_TRUE(user.ok() && contrib.ok());
  EXPECT_NE(user->second, contrib->second);
  now_ = 2'000;
  ASSERT_TRUE(auth_->Revoke(user->first.id).ok());
  EXPECT_EQ(auth_->Revoke(user->first.id).status().code(), StatusCode::kNotFound);
  Reopen();
  EXPECT_EQ(auth_->Authenticate("Bearer " + user->second).status().message(),
            "token " + std::to_string(user->first.id) + " has been revoked");
  auto p = auth_->Authenticate("Bearer " + contrib->second);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->account, "alice");
  EXPECT_EQ(p->role, Role::kContributor);
  auto tokens = auth_->Tokens("alice");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].revoked_ms, 2'000);
  EXPECT_EQ(tokens[1].label, "gpu box");
  EXPECT_TRUE(auth_->HasAccount("alice"));
}

TEST_F(AuthTest, BadHeadersNamesAndRolesAreRefusedClearly) {
  ASSERT_TRUE(auth_->Bootstrap().ok());
  EXPECT_EQ(auth_->Authenticate("").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_->Authenticate("Basic abc").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_->Authenticate("Bearer ").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(auth_->Authenticate("Bearer " + std::string(300, 'x')).status().code(),
            StatusCode::kUnauthenticated);
  auto unknown = auth_->Authenticate("Bearer shoal_nope");
  EXPECT_EQ(unknown.status().message(), "unknown token");
  EXPECT_EQ(auth_->CreateAccount("Not A Label").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_->CreateAccount("").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(auth_->CreateAccount("bob").ok());
  EXPECT_EQ(auth_->CreateToken("bob", Role::kUser, std::string(201, 'l')).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseRole("root").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*ParseRole("contributor"), Role::kContributor);
}

TEST_F(AuthTest, ExpiredTokensAreRefusedAndTheExpirySurvivesARestart) {
  ASSERT_TRUE(auth_->CreateAccount("alice").ok());
  // The expiry must lie ahead.
  EXPECT_EQ(auth_->CreateToken("alice", Role::kUser, "", now_).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(auth_->CreateToken("alice", Role::kUser, "", -5).status().code(),
            StatusCode::kInvalidArgument);
  auto created = auth_->CreateToken("alice", Role::kUser, "laptop", now_ + 30'000);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string header = "Bearer " + created->second;
  auto forever = auth_->CreateToken("alice", Role::kUser, "ci");
  ASSERT_TRUE(forever.ok());
  EXPECT_EQ(forever->first.expires_ms, 0);
  now_ += 29'999;
  EXPECT_TRUE(auth_->Authenticate(header).ok());
  Reopen();
  EXPECT_EQ(auth_->FindToken(created->first.id)->expires_ms, 1'000 + 30'000);
  now_ += 1;  // the expiry itself is too late
  auto refused = auth_->Authenticate(header);
  ASSERT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("expired"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("1970-01-01T00:00:31Z"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(refused.status().message().find(created->second.substr(6)), std::string::npos);
  EXPECT_TRUE(auth_->FindToken(created->first.id)->expired(now_));
  // A token without an expiry goes on working, however late.
  now_ += 10LL * 365 * 86400 * 1000;
  EXPECT_TRUE(auth_->Authenticate("Bearer " + forever->second).ok());
}

TEST_F(AuthTest, LastUsedIsKeptInMemoryAndStoredAtMostOncePerInterval) {
  ASSERT_TRUE(auth_->CreateAccount("alice").ok());
  auto created = auth_->CreateToken("alice", Role::kUser, "");
  ASSERT_TRUE(created.ok());
  const int64_t id = created->first.id;
  const std::string header = "Bearer " + created->second;
  auto stored_last_used = [&] {
    auto rows = store_->LoadTokens();
    EXPECT_TRUE(rows.ok());
    for (const auto& r : *rows) {
      if (r.id == id) return r.last_used_ms;
    }
    return int64_t{-1};
  };
  EXPECT_EQ(auth_->FindToken(id)->last_used_ms, 0);
  now_ = 5'000;
  ASSERT_TRUE(auth_->Authenticate(header).ok());
  EXPECT_EQ(auth_->FindToken(id)->last_used_ms, 5'000);  // at once, in memory
  EXPECT_EQ(stored_last_used(), 0) << "authenticating wrote the database";
  // The first use is stored by the next flush; a refused request is not a use.
  ASSERT_EQ(*auth_->PersistLastUsed(), 1);
  EXPECT_EQ(stored_last_used(), 5'000);
  EXPECT_EQ(*auth_->PersistLastUsed(), 0);
  // Uses within the interval stay in memory: a heartbeat every few seconds costs no write.
  for (int i = 1; i <= 11; ++i) {
    now_ = 5'000 + i * 5'000;  // up to 55 s after the stored use
    ASSERT_TRUE(auth_->Authenticate(header).ok());
    ASSERT_EQ(*auth_->PersistLastUsed(), 0) << i;
  }
  EXPECT_EQ(stored_last_used(), 5'000);
  EXPECT_EQ(auth_->FindToken(id)->last_used_ms, 60'000);
  now_ = 65'000;  // a full interval after what is stored
  ASSERT_TRUE(auth_->Authenticate(header).ok());
  ASSERT_EQ(*auth_->PersistLastUsed(), 1);
  EXPECT_EQ(stored_last_used(), 65'000);
  // A restart keeps what was stored (the real SQLite file, reopened); what was only in memory
  // is lost unless flushed with all=true, as the daemon does at shutdown.
  now_ = 70'000;
  ASSERT_TRUE(auth_->Authenticate(header).ok());
  Reopen();
  EXPECT_EQ(auth_->FindToken(id)->last_used_ms, 65'000);
  now_ = 71'000;
  ASSERT_TRUE(auth_->Authenticate(header).ok());
  ASSERT_EQ(*auth_->PersistLastUsed(/*all=*/true), 1);
  Reopen();
  EXPECT_EQ(auth_->FindToken(id)->last_used_ms, 71'000);
  // Never backwards, even if a stale value were written.
  ASSERT_TRUE(store_->SaveTokensLastUsed({{id, 10}}).ok());
  EXPECT_EQ(stored_last_used(), 71'000);
}

TEST_F(AuthTest, ADatabaseFromBeforeExpiryGetsTheColumns) {
  auth_.reset();
  store_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  // The tokens table as it was before expiry and last-used times, with one token in it.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ + "/shoal.db").c_str(), &db), SQLITE_OK);
  const std::string hash = HashToken("shoal_old-token-0123456789abcdef0123456789");
  const std::string sql =
      "CREATE TABLE accounts (name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);"
      "CREATE TABLE tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT NOT NULL "
      "REFERENCES accounts(name), role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, label TEXT NOT "
      "NULL, created_ms INTEGER NOT NULL, revoked_ms INTEGER NOT NULL DEFAULT 0);"
      "INSERT INTO accounts VALUES('old', 1);"
      "INSERT INTO tokens(account, role, hash, label, created_ms) VALUES('old', 'user', '" +
      hash + "', 'from before', 1);";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  Reopen();
  const TokenInfo* t = auth_->FindToken(1);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->expires_ms, 0);
  EXPECT_EQ(t->last_used_ms, 0);
  auto p = auth_->Authenticate("Bearer shoal_old-token-0123456789abcdef0123456789");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->account, "old");
  ASSERT_EQ(*auth_->PersistLastUsed(), 1);
  Reopen();
  EXPECT_EQ(auth_->FindToken(1)->last_used_ms, now_);
}

}  // namespace
}  // namespace shoal

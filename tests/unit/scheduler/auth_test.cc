// Auth: the admin token is made once, only hashes are stored, tokens and revocations survive a
// restart, and bad names, roles and headers are refused with clear errors.
#include "scheduler/auth.h"

#include <gtest/gtest.h>
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

}  // namespace
}  // namespace shoal

#include "worker/agent/worker_name.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

namespace shoal {
namespace {

class WorkerNameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-worker-name-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(WorkerNameTest, TwoAgentsOnOneHostGetDifferentNames) {
  auto a = WorkerNameLock::Acquire("gpu-box", dir_);
  auto b = WorkerNameLock::Acquire("gpu-box", dir_);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(a->name(), "gpu-box-0");
  EXPECT_EQ(b->name(), "gpu-box-1");
  // Another host's names are independent.
  auto other = WorkerNameLock::Acquire("other", dir_);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->name(), "other-0");
}

TEST_F(WorkerNameTest, AReleasedIndexIsTakenAgain) {
  auto first = WorkerNameLock::Acquire("h", dir_);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::optional<WorkerNameLock> a(std::move(first).value());
  auto b = WorkerNameLock::Acquire("h", dir_);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->index(), 1);
  a.reset();  // the first agent exits
  auto c = WorkerNameLock::Acquire("h", dir_);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->name(), "h-0");
  // A moved-from lock does not release what it handed over.
  WorkerNameLock moved = std::move(c).value();
  auto d = WorkerNameLock::Acquire("h", dir_);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->index(), 2);
  EXPECT_EQ(moved.name(), "h-0");
}

TEST_F(WorkerNameTest, ALockHeldByAnotherProcessCountsAndDiesWithIt) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto held = WorkerNameLock::Acquire("h", dir_);
    char c = held.ok() ? 'y' : 'n';
    (void)!::write(ready[1], &c, 1);
    ::pause();  // until killed: the lock goes with the process
    std::_Exit(0);
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ASSERT_EQ(c, 'y');
  auto mine = WorkerNameLock::Acquire("h", dir_);
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(mine->name(), "h-1");
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  auto again = WorkerNameLock::Acquire("h", dir_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->name(), "h-0");
}

TEST_F(WorkerNameTest, AllTakenIsUnavailable) {
  auto a = WorkerNameLock::Acquire("h", dir_, 2);
  auto b = WorkerNameLock::Acquire("h", dir_, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  auto c = WorkerNameLock::Acquire("h", dir_, 2);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace shoal

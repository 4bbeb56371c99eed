// Spawning, output capture, signalling and reaping of rank processes.
#include "worker/agent/process.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace shoal {
namespace {

std::string ReadAll(int fd) {
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
  ::close(fd);
  return out;
}

TEST(ProcessTest, CapturesStdoutAndStderrAndExitCode) {
  auto p = Spawn({{"/bin/sh", "-c", "echo out; echo err >&2; echo $SHOAL_X; exit 3"},
                  {{"SHOAL_X", "env-ok"}}, "/tmp", ""});
  ASSERT_TRUE(p.ok());
  std::string out = ReadAll(p->output_fd);
  ExitInfo info = WaitForExit(p->pid);
  EXPECT_EQ(info.exit_code, 3);
  EXPECT_EQ(info.signal, 0);
  EXPECT_NE(out.find("out\n"), std::string::npos);
  EXPECT_NE(out.find("err\n"), std::string::npos);
  EXPECT_NE(out.find("env-ok"), std::string::npos);
}

TEST(ProcessTest, SignalGroupKillsTheWholeGroup) {
  // The shell's child (sleep) must die too: ranks may spawn helpers.
  auto p = Spawn({{"/bin/sh", "-c", "sleep 30 & wait"}, {}, "", ""});
  ASSERT_TRUE(p.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  SignalGroup(p->pid, SIGTERM);
  ExitInfo info = WaitForExit(p->pid);
  EXPECT_EQ(info.signal, SIGTERM);
  EXPECT_EQ(info.exit_code, 128 + SIGTERM);
  EXPECT_EQ(ReadAll(p->output_fd), "");  // EOF arrives only when the sleep is gone too
}

TEST(ProcessTest, MissingExecutableExits127WithAMessage) {
  auto p = Spawn({{"/nonexistent/shoal-train"}, {}, "", ""});
  ASSERT_TRUE(p.ok());
  std::string out = ReadAll(p->output_fd);
  EXPECT_EQ(WaitForExit(p->pid).exit_code, 127);
  EXPECT_NE(out.find("cannot execute"), std::string::npos);
}

TEST(ProcessTest, TryReapReportsRunningThenExited) {
  auto p = Spawn({{"/bin/sh", "-c", "sleep 0.2"}, {}, "", ""});
  ASSERT_TRUE(p.ok());
  ExitInfo info;
  EXPECT_FALSE(TryReap(p->pid, &info));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  bool reaped = false;
  while (!reaped && std::chrono::steady_clock::now() < deadline) {
    reaped = TryReap(p->pid, &info);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(reaped);
  EXPECT_EQ(info.exit_code, 0);
  ::close(p->output_fd);
}

}  // namespace
}  // namespace shoal

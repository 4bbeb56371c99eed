// Two shoal-worker processes on one host without --name: each takes its own "HOST-N" (the bug
// was that both took the host name and so one worker id). Real scheduler and workers on
// 127.0.0.1; the workers' lock directory is the test's own ($XDG_RUNTIME_DIR), so other agents on
// the machine do not matter. Processes are killed when the test ends.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/cluster.h"

namespace shoal {
namespace {

using namespace std::chrono_literals;
using testing::Cluster;
using testing::Process;

TEST(WorkerNamesTest, TwoUnnamedWorkersOnOneHostGetDistinctNames) {
  Cluster c;
  c.StartScheduler();
  const std::string run_dir = c.dir() + "/run";
  std::filesystem::create_directories(run_dir);
  const std::string token_file = c.dir() + "/unnamed.token";
  std::ofstream(token_file) << c.CreateToken("pool", "contributor") << "\n";
  char host[256] = {0};
  ASSERT_EQ(::gethostname(host, sizeof(host) - 1), 0);

  std::vector<std::unique_ptr<Process>> workers;
  for (int i = 0; i < 2; ++i) {
    const std::string work = c.dir() + "/unnamed-" + std::to_string(i);
    workers.push_back(std::make_unique<Process>(
        std::vector<std::string>{"/usr/bin/env", "XDG_RUNTIME_DIR=" + run_dir, SHOAL_WORKER_BIN,
                                 "--scheduler", c.url(), "--token-file", token_file, "--no-gpu",
                                 "--threads-per-rank", "1", "--trainer", SHOAL_TRAIN_BIN,
                                 "--work-dir", work},
        work + ".log"));
    ASSERT_TRUE(workers.back()->Start());
  }
  std::set<std::string> names;
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] {
        names.clear();
        for (const auto& w : c.Workers()) names.insert(w.value("name", ""));
        return names.size() == 2;
      },
      20s))
      << "workers: " << c.Workers().dump();
  EXPECT_EQ(names, std::set<std::string>({std::string(host) + "-0", std::string(host) + "-1"}));
  for (auto& w : workers) EXPECT_TRUE(w->running()) << w->log_file();
}

// A worker killed and started again at once (same --name, same --work-dir, so the same agent-id)
// takes its name back without waiting out the scheduler's worker timeout (30 s here), where it
// used to be refused (409, exit 2) until then. A second agent on a running agent's work
// directory is refused (exit 2), so two live agents never share one id.
TEST(WorkerNamesTest, ARestartedWorkerTakesItsNameBackAtOnce) {
  Cluster c;
  c.StartScheduler({"--worker-timeout", "30s", "--heartbeat-wait", "5s"});
  Process* first = c.StartWorker("w1");
  auto registered_ms = [&]() -> int64_t {
    for (const auto& w : c.Workers()) {
      if (w.value("name", "") == "w1" && w.value("state", "") == "alive") {
        return w.value("registeredMs", int64_t{0});
      }
    }
    return 0;
  };
  ASSERT_TRUE(Cluster::WaitUntil([&] { return registered_ms() > 0; }, 20s)) << c.Workers().dump();
  const int64_t before = registered_ms();
  const std::string token_file = c.dir() + "/w2.token";
  std::ofstream(token_file) << c.CreateToken("pool", "contributor") << "\n";
  Process intruder(
      {SHOAL_WORKER_BIN, "--scheduler", c.url(), "--name", "w2", "--token-file", token_file,
       "--no-gpu", "--trainer", SHOAL_TRAIN_BIN, "--work-dir", c.dir() + "/w1"},
      c.dir() + "/intruder.log");
  ASSERT_TRUE(intruder.Start());
  EXPECT_EQ(intruder.Wait(20s), 2);
  std::ifstream log(intruder.log_file());
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("another running agent uses it"), std::string::npos) << text;

  first->Signal(SIGKILL);
  first->Wait(10s);
  const auto restart = std::chrono::steady_clock::now();
  Process* second = c.StartWorker("w1");
  ASSERT_TRUE(Cluster::WaitUntil([&] { return registered_ms() > before; }, 20s))
      << c.Workers().dump();
  EXPECT_LT(std::chrono::steady_clock::now() - restart, 15s);
  EXPECT_TRUE(second->running()) << second->log_file();
  EXPECT_EQ(c.Workers().size(), 1u) << c.Workers().dump();  // the same worker, not a new one
}

}  // namespace
}  // namespace shoal

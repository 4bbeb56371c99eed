// Two shoal-worker processes on one host without --name: each takes its own "HOST-N" (the bug
// was that both took the host name and so one worker id). Real scheduler and workers on
// 127.0.0.1; the workers' lock directory is the test's own ($XDG_RUNTIME_DIR), so other agents on
// the machine do not matter. Processes are killed when the test ends.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
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

}  // namespace
}  // namespace shoal

// Memory admission end to end (docs/design.md §9): a worker that lends 300 MiB of RAM; a model
// whose estimate exceeds that stays PENDING (Constraint) with the numbers, and a job whose
// trainer really uses more than its limit (a data set larger than the estimate allows for) is
// killed by the worker's watchdog and FAILS with OutOfMemory after one attempt, the worker still
// up.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Writes a .npy array: `descr` ('|u1', '<i4'), `shape` as the Python tuple text, then the bytes
// produced by `fill(i)` for every element.
void WriteNpy(const std::string& path, const std::string& descr, const std::string& shape,
              int64_t elements, int elem_size, int (*value)(int64_t)) {
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  out.put(static_cast<char>(len & 0xff)).put(static_cast<char>(len >> 8));
  out << header;
  std::string chunk;
  for (int64_t i = 0; i < elements; ++i) {
    const int v = value(i);
    for (int b = 0; b < elem_size; ++b) chunk.push_back(static_cast<char>((v >> (8 * b)) & 0xff));
    if (chunk.size() >= (1 << 20)) {
      out << chunk;
      chunk.clear();
    }
  }
  out << chunk;
  ASSERT_TRUE(out.good()) << path;
}

std::string Job(const std::string& name, const std::string& layers, const std::string& data) {
  return "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: " + name +
         "}\nspec:\n"
         "  workers: {min: 1, max: 1}\n  resources: {backend: cpu, gpusPerWorker: 0}\n"
         "  model: {layers: " +
         layers +
         "}\n"
         "  data: {train: " +
         data +
         ", format: npy, normalize: false}\n"
         "  optimizer: {kind: sgd, lr: 0.01}\n  training: {epochs: 20, batchSize: 64}\n"
         "  limits: {maxRetries: 3, maxRuntime: 5m}\n";
}

TEST(MemoryLimitTest, TooLargeWaitsAndOverTheLimitFailsWithOutOfMemoryOnce) {
  Cluster c;
  c.StartScheduler();
  // 131,072 samples x 784 bytes: 103 MB on disk, 411 MB as the trainer's float32 features.
  const std::string data = c.dir() + "/data/big";
  std::filesystem::create_directories(c.dir() + "/data");
  constexpr int64_t kSamples = 131072, kDim = 784;
  WriteNpy(data + ".x.npy", "|u1", "(131072, 784)", kSamples * kDim, 1,
           [](int64_t i) { return static_cast<int>(i % 251); });
  WriteNpy(data + ".y.npy", "<i4", "(131072,)", kSamples, 4,
           [](int64_t i) { return static_cast<int>(i % 10); });
  Process* worker =
      c.StartWorker("w1", {"--memory-limit", "300M", "--data-root", c.dir() + "/data"});
  ASSERT_TRUE(Cluster::WaitUntil([&] { return c.Workers().size() == 1; }, 20s));
  const json w = c.Workers()[0];
  EXPECT_EQ(w.value("memoryLentBytes", int64_t{0}), int64_t{300} << 20) << w.dump();
  EXPECT_GT(w.value("memoryBytes", int64_t{0}), int64_t{300} << 20) << w.dump();

  // (a) 784-8192-10: ~6.5 M parameters, ~440 MiB per rank: more than the 300 MiB slot.
  const int64_t big = c.Submit(Job("too-big", "[784, 8192, 10]", data));
  ASSERT_TRUE(
      Cluster::WaitUntil([&] { return c.Job(big).value("reason", "") == "Constraint"; }, 20s))
      << c.Job(big).dump(2);
  const json pending = c.Job(big);
  EXPECT_EQ(pending["state"], "PENDING");
  const std::string message = pending.value("reasonMessage", "");
  EXPECT_NE(message.find("MiB of RAM per rank; the largest worker lends 300.0 MiB per slot"),
            std::string::npos)
      << message;

  // (b) 784-32-10 is estimated at ~257 MiB (fits the slot; limit 300 MiB), but its data set
  // alone is 411 MB once loaded: the watchdog kills it, and that is not retried.
  const int64_t oom = c.Submit(Job("over-limit", "[784, 32, 10]", data));
  ASSERT_TRUE(c.WaitForState(oom, "FAILED", 120s)) << c.Job(oom).dump(2);
  const json failed = c.Job(oom);
  EXPECT_EQ(failed.value("attempts", 0), 1) << failed.dump(2);
  const std::string reason = failed.value("reason", "");
  EXPECT_EQ(reason.rfind("OutOfMemory: rank 0 on worker", 0), 0u) << failed.dump(2);
  EXPECT_NE(reason.find("over its limit of 300.0 MiB"), std::string::npos) << reason;
  // The worker survived and is still in the pool; the too-large job still waits.
  EXPECT_TRUE(worker->running());
  EXPECT_EQ(c.Workers()[0].value("state", ""), "alive");
  EXPECT_EQ(c.Job(big)["state"], "PENDING");
  EXPECT_TRUE(c.TrainerPids().empty());
  if (HasFailure()) c.DumpLogs();
}

}  // namespace
}  // namespace shoal::testing

// Group commit against a real shoal-scheduler: under concurrent submissions a kill -9 at any
// moment leaves every acknowledged job stored, no id twice, nothing beyond what was in flight, and
// new ids after the restart continue after every stored one.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

TEST(ApiDurabilityTest, KillNineDuringConcurrentSubmissionsKeepsExactlyTheAcknowledgedJobs) {
  Cluster c;
  c.StartScheduler();
  const std::string tiny = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  constexpr int kClients = 16;
  std::mutex mu;
  std::set<int64_t> acked;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&] {
      HttpClient http(c.url(), std::chrono::seconds(5));
      while (!stop) {
        auto r = http.Do("POST", "/v1/jobs", tiny, "application/yaml");
        if (!r.ok()) continue;  // the scheduler died under it: not acknowledged
        if (r->status != 201) {
          ++bad;
          continue;
        }
        auto j = nlohmann::json::parse(r->body, nullptr, false);
        std::lock_guard<std::mutex> lock(mu);
        if (!acked.insert(j.value("id", int64_t{0})).second) ++bad;  // an id acknowledged twice
      }
    });
  }
  // Let batches form, then kill it in the middle of them.
  ASSERT_TRUE(Cluster::WaitUntil(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return acked.size() >= 200;
      },
      std::chrono::seconds(60)));
  c.KillScheduler(SIGKILL);
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(bad.load(), 0);

  c.StartScheduler();
  auto list = c.client().DoJson("GET", "/v1/jobs");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::multiset<int64_t> stored;
  for (const auto& j : (*list)["jobs"]) stored.insert(j["id"].get<int64_t>());
  std::set<int64_t> unique(stored.begin(), stored.end());
  EXPECT_EQ(unique.size(), stored.size()) << "an id is stored twice";
  for (int64_t id : acked) EXPECT_TRUE(unique.count(id)) << "acknowledged job " << id << " lost";
  // Committed but not yet acknowledged when the process died: at most the batch in flight.
  EXPECT_LE(stored.size(), acked.size() + kClients);
  int64_t next = c.Submit(tiny);
  EXPECT_GT(next, *unique.rbegin());
}

}  // namespace
}  // namespace shoal::testing

// Group commit against a real shoal-scheduler: under concurrent submissions a kill -9 at any
// moment leaves every acknowledged job stored, no id twice, nothing beyond what was in flight, and
// new ids after the restart continue after every stored one.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <map>
#include <random>
#include <unistd.h>
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
      http.SetDefaultHeader("Authorization", "Bearer " + c.admin_token());
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


// Issue 5's fault (b): the scheduler is killed with SIGKILL 5 times at random moments while 4
// clients submit 200 jobs, each with its own Idempotency-Key and retried until acknowledged
// (what `shoal submit` does). Afterwards exactly those 200 jobs exist, each once.
TEST(ApiDurabilityTest, FiveKillNinesDuring200RetriedSubmissionsLeaveEachJobExactlyOnce) {
  Cluster c;
  c.StartScheduler();
  // Restarts keep the port, so the clients' URL stays valid.
  const std::string url = c.url();
  const std::string port = url.substr(url.rfind(':') + 1);
  const std::string tiny = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  constexpr int kClients = 4, kPerClient = 50, kKills = 5;
  std::mutex mu;
  std::map<std::string, int64_t> acked;  // key -> id
  std::atomic<int> bad{0}, retries{0};
  std::atomic<int> done_clients{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kClients; ++t) {
    clients.emplace_back([&, t] {
      HttpClient http(url, std::chrono::seconds(5));
      http.SetDefaultHeader("Authorization", "Bearer " + c.admin_token());
      for (int i = 0; i < kPerClient; ++i) {
        const std::string key = "client" + std::to_string(t) + "-job" + std::to_string(i);
        for (int attempt = 0;; ++attempt) {
          auto r = http.Do("POST", "/v1/jobs", tiny, "application/yaml",
                           std::chrono::milliseconds(0), {{"Idempotency-Key", key}});
          if (r.ok() && r->status == 201) {
            auto j = nlohmann::json::parse(r->body, nullptr, false);
            std::lock_guard<std::mutex> lock(mu);
            acked[key] = j.value("id", int64_t{0});
            // Paced, so that the submissions span every kill (about 3 s in all).
            std::this_thread::sleep_for(std::chrono::milliseconds(60));
            break;
          }
          if (r.ok() && r->status != 503) {
            ++bad;  // anything but "not now" is a bug
            break;
          }
          ++retries;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          if (attempt > 3000) {
            ++bad;
            break;
          }
        }
      }
      ++done_clients;
    });
  }
  std::mt19937 rng(static_cast<unsigned>(::getpid()));
  std::uniform_int_distribution<int> pause_ms(30, 400);
  int kills = 0;
  for (; kills < kKills && done_clients.load() < kClients; ++kills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(rng)));
    c.KillScheduler(SIGKILL);
    c.StartScheduler({"--port", port});
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(kills, kKills) << "the clients finished before every kill: make them slower";
  ASSERT_EQ(acked.size(), static_cast<size_t>(kClients * kPerClient));
  auto list = c.client().DoJson("GET", "/v1/jobs");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::multiset<int64_t> stored;
  for (const auto& j : (*list)["jobs"]) stored.insert(j["id"].get<int64_t>());
  std::set<int64_t> acked_ids;
  for (const auto& [key, id] : acked) acked_ids.insert(id);
  EXPECT_EQ(acked_ids.size(), acked.size()) << "two keys were acknowledged with one id";
  EXPECT_EQ(std::set<int64_t>(stored.begin(), stored.end()), acked_ids);
  EXPECT_EQ(stored.size(), acked_ids.size()) << "a job is stored twice";
  std::printf("[fault] %d kill -9s during %d submissions from %d clients: %zu jobs stored, %d "
              "retried requests, none lost or duplicated\n",
              kills, kClients * kPerClient, kClients, stored.size(), retries.load());
}

}  // namespace
}  // namespace shoal::testing

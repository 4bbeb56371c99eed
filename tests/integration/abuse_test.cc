// Quotas against a real shoal-scheduler on 127.0.0.1 (issue 12 items 6 and 7): an account's
// unfinished jobs, spec size, checkpoint bytes; a job's log cap; and /healthz staying fast while
// clients page through a large log. Bounded in time and count; prints the figures it measures.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "common/safetensors.h"
#include "common/sha256.h"
#include "common/file_util.h"
#include "tests/integration/cluster.h"

namespace shoal::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// tiny-mlp with epochs raised so that it runs until cancelled, when it runs at all.
std::string LongTinySpec() {
  std::string s = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  s.replace(s.find("epochs: 1,"), 10, "epochs: 9999,");
  return s;
}

// A fake worker of the admin's: registers, holds what it is given, and heartbeats on a thread
// (the cluster's worker timeout is 3 s), so that a test can post events as a running rank.
class FakeWorker {
 public:
  FakeWorker(Cluster& c, const std::string& name) : client_(c.client()) {
    json reg = {
        {"name", name}, {"host", "fake"}, {"slots", 1}, {"cpus", 2}, {"gpus", json::array()}};
    auto r = client_.DoJson("POST", "/v1/workers/register", &reg);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) id_ = (*r)["id"];
    beat_ = std::thread([this] {
      json running = json::array();
      while (!stop_) {
        json body = {{"running", running}};
        auto r = client_.DoJson("POST", "/v1/workers/" + id_ + "/heartbeat?wait=200", &body);
        if (r.ok() && r->contains("assignments")) {
          running = json::array();
          for (const auto& a : (*r)["assignments"]) {
            running.push_back({{"job", a["job"]}, {"attempt", a["attempt"]}, {"rank", a["rank"]}});
          }
        }
        std::this_thread::sleep_for(300ms);
      }
    });
  }
  ~FakeWorker() {
    stop_ = true;
    beat_.join();
  }
  const std::string& id() const { return id_; }
  Status Log(int64_t job, const std::vector<std::string>& lines) {
    json body = {
        {"events",
         json::array(
             {{{"type", "log"}, {"job", job}, {"attempt", 1}, {"rank", 0}, {"lines", lines}}})}};
    return client_.DoJson("POST", "/v1/workers/" + id_ + "/events", &body).status();
  }

 private:
  HttpClient client_;
  std::string id_;
  std::atomic<bool> stop_{false};
  std::thread beat_;
};

TEST(AbuseTest, AccountsCannotQueueWithoutBoundNorStoreHugeSpecs) {
  Cluster c;
  c.StartScheduler({"--max-active-jobs", "3", "--max-spec-bytes", "8KiB"});
  const HttpClient alice = c.client(c.CreateToken("alice", "user"));
  const std::string spec = Cluster::ReadRepoFile("configs/jobs/tiny-mlp.yaml");
  for (int i = 0; i < 3; ++i) {
    auto r = alice.Do("POST", "/v1/jobs", spec, "application/yaml");
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 201) << r->body;
  }
  auto over = alice.Do("POST", "/v1/jobs", spec, "application/yaml");
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->status, 429) << over->body;
  EXPECT_NE(over->body.find("maxActiveJobs"), std::string::npos) << over->body;
  // Another account is not affected; cancelling frees a place.
  auto bob =
      c.client(c.CreateToken("bob", "user")).Do("POST", "/v1/jobs", spec, "application/yaml");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->status, 201) << bob->body;
  auto jobs = alice.DoJson("GET", "/v1/jobs");
  ASSERT_TRUE(jobs.ok());
  ASSERT_EQ((*jobs)["jobs"].size(), 3u);
  ASSERT_TRUE(alice.DoJson("DELETE", "/v1/jobs/" + (*jobs)["jobs"][0]["id"].dump()).ok());
  auto again = alice.Do("POST", "/v1/jobs", spec, "application/yaml");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 201) << again->body;
  // A 1 MiB comment is refused before it is read, not stored.
  auto huge = c.client().Do("POST", "/v1/jobs", "# " + std::string(1 << 20, 'x') + "\n" + spec,
                            "application/yaml");
  ASSERT_TRUE(huge.ok());
  EXPECT_EQ(huge->status, 413) << huge->body.substr(0, 200);
  auto all = c.client().DoJson("GET", "/v1/jobs");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ((*all)["jobs"].size(), 5u);
}

TEST(AbuseTest, CheckpointsAreCappedPerAccountAndDeletedOnRequest) {
  Cluster c;
  c.StartScheduler({"--checkpoint-quota", "64KiB"});
  FakeWorker w(c, "fake1");
  const int64_t job = c.Submit(LongTinySpec());
  ASSERT_TRUE(c.WaitForState(job, "RUNNING", 20s));
  // A valid checkpoint of 40,000 floats (160 KB): over the 64 KiB quota.
  const std::string path = c.dir() + "/ckpt.safetensors";
  auto upload = [&](int n, int64_t step) {
    std::vector<float> v(n, 0.5f);
    EXPECT_TRUE(WriteSafetensors(path, {{"w", {n}, v.data()}}, {}).ok());
    const std::string bytes = *ReadFileLimited(path, 1 << 24);
    return c.client().Do("PUT",
                         "/v1/jobs/" + std::to_string(job) + "/checkpoints/" +
                             std::to_string(step) + "?attempt=1&worker=" + w.id(),
                         bytes, "application/octet-stream", 10s,
                         {{"X-Shoal-Sha256", Sha256Hex(bytes)}});
  };
  auto big = upload(40000, 1);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->status, 507) << big->body;
  EXPECT_NE(big->body.find("checkpointQuota"), std::string::npos) << big->body;
  auto small = upload(1000, 2);  // 4 KB: fits
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->status, 201) << small->body;
  const json detail = c.Job(job);
  EXPECT_NE(detail.dump().find("refused: account"), std::string::npos)
      << "the refusal is on the job's timeline";
  // Deleting: not while it runs; then the owner frees the space.
  const std::string target = "/v1/jobs/" + std::to_string(job) + "/checkpoints";
  auto early = c.client().Do("DELETE", target);
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->status, 409) << early->body;
  ASSERT_TRUE(c.client().DoJson("DELETE", "/v1/jobs/" + std::to_string(job)).ok());
  auto removed = c.client().DoJson("DELETE", target);
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  auto list = c.client().DoJson("GET", target);
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE((*list)["checkpoints"].empty()) << list->dump();
}

TEST(AbuseTest, AnAuthorisedUploadGoesToDiskNotMemory) {
  Cluster c;
  c.StartScheduler();
  FakeWorker w(c, "fake1");
  const int64_t job = c.Submit(LongTinySpec());
  ASSERT_TRUE(c.WaitForState(job, "RUNNING", 20s));
  // A valid 256 MiB checkpoint (64 Mi floats), uploaded by rank 0's worker (here: the admin).
  const std::string path = c.dir() + "/big.safetensors";
  {
    std::vector<float> v(size_t{64} << 20, 0.25f);
    ASSERT_TRUE(
        WriteSafetensors(path, {{"w", {static_cast<int64_t>(v.size())}, v.data()}}, {}).ok());
  }
  std::string bytes = *ReadFileLimited(path, int64_t{1} << 30);
  const std::string sha = Sha256Hex(bytes);
  const double rss_before = Cluster::RssMiB(c.scheduler()->pid());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = c.client().Do(
      "PUT", "/v1/jobs/" + std::to_string(job) + "/checkpoints/7?attempt=1&worker=" + w.id(), bytes,
      "application/octet-stream", 120s, {{"X-Shoal-Sha256", sha}});
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 201) << r->body;
  const double grown = Cluster::RssMiB(c.scheduler()->pid()) - rss_before;
  std::printf(
      "an authorised 256 MiB checkpoint upload: stored in %.2f s, scheduler RSS grew "
      "%.1f MiB\n",
      sec, grown);
  EXPECT_LT(grown, 64.0) << "the upload was held in memory";
  // Stored whole: it reads back with the same hash, and a wrong claimed hash is refused.
  auto back = c.client().Do("GET", "/v1/jobs/" + std::to_string(job) + "/checkpoints/7", {},
                            "application/json", 120s);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->status, 200);
  EXPECT_EQ(Sha256Hex(back->body), sha);
  back->body.clear();
  auto wrong = c.client().Do(
      "PUT", "/v1/jobs/" + std::to_string(job) + "/checkpoints/8?attempt=1&worker=" + w.id(), bytes,
      "application/octet-stream", 120s, {{"X-Shoal-Sha256", std::string(64, '0')}});
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 400) << wrong->body;
  EXPECT_NE(wrong->body.find("checksum mismatch"), std::string::npos) << wrong->body;
}

TEST(AbuseTest, ALargeLogIsCappedAndReadingItDoesNotStallTheApi) {
  Cluster c;
  c.StartScheduler({"--job-log-bytes", "24MiB"});
  FakeWorker w(c, "fake1");
  const int64_t job = c.Submit(LongTinySpec());
  ASSERT_TRUE(c.WaitForState(job, "RUNNING", 20s));
  // 32 MB of log in 36 posts of 90 lines of 10,000 bytes: a third over the cap.
  for (int post = 0; post < 36; ++post) {
    std::vector<std::string> lines;
    for (int i = 0; i < 90; ++i) {
      std::string n = std::to_string(post * 90 + i) + " ";
      lines.push_back(n + std::string(10000 - n.size(), 'x'));
    }
    Status st = w.Log(job, lines);
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  // Four clients page through the whole log (8 MiB pages) over and over, while /healthz is
  // timed (a heartbeat waits in the same queue).
  const std::string logs =
      "/v1/jobs/" + std::to_string(job) + "/logs?limit=10000&maxBytes=" + std::to_string(8 << 20);
  std::atomic<bool> stop{false};
  std::atomic<int64_t> pages{0}, bytes_read{0}, first_seq{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      const HttpClient client = c.client();
      while (!stop) {
        int64_t after = 0;
        for (;;) {
          auto page = client.Do("GET", logs + "&after=" + std::to_string(after), {},
                                "application/json", 30s);
          if (!page.ok() || page->status != 200) return;
          const json j = json::parse(page->body);
          ++pages;
          bytes_read += static_cast<int64_t>(page->body.size());
          if (after == 0 && !j["lines"].empty()) first_seq = j["lines"][0]["rank"].get<int64_t>();
          if (j["lines"].empty() || stop) break;
          after = j["next"];
        }
      }
    });
  }
  const HttpClient probe(c.url(), 10s);
  std::vector<double> ms;
  const auto end = std::chrono::steady_clock::now() + 6s;
  while (std::chrono::steady_clock::now() < end) {
    const auto t0 = std::chrono::steady_clock::now();
    auto h = probe.Do("GET", "/healthz");
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_TRUE(h.ok() && h->status == 200);
    std::this_thread::sleep_for(20ms);
  }
  stop = true;
  for (auto& t : readers) t.join();
  std::sort(ms.begin(), ms.end());
  const double p50 = ms[ms.size() / 2], p99 = ms[ms.size() * 99 / 100], worst = ms.back();
  std::printf(
      "/healthz while 4 clients read a 24 MiB log: %zu probes, p50 %.1f ms, p99 %.1f ms, max "
      "%.1f ms; readers got %lld pages, %.0f MB\n",
      ms.size(), p50, p99, worst, static_cast<long long>(pages.load()),
      static_cast<double>(bytes_read.load()) / 1e6);
  EXPECT_GT(pages.load(), 4) << "the readers read nothing";
  // A bound far above the measured figure (it was 18.9 s before reads left the loop); the
  // figure itself is the printed p99.
  EXPECT_LT(p99, 1000.0);
  // The log was capped, its oldest lines replaced by the scheduler's marker (rank -1).
  EXPECT_EQ(first_seq.load(), -1);
  auto tail = c.client().DoJson("GET", "/v1/jobs/" + std::to_string(job) + "/logs?tail=1");
  ASSERT_TRUE(tail.ok());
  const std::string last = (*tail)["lines"][0]["line"];
  EXPECT_EQ(last.substr(0, 5), "3239 ") << "the newest line is kept";
}

}  // namespace
}  // namespace shoal::testing

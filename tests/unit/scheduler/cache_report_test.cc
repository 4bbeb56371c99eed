// Placement by cached chunks, scheduler side: the heartbeat's "cached"/"cache" (parsing, good and
// bad), the Worker record and its snapshot, the job's pins in its snapshot, the per-rank fetched
// bytes a worker reports (stored, shown, kept across a restart) and the cache metrics.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/wire/cache_report.h"
#include "scheduler/api/views.h"
#include "scheduler/metrics.h"
#include "scheduler/policy/placement.h"
#include "scheduler/scheduler_internal.h"
#include "tests/testing/test_util.h"
#include "tests/unit/scheduler/scheduler_fixture.h"

namespace shoal {
namespace {

using nlohmann::json;

const std::string kDigestA(64, 'a');
const std::string kDigestB(64, 'b');

TEST(CacheReportTest, ParsesAGoodReportAndAnAbsentOne) {
  auto none = wire::ParseCacheReport(json{{"running", json::array()}});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->cached.empty());
  EXPECT_FALSE(none->has_stats);

  const json body = {
      {"cached", {{{"digest", kDigestA}, {"bytes", 100}}, {{"digest", kDigestB}, {"bytes", 0}}}},
      {"cache", {{"hits", 3}, {"misses", 4}, {"bytes", 5}, {"maxBytes", 6}}}};
  auto r = wire::ParseCacheReport(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->cached.size(), 2u);
  EXPECT_EQ(r->cached[0].digest, kDigestA);
  EXPECT_EQ(r->cached[0].bytes, 100);
  EXPECT_TRUE(r->has_stats);
  EXPECT_EQ(r->stats.hits, 3);
  EXPECT_EQ(r->stats.misses, 4);
  EXPECT_EQ(r->stats.bytes, 5);
  EXPECT_EQ(r->stats.max_bytes, 6);
  // What the agent sends reads back the same.
  json again;
  wire::AddCacheReport(*r, &again);
  EXPECT_EQ(wire::ParseCacheReport(again).value(), *r);
  // Stats keys are each optional.
  auto partial = wire::ParseCacheReport(json{{"cache", {{"hits", 1}}}});
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->stats.hits, 1);
  EXPECT_EQ(partial->stats.max_bytes, 0);
}

TEST(CacheReportTest, RefusesBadValues) {
  const json bad[] = {
      {{"cached", "x"}},
      {{"cached", {{{"digest", kDigestA}}}}},                            // no bytes
      {{"cached", {{{"digest", "sha256:" + kDigestA}, {"bytes", 1}}}}},  // not 64 hex digits
      {{"cached", {{{"digest", std::string(64, 'A')}, {"bytes", 1}}}}},  // upper case
      {{"cached", {{{"digest", kDigestA}, {"bytes", -1}}}}},
      {{"cached", {{{"digest", kDigestA}, {"bytes", 1.5}}}}},
      {{"cached", {{{"digest", kDigestA}, {"bytes", "1"}}}}},
      {{"cached", {{{"digest", kDigestA}, {"bytes", 1}}, {{"digest", kDigestA}, {"bytes", 2}}}}},
      {{"cached", {1}}},
      {{"cache", "x"}},
      {{"cache", {{"hits", -1}}}},
      {{"cache", {{"maxBytes", "9"}}}},
      {{"cache", {{"bytes", 18446744073709551615u}}}},
  };
  for (const json& body : bad) {
    auto r = wire::ParseCacheReport(body);
    ASSERT_FALSE(r.ok()) << body.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << body.dump();
  }
  // Bounded: kMaxCachedVersions, not one more.
  json many = json::array();
  for (size_t i = 0; i <= wire::kMaxCachedVersions; ++i) {
    char hex[65];
    std::snprintf(hex, sizeof hex, "%064zx", i);
    many.push_back({{"digest", hex}, {"bytes", 1}});
  }
  EXPECT_FALSE(wire::ParseCacheReport(json{{"cached", many}}).ok());
  many.erase(many.end() - 1);
  EXPECT_TRUE(wire::ParseCacheReport(json{{"cached", many}}).ok());
}

TEST(CacheReportTest, FetchedBytesOnAnyEventNonNegative) {
  json ev = {{"type", "log"}, {"job", 1}, {"attempt", 1}, {"rank", 0}, {"lines", {"x"}}};
  EXPECT_FALSE(wire::WorkerEventFromJson(ev)->fetched_bytes.has_value());
  ev["fetchedBytes"] = 1234;
  auto e = wire::WorkerEventFromJson(ev);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->fetched_bytes.value_or(-1), 1234);
  EXPECT_EQ(wire::ToJson(*e)["fetchedBytes"], 1234);
  ev["fetchedBytes"] = -1;
  EXPECT_FALSE(wire::WorkerEventFromJson(ev).ok());
  ev["fetchedBytes"] = "1";
  EXPECT_FALSE(wire::WorkerEventFromJson(ev).ok());
}

TEST(CacheReportTest, SnapshotsCarryTheJobsPinsAndTheWorkersCache) {
  Job job;
  job.id = 3;
  job.spec.workers.min = job.spec.workers.max = 1;
  wire::Pin train;
  train.kind = "datasets";
  train.account = "alice";
  train.name = "mnist";
  train.digest = kDigestA;
  train.bytes = 1000;
  wire::Pin test = train;  // data.test pinning the same version
  job.pins = {train, test};
  const SnapshotJob shape = scheduler_internal::ShapeOf(job);
  ASSERT_EQ(shape.data.size(), 1u);
  EXPECT_EQ(shape.data[0].digest, kDigestA);
  EXPECT_EQ(shape.data[0].bytes, 1000);

  Worker w;
  w.id = "w-1";
  w.slots = 2;
  w.cached = {{kDigestA, 600}, {kDigestB, 5}};
  const SnapshotWorker sw = scheduler_internal::SnapshotWorkerOf(w, 0, 0);
  ASSERT_EQ(sw.cached.size(), 2u);
  EXPECT_EQ(sw.cached[0].digest, kDigestA);
  EXPECT_EQ(sw.cached[0].bytes, 600);
  EXPECT_EQ(CachedBytes(shape, sw), 600);
}

std::string TinySpec() {
  return ::shoal::testing::ReadFile(::shoal::testing::RepoRoot() / "configs/jobs/tiny-mlp.yaml");
}

class CacheSchedulerTest : public ::shoal::testing::SchedulerFixture {};

TEST_F(CacheSchedulerTest, WorkerRecordsWhatItsHeartbeatSaysItCaches) {
  auto w = sched_->RegisterWorker({"a", "host", 1, 2, {}});
  ASSERT_TRUE(w.ok());
  const std::string id = (*w)->id;
  EXPECT_TRUE(sched_->FindWorker(id)->cached.empty());
  EXPECT_FALSE(sched_->FindWorker(id)->cache_reported);

  const json body = {{"running", json::array()},
                     {"cached", {{{"digest", kDigestA}, {"bytes", 100}}}},
                     {"cache", {{"hits", 7}, {"misses", 3}, {"bytes", 100}, {"maxBytes", 1000}}}};
  ASSERT_TRUE(sched_->Heartbeat(id, {}).ok());
  ASSERT_TRUE(sched_->RecordCache(id, wire::ParseCacheReport(body).value()).ok());
  const Worker* rec = sched_->FindWorker(id);
  ASSERT_EQ(rec->cached.size(), 1u);
  EXPECT_EQ(rec->cached[0].digest, kDigestA);
  EXPECT_EQ(rec->cached[0].bytes, 100);
  EXPECT_TRUE(rec->cache_reported);
  EXPECT_EQ(rec->cache_stats.hits, 7);

  // The next report replaces it; one without stats keeps the last stats.
  ASSERT_TRUE(
      sched_->RecordCache(id, wire::ParseCacheReport(json{{"cached", json::array()}}).value())
          .ok());
  EXPECT_TRUE(sched_->FindWorker(id)->cached.empty());
  EXPECT_EQ(sched_->FindWorker(id)->cache_stats.misses, 3);
  EXPECT_EQ(sched_->RecordCache("w-404", {}).code(), StatusCode::kNotFound);

  // /metrics: per worker with names, pool-wide without; the pool's hit ratio either way.
  const std::string named = RenderMetrics(*sched_, /*with_names=*/true);
  EXPECT_NE(named.find("shoal_worker_cache_hits_total{worker=\"" + id + "\"} 7"), std::string::npos)
      << named;
  const std::string pooled = RenderMetrics(*sched_, /*with_names=*/false);
  EXPECT_NE(pooled.find("\nshoal_worker_cache_misses_total 3\n"), std::string::npos) << pooled;
  EXPECT_NE(pooled.find("\nshoal_worker_cache_max_bytes 1000\n"), std::string::npos) << pooled;
  EXPECT_NE(pooled.find("\nshoal_worker_cache_hit_ratio 0.7\n"), std::string::npos) << pooled;
  EXPECT_EQ(pooled.find("worker=\""), std::string::npos);
}

TEST_F(CacheSchedulerTest, FetchedBytesPerRankAreRecordedShownAndStored) {
  auto w = sched_->RegisterWorker({"a", "host", 1, 2, {}});
  ASSERT_TRUE(w.ok());
  const std::string wid = (*w)->id;
  auto job = sched_->Submit(TinySpec(), "alice");
  ASSERT_TRUE(job.ok()) << job.status().ToString();
  const int64_t id = (*job)->id;
  ASSERT_EQ(sched_->FindJob(id)->state, JobState::kRunning);
  EXPECT_FALSE(sched_->FindJob(id)->attempts[0].ranks[0].fetched_bytes.has_value());
  const json ev = {{"type", "log"},        {"job", id},           {"attempt", 1}, {"rank", 0},
                   {"lines", {"fetched"}}, {"fetchedBytes", 4096}};
  ASSERT_TRUE(ApplyEvents(wid, json::array({ev})).ok());
  EXPECT_EQ(sched_->FindJob(id)->attempts[0].ranks[0].fetched_bytes.value_or(-1), 4096);
  // GET /v1/jobs/{id}.
  const json view = ToJson(*sched_->FindJob(id), /*detail=*/true);
  EXPECT_EQ(view["attemptHistory"][0]["ranks"][0]["fetchedBytes"], 4096) << view.dump();
  // Stored with the attempt.
  ASSERT_TRUE(sched_->SaveChanges().ok());
  Reopen();
  EXPECT_EQ(sched_->FindJob(id)->attempts[0].ranks[0].fetched_bytes.value_or(-1), 4096);
}

}  // namespace
}  // namespace shoal

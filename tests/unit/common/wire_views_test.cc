// The job and worker views of common/wire/: the exact JSON the API sends, round trips, and the
// tolerant reading clients rely on (a missing or mistyped field is its default).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/wire/job_view.h"
#include "common/wire/worker_view.h"

namespace shoal {
namespace {

using nlohmann::json;

wire::JobView DetailedView() {
  wire::JobView v;
  v.id = 7;
  v.name = "mnist";
  v.owner = "alice";
  v.state = "RUNNING";
  v.workers_min = 2;
  v.workers_max = 2;
  v.attempts = 1;
  v.world_size = 2;
  v.placement = {"w-1", "w-2"};
  wire::AttemptView a;
  a.number = 1;
  a.world_size = 2;
  a.state = "running";
  a.started_ms = 5;
  a.ranks.resize(2);
  a.ranks[0].worker = "w-1";
  a.ranks[0].state = "exited";
  a.ranks[0].exit_code = 0;
  a.ranks[0].result = {{"steps", 3}};
  a.ranks[1].rank = 1;
  a.ranks[1].worker = "w-2";
  a.ranks[1].state = "running";
  v.attempt_history = std::vector<wire::AttemptView>{a};
  v.spec = json{{"kind", "Job"}};
  v.events = std::vector<wire::JobEventView>{{1, "submitted", ""}};
  v.events_dropped = 2;
  v.output = wire::OutputView{"models/alice/mnist-mlp", "3", ""};
  return v;
}

TEST(WireJobViewTest, RoundTrips) {
  const wire::JobView v = DetailedView();
  auto back = wire::JobViewFromJson(wire::ToJson(v));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, v);
  EXPECT_EQ(wire::ToJson(v)["output"].dump(),
            R"({"model":"models/alice/mnist-mlp","published":"3"})");
  wire::JobView list;
  list.estimated_start_ms = 9;
  list.reason_message = "waiting";
  back = wire::JobViewFromJson(wire::ToJson(list));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, list);
}

TEST(WireJobViewTest, OptionalKeysOnlyWhenSet) {
  const json j = wire::ToJson(wire::JobView{});
  for (const char* key : {"reasonMessage", "estimatedStartMs", "worldSize", "placement",
                          "attemptHistory", "spec", "events", "eventsDropped", "output"}) {
    EXPECT_FALSE(j.contains(key)) << key;
  }
  wire::RankView rank;
  rank.rank = 1;
  rank.worker = "w-1";
  rank.state = "running";
  const json r = wire::ToJson(rank);
  EXPECT_EQ(r.dump(), R"({"rank":1,"state":"running","worker":"w-1"})");
}

TEST(WireJobViewTest, ReadsTolerantly) {
  EXPECT_FALSE(wire::JobViewFromJson(json::array()).ok());
  auto v = wire::JobViewFromJson(json{{"id", 3.7},
                                      {"name", 5},
                                      {"workers", {{"min", 3}}},
                                      {"placement", {"w-1", 2}},
                                      {"progress", "x"},
                                      {"events", "none"},
                                      {"attemptHistory", {1, {{"state", "failed"}}}}});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->id, 3);
  EXPECT_EQ(v->name, "");
  EXPECT_EQ(v->workers_min, 3);
  EXPECT_EQ(v->workers_max, 3);  // max defaults to min
  EXPECT_EQ(v->placement, (std::vector<std::string>{"w-1", ""}));
  EXPECT_EQ(v->progress, json::object());
  ASSERT_TRUE(v->events.has_value());  // present, if malformed: "no events"
  EXPECT_TRUE(v->events->empty());
  ASSERT_TRUE(v->attempt_history.has_value());
  ASSERT_EQ(v->attempt_history->size(), 2u);
  EXPECT_EQ((*v->attempt_history)[1].state, "failed");
  EXPECT_FALSE(v->world_size.has_value());
  EXPECT_FALSE(v->estimated_start_ms.has_value());
  EXPECT_FALSE(v->spec.has_value());
  v = wire::JobViewFromJson(json::object());
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->workers_min, 1);
  EXPECT_FALSE(v->events.has_value());
}

wire::WorkerView FullWorker() {
  wire::WorkerView w;
  w.id = "w-1";
  w.name = "box";
  w.host = "10.0.0.1";
  w.account = "lab";
  w.slots = 2;
  w.cpus = 8;
  w.gpus = {{"H200", 143771, "9.0", std::nullopt, std::nullopt}};
  w.memory_bytes = 64;
  w.memory_lent_bytes = 32;
  w.state = "alive";
  w.registered_ms = 1;
  w.last_seen_ms = 2;
  w.completed_ranks = 3;
  w.audit_rate = 0.5;
  w.clean_audits = 4;
  w.failed_audits = 1;
  w.quarantine = "q";
  w.used_slots = 1;
  w.ranks = {{7, 1, 0, "running"}};
  return w;
}

TEST(WireWorkerViewTest, ExactJsonInFullAndAnonymised) {
  EXPECT_EQ(wire::ToJson(FullWorker()).dump(),
            R"({"account":"lab","auditRate":0.5,"cleanAudits":4,"completedRanks":3,"cpus":8,)"
            R"("failedAudits":1,)"
            R"("gpus":[{"computeCapability":"9.0","memoryMiB":143771,"name":"H200"}],)"
            R"("host":"10.0.0.1","id":"w-1","lastSeenMs":2,"memoryBytes":64,)"
            R"("memoryLentBytes":32,"name":"box","quarantine":"q",)"
            R"("ranks":[{"attempt":1,"job":7,"rank":0,"state":"running"}],)"
            R"("registeredMs":1,"slots":2,"state":"alive","usedSlots":1})");
  wire::WorkerView anonymous = FullWorker();
  anonymous.name.reset();
  anonymous.host.reset();
  anonymous.account.reset();
  anonymous.quarantine.reset();
  anonymous.anonymous = true;
  anonymous.ranks.clear();
  EXPECT_EQ(wire::ToJson(anonymous).dump(),
            R"({"anonymous":true,"auditRate":0.5,"cleanAudits":4,"completedRanks":3,"cpus":8,)"
            R"("failedAudits":1,)"
            R"("gpus":[{"computeCapability":"9.0","memoryMiB":143771,"name":"H200"}],)"
            R"("id":"w-1","lastSeenMs":2,"memoryBytes":64,)"
            R"("memoryLentBytes":32,"ranks":[],)"
            R"("registeredMs":1,"slots":2,"state":"alive","usedSlots":1})");
  auto back = wire::WorkerViewFromJson(wire::ToJson(anonymous));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, anonymous);
  back = wire::WorkerViewFromJson(wire::ToJson(FullWorker()));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, FullWorker());
}

TEST(WireWorkerViewTest, ReadsTolerantly) {
  EXPECT_FALSE(wire::WorkerViewFromJson("w-1").ok());
  auto w = wire::WorkerViewFromJson(json{{"id", "w-1"}, {"name", 5}, {"gpus", {1}}});
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->name.has_value());
  ASSERT_EQ(w->gpus.size(), 1u);
  EXPECT_EQ(w->gpus[0], wire::GpuView{});
  EXPECT_FALSE(w->anonymous);
}

}  // namespace
}  // namespace shoal

// The wire messages of common/wire/: what each side sends round-trips, and malformed input is
// refused with the message the peer sees.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/wire/assignment.h"
#include "common/wire/audit_report.h"
#include "common/wire/trainer_report.h"
#include "common/wire/worker_event.h"

namespace shoal {
namespace {

using nlohmann::json;

json GoodAssignment() {
  return {{"job", 7},
          {"attempt", 2},
          {"rank", 1},
          {"worldSize", 3},
          {"name", "mnist"},
          {"spec", "kind: Job\n"},
          {"pins", json::array()},
          {"readCapability", ""},
          {"checkpointEverySeconds", 0}};
}

TEST(WireAssignmentTest, RoundTripsWhatTheSchedulerSends) {
  const wire::Assignment a{.job = 7,
                           .attempt = 2,
                           .rank = 1,
                           .world_size = 3,
                           .name = "mnist",
                           .spec = "kind: Job\n",
                           .pins = {},
                           .read_capability = ""};
  // The exact keys the scheduler sends (checkpointEverySeconds since Young/Daly intervals).
  EXPECT_EQ(wire::ToJson(a), GoodAssignment());
  EXPECT_EQ(wire::ToJson(a).dump(),
            R"({"attempt":2,"checkpointEverySeconds":0,"job":7,"name":"mnist","pins":[],"rank":1,)"
            R"("readCapability":"","spec":"kind: Job\n","worldSize":3})");
  auto back = wire::AssignmentFromJson(wire::ToJson(a));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, a);
}

TEST(WireAssignmentTest, CarriesPinsAndTheReadCapability) {
  wire::Assignment a;
  a.job = 3;
  a.spec = "x";
  a.pins.push_back(
      {"datasets", "demo", "fashion-mnist", "1", std::string(64, 'b'), 12345, {"pool"}, true});
  a.read_capability = "shoalcap_3_1_00";
  auto back = wire::AssignmentFromJson(wire::ToJson(a));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, a);
  json bad = wire::ToJson(a);
  bad["pins"][0]["digest"] = "short";
  EXPECT_FALSE(wire::AssignmentFromJson(bad).ok());
  bad = wire::ToJson(a);
  bad["pins"] = "x";
  EXPECT_FALSE(wire::AssignmentFromJson(bad).ok());
}

// A Young/Daly interval travels with the assignment; older schedulers leave it out (0: the
// spec's), and a value out of range is refused, not clamped.
TEST(WireAssignmentTest, CarriesTheCheckpointInterval) {
  wire::Assignment a;
  a.job = 3;
  a.spec = "x";
  a.checkpoint_every_seconds = 1800;
  auto back = wire::AssignmentFromJson(wire::ToJson(a));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->checkpoint_every_seconds, 1800);
  json j = wire::ToJson(a);
  j.erase("checkpointEverySeconds");
  EXPECT_EQ(wire::AssignmentFromJson(j)->checkpoint_every_seconds, 0);
  for (const json& bad : {json(-1), json(7 * 86400 + 1), json("60"), json(1.5)}) {
    j["checkpointEverySeconds"] = bad;
    auto r = wire::AssignmentFromJson(j);
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_NE(r.status().message().find("checkpointEverySeconds"), std::string::npos);
  }
}

TEST(WireAssignmentTest, DefaultsWorldSizeAndNameLikeTheAgentAlwaysDid) {
  json j = GoodAssignment();
  j.erase("worldSize");
  j.erase("name");
  j.erase("pins");
  j.erase("readCapability");
  j["extra"] = "ignored";
  auto a = wire::AssignmentFromJson(j);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->world_size, 1);
  EXPECT_EQ(a->name, "");
  EXPECT_EQ(a->rank, 1);
}

TEST(WireAssignmentTest, RefusesMalformedAssignments) {
  const std::string needs = "an assignment needs integer job, attempt and rank and a string spec";
  for (const char* key : {"job", "attempt", "rank", "spec"}) {
    json j = GoodAssignment();
    j.erase(key);
    auto a = wire::AssignmentFromJson(j);
    ASSERT_FALSE(a.ok()) << "without " << key;
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(a.status().message(), needs) << "without " << key;
  }
  json j = GoodAssignment();
  j["rank"] = "1";
  EXPECT_EQ(wire::AssignmentFromJson(j).status().message(), needs);
  j = GoodAssignment();
  j["job"] = 1.5;
  EXPECT_EQ(wire::AssignmentFromJson(j).status().message(), needs);
  j = GoodAssignment();
  j["spec"] = json::object();
  EXPECT_EQ(wire::AssignmentFromJson(j).status().message(), needs);
  EXPECT_EQ(wire::AssignmentFromJson(json::array()).status().message(), needs);
  j = GoodAssignment();
  j["worldSize"] = "3";
  EXPECT_EQ(wire::AssignmentFromJson(j).status().message(),
            "an assignment's worldSize must be an integer");
  j = GoodAssignment();
  j["name"] = 5;
  EXPECT_EQ(wire::AssignmentFromJson(j).status().message(),
            "an assignment's name must be a string");
}

json LogJson() {
  return {{"type", "log"}, {"job", 3}, {"attempt", 1}, {"rank", 0}, {"lines", {"a", "b"}}};
}
json ExitJson() {
  return {{"type", "exit"}, {"job", 3}, {"attempt", 1}, {"rank", 2}, {"exitCode", 0}};
}

// The message a worker gets back for `j` as an event batch of one.
std::string BatchError(const json& j) {
  auto events = wire::WorkerEventsFromJson(json::array({j}));
  if (events.ok()) return "accepted";
  EXPECT_EQ(events.status().code(), StatusCode::kInvalidArgument);
  return events.status().message();
}

TEST(WireWorkerEventTest, RoundTripsEachTypeWithTheKeysAgentsSend) {
  wire::WorkerEvent log = wire::LogEvent(3, 1, 0, {"a", "b"});
  EXPECT_EQ(wire::ToJson(log), LogJson());
  wire::WorkerEvent progress = wire::ProgressEvent(3, 1, 0, {{"step", 5}, {"loss", 0.5}});
  EXPECT_EQ(wire::ToJson(progress).dump(),
            R"({"attempt":1,"data":{"loss":0.5,"step":5},"job":3,"rank":0,"type":"progress"})");
  // An exit sends its optional fields only when set.
  wire::WorkerEvent bare = wire::ExitEvent(3, 1, 2, 0);
  EXPECT_EQ(wire::ToJson(bare), ExitJson());
  wire::WorkerEvent full = wire::ExitEvent(3, 1, 2, 137);
  full.signal = 9;
  full.message = "killed";
  full.cause = "OutOfMemory";
  full.result = json{{"accuracy", 0.9}};
  EXPECT_EQ(wire::ToJson(full).dump(),
            R"({"attempt":1,"cause":"OutOfMemory","exitCode":137,"job":3,"message":"killed",)"
            R"("rank":2,"result":{"accuracy":0.9},"signal":9,"type":"exit"})");
  for (const auto& e : {log, progress, bare, full}) {
    auto back = wire::WorkerEventFromJson(wire::ToJson(e));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, e) << wire::ToJson(e).dump();
  }
  auto batch = wire::WorkerEventsFromJson(json::array({LogJson(), ExitJson()}));
  ASSERT_TRUE(batch.ok());
  ASSERT_EQ(batch->size(), 2u);
  EXPECT_EQ((*batch)[1].type, wire::WorkerEventType::kExit);
  EXPECT_FALSE((*batch)[1].signal.has_value());
}

TEST(WireWorkerEventTest, RefusesMalformedEventsWithTheSchedulersMessages) {
  EXPECT_EQ(wire::WorkerEventsFromJson(json::object()).status().message(),
            "\"events\" must be an array");
  EXPECT_EQ(wire::WorkerEventsFromJson(7).status().message(), "\"events\" must be an array");
  const std::string needs = "each event needs string \"type\" and integer job, attempt, rank";
  for (const char* key : {"type", "job", "attempt", "rank"}) {
    json j = LogJson();
    j.erase(key);
    EXPECT_EQ(BatchError(j), needs) << "without " << key;
  }
  json j = LogJson();
  j["rank"] = "0";
  EXPECT_EQ(BatchError(j), needs);
  j = LogJson();
  j["type"] = 1;
  EXPECT_EQ(BatchError(j), needs);
  EXPECT_EQ(BatchError(json::array()), needs);
  j = LogJson();
  j["type"] = "bogus";
  EXPECT_EQ(BatchError(j), "unknown event type \"bogus\" (log, progress, exit, audit)");

  const std::string lines = "log event needs \"lines\": an array of at most 10000 strings";
  j = LogJson();
  j.erase("lines");
  EXPECT_EQ(BatchError(j), lines);
  j["lines"] = "one";
  EXPECT_EQ(BatchError(j), lines);
  j["lines"] = std::vector<std::string>(wire::kMaxLogLinesPerEvent + 1, "x");
  EXPECT_EQ(BatchError(j), lines);
  j["lines"] = std::vector<std::string>(wire::kMaxLogLinesPerEvent, "x");
  EXPECT_EQ(BatchError(j), "accepted");
  j["lines"] = {"ok", 5};
  EXPECT_EQ(BatchError(j), "log lines must be strings");

  j = {{"type", "progress"}, {"job", 3}, {"attempt", 1}, {"rank", 0}};
  EXPECT_EQ(BatchError(j), "progress event needs an object \"data\"");
  j["data"] = json::array();
  EXPECT_EQ(BatchError(j), "progress event needs an object \"data\"");

  j = ExitJson();
  j.erase("exitCode");
  EXPECT_EQ(BatchError(j), "exit event needs an integer \"exitCode\"");
  j["exitCode"] = "0";
  EXPECT_EQ(BatchError(j), "exit event needs an integer \"exitCode\"");
  const std::string typed =
      "exit event: \"signal\" must be an integer, \"message\" a string, \"result\" an object";
  for (const auto& [key, bad] : std::vector<std::pair<std::string, json>>{
           {"signal", "9"}, {"message", 1}, {"cause", json::object()}, {"result", "done"}}) {
    j = ExitJson();
    j[key] = bad;
    EXPECT_EQ(BatchError(j), typed) << key;
  }
  // One bad event refuses the whole batch.
  auto batch = wire::WorkerEventsFromJson(json::array({LogJson(), ExitJson(), json{{"x", 1}}}));
  EXPECT_EQ(batch.status().message(), needs);
}

TEST(WireTrainerReportTest, WritesTheKeysTheTrainerAlwaysWrote) {
  wire::ProgressReport p;
  p.epoch = 2;
  p.epochs = 3;
  p.step = 40;
  p.steps_per_epoch = 20;
  p.loss = 0.5;
  p.train_accuracy = 0.75;
  p.samples_per_sec = 1000;
  p.step_sec = 0.25;
  p.all_reduce_sec = 0.125;
  EXPECT_EQ(
      wire::ReportLine(wire::ToJson(p)),
      R"(@shoal {"allReduceSec":0.125,"epoch":2,"epochs":3,"loss":0.5,"samplesPerSec":1000.0,)"
      R"("step":40,"stepSec":0.25,"stepsPerEpoch":20,"trainAccuracy":0.75,"type":"progress"})");
  p.epoch_done = true;
  p.test_loss = 0.25;
  p.test_accuracy = 0.5;
  const json end = wire::ToJson(p);
  EXPECT_EQ(end["epochDone"], true);
  EXPECT_EQ(end["testLoss"], 0.25);
  EXPECT_EQ(end["testAccuracy"], 0.5);
  EXPECT_EQ(end.size(), 13u);
  // A language model's rates and the optimizer's state, only when set.
  p.tokens_per_sec = 64000;
  p.mfu = 0.25;
  p.lr = 0.003;
  p.grad_norm = 1.5;
  const json lm = wire::ToJson(p);
  EXPECT_EQ(lm["tokensPerSec"], 64000.0);
  EXPECT_EQ(lm["mfu"], 0.25);
  EXPECT_EQ(lm["lr"], 0.003);
  EXPECT_EQ(lm["gradNorm"], 1.5);
  EXPECT_EQ(lm.size(), 17u);

  const wire::CheckpointReport c{
      .path = "/w/ckpt-1.safetensors", .step = 7, .epoch = 1, .bytes = 4096, .seconds = 0.5};
  EXPECT_EQ(wire::ToJson(c).dump(),
            R"({"bytes":4096,"epoch":1,"path":"/w/ckpt-1.safetensors","seconds":0.5,"step":7,)"
            R"("type":"checkpoint"})");
  auto back = wire::CheckpointReportFromJson(wire::ToJson(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, c);

  const wire::ResultReport r{
      .rank = 1, .param_checksum = "0123abcd", .test_accuracy = -1, .steps = 9, .stopped = true};
  const json rj = wire::ToJson(r);
  EXPECT_EQ(rj["type"], "result");
  EXPECT_EQ(rj["paramChecksum"], "0123abcd");
  EXPECT_EQ(rj["resumedStep"], 0);
  EXPECT_EQ(rj["wallSec"], 0.0);
  EXPECT_EQ(rj.size(), 11u);
}

TEST(WireTrainerReportTest, ParsesReportLinesAndLeavesOtherLinesToTheLog) {
  auto p = wire::ParseReportLine(R"(@shoal {"type":"progress","step":3})");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->type, wire::TrainerReportType::kProgress);
  EXPECT_EQ(p->fields, json({{"type", "progress"}, {"step", 3}}));
  EXPECT_EQ(wire::ParseReportLine(R"(@shoal {"type":"result","rank":0})")->type,
            wire::TrainerReportType::kResult);
  EXPECT_EQ(wire::ParseReportLine(R"(@shoal {"type":"checkpoint"})")->type,
            wire::TrainerReportType::kCheckpoint);
  // Attestations travel as audit events (docs/audits.md "Checkpoints").
  EXPECT_EQ(wire::ParseReportLine(R"(@shoal {"type":"attest","step":4})")->type,
            wire::TrainerReportType::kAudit);
  // Any other object is progress, as agents have always read it.
  EXPECT_EQ(wire::ParseReportLine(R"(@shoal {"loss":1})")->type,
            wire::TrainerReportType::kProgress);
  EXPECT_FALSE(wire::ParseReportLine("epoch 1/3: train loss 0.5").has_value());
  EXPECT_FALSE(wire::ParseReportLine("@shoal [1, 2]").has_value());
  EXPECT_FALSE(wire::ParseReportLine("@shoal {not json").has_value());
  EXPECT_FALSE(wire::ParseReportLine(R"(@shoal{"type":"result"})").has_value());
  EXPECT_FALSE(wire::ParseReportLine(R"( @shoal {"type":"result"})").has_value());
}

TEST(WireTrainerReportTest, RefusesCheckpointReportsWithoutPathOrStep) {
  const json good = {{"type", "checkpoint"}, {"path", "/w/c"}, {"step", 0}};
  auto minimal = wire::CheckpointReportFromJson(good);
  ASSERT_TRUE(minimal.ok());
  EXPECT_EQ(minimal->bytes, 0);
  for (const auto& [key, bad] : std::vector<std::pair<std::string, json>>{
           {"path", ""}, {"path", 5}, {"step", -1}, {"step", "3"}, {"bytes", "big"}}) {
    json j = good;
    j[key] = bad;
    auto r = wire::CheckpointReportFromJson(j);
    ASSERT_FALSE(r.ok()) << key << " " << bad.dump();
    EXPECT_EQ(r.status().message(), "malformed checkpoint report");
  }
  json j = good;
  j.erase("path");
  EXPECT_FALSE(wire::CheckpointReportFromJson(j).ok());
  j = good;
  j.erase("step");
  EXPECT_FALSE(wire::CheckpointReportFromJson(j).ok());
}

}  // namespace
}  // namespace shoal

namespace shoal::wire {
namespace {

audit::Commitment SomeCommitment() {
  std::vector<float> g = {1.f, -2.f, 3.f};
  return audit::Commit(g.data(), 3, audit::SketchSeed("ab", 1, {}), "cpu/fp32/Haswell/t1/b0");
}

TEST(AuditWire, AttestationsRoundTripAndBadOnesAreRefused) {
  const Attestation a{40, 2, std::string(64, 'c')};
  const nlohmann::json j = ToJson(a);
  EXPECT_TRUE(IsAttestation(j));
  EXPECT_EQ(AttestationFromJson(nlohmann::json::parse(j.dump())).value(), a);
  EXPECT_FALSE(IsAttestation(nlohmann::json{{"type", "audit"}}));
  EXPECT_FALSE(IsAttestation(nlohmann::json::array()));
  for (const char* bad : {R"({"type":"attest","step":-1,"rank":0,"digest":"DIGEST"})",
                          R"({"type":"attest","step":1,"rank":2000000,"digest":"DIGEST"})",
                          R"({"type":"attest","step":1.5,"rank":0,"digest":"DIGEST"})",
                          R"({"type":"attest","step":1,"digest":"DIGEST"})",
                          R"({"type":"attest","step":1,"rank":0,"digest":"abc"})",
                          R"({"type":"attest","step":1,"rank":0,"digest":7})"}) {
    std::string text = bad;
    if (auto at = text.find("DIGEST"); at != std::string::npos) {
      text.replace(at, 6, std::string(64, 'a'));
    }
    auto parsed = AttestationFromJson(nlohmann::json::parse(text));
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_NE(parsed.status().message().find("malformed attestation"), std::string::npos);
  }
  // Upper-case hex is not what StateDigest writes.
  const std::string upper =
      R"({"type":"attest","step":1,"rank":0,"digest":")" + std::string(64, 'A') + R"("})";
  EXPECT_FALSE(AttestationFromJson(nlohmann::json::parse(upper)).ok());
}

TEST(AuditWire, PlanAndRecordRoundTrip) {
  AuditPlan plan{"0a1b", "ff00", {0, 0.05, 0.1}, {{1, 2}, {0, 2}, {0}}, {"a", "b", "c"}, 3.5, 0.25};
  auto back = AuditPlanFromJson(nlohmann::json::parse(ToJson(plan).dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, plan);
  plan.transparent = true;
  back = AuditPlanFromJson(nlohmann::json::parse(ToJson(plan).dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, plan);
  AuditRecord r;
  r.step = 12;
  r.role = AuditRole::kAuditor;
  r.rank = 2;
  r.auditee = 1;
  r.auditor = 2;
  r.commitment = SomeCommitment();
  r.verdict = "exact";
  auto rec = AuditRecordFromJson(nlohmann::json::parse(ToJson(r).dump()));
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->step, r.step);
  EXPECT_EQ(rec->role, r.role);
  EXPECT_EQ(rec->commitment.hash, r.commitment.hash);
  EXPECT_EQ(rec->commitment.sketch.size(), r.commitment.sketch.size());
  EXPECT_EQ(rec->verdict, "exact");
  EXPECT_FALSE(rec->revealed.has_value());
  // A judge of another configuration also reports what the auditee revealed.
  r.revealed = SomeCommitment();
  r.revealed->norm = 0.5;
  rec = AuditRecordFromJson(nlohmann::json::parse(ToJson(r).dump()));
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(*rec, r);
  // The sum-check projections travel to the bit (they are compared exactly).
  r.commitment.projections = {1.0 / 3, -2e-9, 12345.678901234567, 0};
  rec = AuditRecordFromJson(nlohmann::json::parse(ToJson(r).dump()));
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->commitment.projections, r.commitment.projections);
}

TEST(AuditWire, MalformedIsInvalidArgument) {
  using nlohmann::json;
  EXPECT_FALSE(AuditPlanFromJson(json::array()).ok());
  EXPECT_FALSE(AuditPlanFromJson(
                   json{{"nonce", "xyz"}, {"key", "ab"}, {"rates", {0.1}}, {"accounts", {"a"}}})
                   .ok());
  EXPECT_FALSE(
      AuditPlanFromJson(json{{"nonce", "ab"}, {"key", "ab"}, {"rates", {1.5}}, {"accounts", {"a"}}})
          .ok());
  EXPECT_FALSE(AuditPlanFromJson(
                   json{{"nonce", "ab"}, {"key", "ab"}, {"rates", {0.1, 0.2}}, {"accounts", {"a"}}})
                   .ok());
  EXPECT_FALSE(AuditPlanFromJson(json{{"nonce", "ab"},
                                      {"key", "ab"},
                                      {"rates", {0.1}},
                                      {"auditors", json::array({json::array()})},
                                      {"accounts", {"a"}},
                                      {"screenMinDeviation", -1}})
                   .ok());
  // Who may audit whom: one list per rank, of other ranks, each once.
  json plan = {{"nonce", "ab"},
               {"key", "ab"},
               {"rates", {0.1, 0.2}},
               {"auditors", {{1}, {0}}},
               {"accounts", {"a", "b"}}};
  EXPECT_TRUE(AuditPlanFromJson(plan).ok());
  json not_bool = plan;
  not_bool["transparent"] = "yes";
  EXPECT_FALSE(AuditPlanFromJson(not_bool).ok());
  for (const json& auditors :
       {json(), json::array({json::array({1})}), json{{0}, {0}}, json{{1}, {2}}, json{{1, 1}, {0}},
        json{{1}, {-1}}, json{{"1"}, {0}}, json{1, 0}}) {
    json bad = plan;
    if (auditors.is_null()) {
      bad.erase("auditors");
    } else {
      bad["auditors"] = auditors;
    }
    auto r = AuditPlanFromJson(bad);
    ASSERT_FALSE(r.ok()) << auditors.dump();
    EXPECT_NE(r.status().message().find("auditors"), std::string::npos) << r.status().ToString();
  }
  json rec = ToJson(AuditRecord{.commitment = SomeCommitment()});
  EXPECT_TRUE(AuditRecordFromJson(rec).ok());
  for (const char* key : {"step", "role", "commitment", "auditee"}) {
    json bad = rec;
    bad.erase(key);
    auto r = AuditRecordFromJson(bad);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_NE(r.status().message().find("malformed audit record"), std::string::npos);
  }
  json bad = rec;
  bad["commitment"]["sketch"] = json::array({1, 2});
  EXPECT_FALSE(AuditRecordFromJson(bad).ok());
  bad = rec;
  bad["commitment"]["norm"] = -1;
  EXPECT_FALSE(AuditRecordFromJson(bad).ok());
  for (const json& projections : {json::array({1, 2}), json{1, 2, 3, "4"}, json(1.5)}) {
    bad = rec;
    bad["commitment"]["projections"] = projections;
    auto r = AuditRecordFromJson(bad);
    ASSERT_FALSE(r.ok()) << projections.dump();
    EXPECT_NE(r.status().message().find("projections"), std::string::npos);
  }
  // Only a judge reports a reveal, and a malformed one is refused.
  bad = rec;
  bad["revealed"] = ToJson(SomeCommitment());
  EXPECT_FALSE(AuditRecordFromJson(bad).ok());  // rec is the auditee's
  bad["role"] = "auditor";
  EXPECT_TRUE(AuditRecordFromJson(bad).ok());
  bad["revealed"]["hash"] = "zz";
  EXPECT_FALSE(AuditRecordFromJson(bad).ok());
}

}  // namespace
}  // namespace shoal::wire

namespace shoal::wire {
namespace {

TEST(AuditWire, AssignmentCarriesThePlan) {
  Assignment a;
  a.job = 3;
  a.spec = "x";
  EXPECT_FALSE(ToJson(a).contains("audit"));
  a.audit = AuditPlan{"ab", "cd", {0, 0.1}, {{1}, {0}}, {"a", "b"}, 3.5};
  auto back = AssignmentFromJson(ToJson(a));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, a);
  auto j = ToJson(a);
  j["audit"]["rates"] = "no";
  auto bad = AssignmentFromJson(j);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("audit plan"), std::string::npos);
}

}  // namespace
}  // namespace shoal::wire

namespace shoal::wire {
namespace {

TEST(AuditWire, AuditEventsAndReportLinesRoundTrip) {
  AuditRecord r;
  r.step = 4;
  r.rank = 1;
  r.auditee = 1;
  r.auditor = 0;
  r.commitment = SomeCommitment();
  auto line = ParseReportLine(ReportLine(ToJson(r)));
  ASSERT_TRUE(line.has_value());
  EXPECT_EQ(line->type, TrainerReportType::kAudit);
  WorkerEvent ev = AuditEvent(7, 1, 1, line->fields);
  auto back = WorkerEventFromJson(ToJson(ev));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, ev);
  nlohmann::json bad = ToJson(ev);
  bad["data"] = "x";
  EXPECT_FALSE(WorkerEventFromJson(bad).ok());
}

}  // namespace
}  // namespace shoal::wire

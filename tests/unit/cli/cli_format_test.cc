#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/json_get.h"
#include "cli/progress.h"
#include "common/memory_estimate.h"
#include "common/spec/job_spec.h"

namespace shoal::cli {
namespace {

using nlohmann::json;

constexpr int64_t kNow = 1'750'000'000'000;  // a fixed "now" in Unix ms

TEST(FormatCountTest, SiSuffixesWithOneDecimal) {
  EXPECT_EQ(FormatCount(0), "0");
  EXPECT_EQ(FormatCount(999), "999");
  EXPECT_EQ(FormatCount(1000), "1.0K");
  EXPECT_EQ(FormatCount(235'146), "235.1K");
  EXPECT_EQ(FormatCount(999'960), "1.0M");  // not "1000.0K"
  EXPECT_EQ(FormatCount(124'439'808), "124.4M");
  EXPECT_EQ(FormatCount(1'500'000'000), "1.5B");
}

JobSpec SpecOf(const std::string& spec_section) {
  Result<JobSpec> spec = ParseJobSpec(
      "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: m}\nspec:\n" + spec_section);
  EXPECT_TRUE(spec.ok()) << spec.status().message();
  return spec.ok() ? *spec : JobSpec{};
}

// The --dry-run line for two known models, its numbers worked out by hand from
// common/memory_estimate.h's formulas.
TEST(FormatRankMemoryTest, Gpt2SmallAndAnMlp) {
  // GPT-2 small: 124,439,808 parameters (V=50257, T=1024, 12 blocks of C=768). Activations for
  // B=4 windows (no test set), N=4096 rows, attention B*H*T^2 = 50,331,648 floats:
  // 12 * (N(16C+4) + att) + N*11C + att + N*V + 2N = 1,498,951,680 floats = 5,995,806,720 B.
  const JobSpec gpt = SpecOf(
      "  resources: {backend: cpu, gpusPerWorker: 0}\n"
      "  model: {kind: gpt, layers: 12, vocabSize: 50257, contextLength: 1024, heads: 12, "
      "embedDim: 768}\n"
      "  data: {train: /data/tokens}\n"
      "  training: {batchSize: 4}\n");
  const RankMemoryEstimate e = EstimateRankMemory(gpt);
  EXPECT_EQ(e.parameters, 124'439'808);
  EXPECT_EQ(e.activation_bytes, 5'995'806'720);
  // 16 B x 124.4M = 1.85 GiB, 12 B x = 1.39 GiB; with 256 MiB: 7.7 GiB without, 9.1 GiB with the
  // snapshot.
  EXPECT_EQ(FormatRankMemory(e, Backend::kCpu),
            "memory per rank: 9.1 GiB of RAM (parameters 124.4M x 16 B = 1.9 GiB, checkpoint "
            "snapshot 124.4M x 12 B = 1.4 GiB, activations 5.6 GiB, overhead 256.0 MiB)");
  EXPECT_EQ(FormatRankMemory(e, Backend::kCuda),
            "memory per rank: 7.7 GiB of GPU memory (parameters 124.4M x 16 B = 1.9 GiB, "
            "activations 5.6 GiB, overhead 256.0 MiB); 9.1 GiB of RAM with the checkpoint "
            "snapshot 124.4M x 12 B = 1.4 GiB");
  // Fashion-MNIST's MLP 784-256-128-10 with a test set: rows = 1024 (evaluation chunks), floats
  // per row 785 + 2*256 + 2*128 + 10 + 2*256 = 2075: 8,499,200 B. 235,146 parameters.
  const JobSpec mlp = SpecOf(
      "  model: {layers: [784, 256, 128, 10]}\n"
      "  data: {train: /data/train, test: /data/test}\n"
      "  training: {batchSize: 64}\n");
  const RankMemoryEstimate m = EstimateRankMemory(mlp);
  EXPECT_EQ(m.parameters, 235'146);
  EXPECT_EQ(m.activation_bytes, 8'499'200);
  EXPECT_EQ(FormatRankMemory(m, mlp.resources.backend),
            "memory per rank: 270.4 MiB of RAM (parameters 235.1K x 16 B = 3.6 MiB, checkpoint "
            "snapshot 235.1K x 12 B = 2.7 MiB, activations 8.1 MiB, overhead 256.0 MiB)");
}

TEST(FormatAgeTest, OneUnitLikeKubectl) {
  EXPECT_EQ(FormatAge(kNow, kNow), "0s");
  EXPECT_EQ(FormatAge(kNow - 12'000, kNow), "12s");
  EXPECT_EQ(FormatAge(kNow - 59'999, kNow), "59s");
  EXPECT_EQ(FormatAge(kNow - 60'000, kNow), "1m");
  EXPECT_EQ(FormatAge(kNow - 5 * 60'000 - 30'000, kNow), "5m");
  EXPECT_EQ(FormatAge(kNow - 3'600'000 + 1, kNow), "59m");
  EXPECT_EQ(FormatAge(kNow - 3 * 3'600'000, kNow), "3h");
  EXPECT_EQ(FormatAge(kNow - 24 * 3'600'000 + 1, kNow), "23h");
  EXPECT_EQ(FormatAge(kNow - 2 * 86'400'000, kNow), "2d");
  EXPECT_EQ(FormatAge(kNow - 400 * int64_t{86'400'000}, kNow), "400d");
}

TEST(FormatAgeTest, FutureAndNever) {
  EXPECT_EQ(FormatAge(kNow + 5'000, kNow), "0s");  // clock skew
  EXPECT_EQ(FormatAge(0, kNow), "-");
}

TEST(FormatDurationTest, Precision) {
  EXPECT_EQ(FormatDuration(-5), "0s");
  EXPECT_EQ(FormatDuration(999), "0s");
  EXPECT_EQ(FormatDuration(31'400), "31s");
  EXPECT_EQ(FormatDuration(312'000), "5m12s");
  EXPECT_EQ(FormatDuration(3 * 3'600'000 + 5 * 60'000 + 7'000), "3h05m");
  EXPECT_EQ(FormatDuration(2 * 86'400'000 + 4 * 3'600'000), "2d04h");
}

TEST(FormatTest, FixedAndTimestamp) {
  EXPECT_EQ(FormatFixed(0.87776, 4), "0.8778");
  EXPECT_EQ(FormatFixed(std::nan(""), 4), "nan");
  EXPECT_EQ(FormatTimestamp(0), "-");
  EXPECT_EQ(FormatTimestamp(kNow).size(), std::string("2025-06-15 15:06:40").size());
}

TEST(FormatTest, Truncate) {
  EXPECT_EQ(Truncate("short", 10), "short");
  EXPECT_EQ(Truncate("exactly10!", 10), "exactly10!");
  EXPECT_EQ(Truncate("this is far too long", 10), "this is...");
  EXPECT_EQ(Truncate("anything", 0), "anything");
  EXPECT_EQ(Truncate("héllo wörld", 8), "héllo...");  // counts code points, not bytes
  EXPECT_EQ(DisplayWidth("héllo"), 5u);
}

// Chinese text takes two terminal columns a character (East Asian wide), fullwidth punctuation
// too; a cut never splits a character and never overshoots the width.
TEST(FormatTest, WideCharactersTakeTwoColumns) {
  EXPECT_EQ(DisplayWidth("名称"), 4u);
  EXPECT_EQ(DisplayWidth("作业 7（RUNNING）"), 17u);
  EXPECT_EQ(Truncate("等待两个工作节点", 9), "等待两...");  // 3 characters fit in 9 - 3 columns
  EXPECT_EQ(Truncate("等待两个工作节点", 8), "等待...");    // the third would overshoot: cut
  EXPECT_EQ(Truncate("等待两个", 8), "等待两个");
}

TEST(FormatGpusTest, GroupsIdenticalGpus) {
  EXPECT_EQ(FormatGpus(json::array()), "-");
  EXPECT_EQ(FormatGpus(json()), "-");
  json h200 = {{"name", "H200"}, {"memoryMiB", 143771}, {"computeCapability", "9.0"}};
  EXPECT_EQ(FormatGpus(json::array({h200})), "1x H200 140GiB");
  json t4 = {{"name", "T4"}, {"memoryMiB", 15360}};
  EXPECT_EQ(FormatGpus(json::array({h200, t4, h200})), "2x H200 140GiB, 1x T4 15GiB");
  EXPECT_EQ(FormatGpus(json::array({json{{"name", 5}}})), "1x gpu");  // tolerates bad types
}

TEST(TableTest, UpperCaseHeadersAndAlignedColumns) {
  Table t({"id", "Name", "state"});
  t.AddRow({"7", "tiny-mlp", "RUNNING"});
  t.AddRow({"12", "fashion-mnist-mlp", ""});
  std::ostringstream out;
  t.Render(out);
  EXPECT_EQ(out.str(),
            "ID   NAME                STATE\n"
            "7    tiny-mlp            RUNNING\n"
            "12   fashion-mnist-mlp   -\n");
  EXPECT_EQ(t.rows(), 2u);
}

TEST(TableTest, MissingCellsAndNewlines) {
  Table t({"A", "B", "C"});
  t.AddRow({"x"});
  t.AddRow({"multi\nline", "b", "c"});
  std::ostringstream out;
  t.Render(out);
  EXPECT_EQ(out.str(),
            "A            B   C\n"
            "x            -   -\n"
            "multi line   b   c\n");
}

TEST(TableTest, AlignsChineseHeadersByTerminalColumns) {
  Table t({"名称", "状态"});
  t.AddRow({"tiny-mlp", "RUNNING"});
  t.AddRow({"作业", "-"});
  std::ostringstream out;
  t.Render(out);
  EXPECT_EQ(out.str(),
            "名称       状态\n"
            "tiny-mlp   RUNNING\n"
            "作业       -\n");
}

TEST(TableTest, AlignsByCodePoints) {
  Table t({"NAME", "X"});
  t.AddRow({"wörk", "1"});
  t.AddRow({"work", "2"});
  std::ostringstream out;
  t.Render(out);
  EXPECT_EQ(out.str(), "NAME   X\nwörk   1\nwork   2\n");
}

json RunningJob() {
  return {{"id", 7},
          {"state", "RUNNING"},
          {"reason", ""},
          {"submittedMs", kNow - 80'000},
          {"startedMs", kNow - 72'000},
          {"attempts", 1},
          {"workers", {{"min", 2}, {"max", 2}}},
          {"progress",
           {{"epoch", 2},
            {"epochs", 5},
            {"step", 808},
            {"stepsPerEpoch", 468},
            {"loss", 0.35123},
            {"trainAccuracy", 0.874},
            {"samplesPerSec", 5123.4},
            {"attempt", 1}}}};
}

TEST(ProgressTest, LiveLineWhileTraining) {
  EXPECT_EQ(FormatLiveLine(RunningJob(), kNow),
            "RUNNING 1m12s | epoch 2/5 | step 340/468 | loss 0.3512 | acc 0.8740 | "
            "5123 samples/s");
}

TEST(ProgressTest, ALanguageModelShowsTokensMfuAndValidationLoss) {
  json job = RunningJob();
  job["progress"]["tokensPerSec"] = 327884.2;
  job["progress"]["mfu"] = 0.4123;
  job["progress"]["testLoss"] = 1.98768;
  EXPECT_EQ(FormatLiveLine(job, kNow),
            "RUNNING 1m12s | epoch 2/5 | step 340/468 | loss 0.3512 | acc 0.8740 | val loss "
            "1.9877 | 327884 tokens/s, MFU 41.2%");
}

TEST(ProgressTest, LiveLineWhilePendingOrStarting) {
  json pending = {{"state", "PENDING"},
                  {"reason", "Resources"},
                  {"submittedMs", kNow - 12'000},
                  {"workers", {{"min", 2}, {"max", 4}}},
                  {"progress", json::object()}};
  EXPECT_EQ(FormatLiveLine(pending, kNow), "PENDING 12s (Resources): waiting for 2..4 workers");
  json starting = RunningJob();
  starting["progress"] = json::object();
  starting["worldSize"] = 2;
  EXPECT_EQ(FormatLiveLine(starting, kNow), "RUNNING 1m12s | starting 2 ranks");
  // Progress left over from a failed attempt is not shown as the new attempt's.
  json restarted = RunningJob();
  restarted["attempts"] = 2;
  EXPECT_EQ(FormatLiveLine(restarted, kNow), "RUNNING 1m12s | starting");
  json restarting = {{"state", "RESTARTING"}, {"reason", "WorkerLost"}, {"attempts", 1}};
  EXPECT_EQ(FormatLiveLine(restarting, kNow), "RESTARTING after attempt 1: WorkerLost");
}

TEST(ProgressTest, LiveLineWhilePendingShowsTheReasonMessageAndEstimate) {
  json pending = {{"state", "PENDING"},
                  {"reason", "Unschedulable"},
                  {"reasonMessage", "needs 3 workers with a CPU slot; 2 alive fit"},
                  {"submittedMs", kNow - 12'000},
                  {"workers", {{"min", 3}, {"max", 3}}}};
  EXPECT_EQ(FormatLiveLine(pending, kNow),
            "PENDING 12s (Unschedulable): needs 3 workers with a CPU slot; 2 alive fit");
  pending["estimatedStartMs"] = kNow + 2 * 3'600'000 + 10 * 60'000;
  EXPECT_EQ(FormatLiveLine(pending, kNow),
            "PENDING 12s (Unschedulable): needs 3 workers with a CPU slot; 2 alive fit | "
            "starts in 2h10m");
  pending.erase("reasonMessage");
  EXPECT_EQ(FormatLiveLine(pending, kNow),
            "PENDING 12s (Unschedulable): waiting for 3 workers | starts in 2h10m");
}

TEST(ProgressTest, ReasonTextAndEstimatedStart) {
  EXPECT_EQ(ReasonText(json{{"reason", "Resources"}, {"reasonMessage", "2 alive fit"}}),
            "Resources: 2 alive fit");
  EXPECT_EQ(ReasonText(json{{"reason", "Resources"}}), "Resources");
  EXPECT_EQ(ReasonText(json{{"reasonMessage", "2 alive fit"}}), "2 alive fit");
  EXPECT_EQ(ReasonText(json{{"reason", 3}}), "");
  EXPECT_EQ(FormatEstimatedStart(json::object(), kNow), "");
  EXPECT_EQ(FormatEstimatedStart(json{{"estimatedStartMs", kNow + 90'000}}, kNow), "in 1m30s");
  EXPECT_EQ(FormatEstimatedStart(json{{"estimatedStartMs", kNow - 5'000}}, kNow), "now");
}

// The trainer reports -1 for the accuracy of a job without a test set: never print "-1.000".
TEST(ProgressTest, NoTestSetShowsADashNotMinusOne) {
  EXPECT_EQ(FormatAccuracy(json{{"testAccuracy", -1.0}}, "testAccuracy", 3), "-");
  EXPECT_EQ(FormatAccuracy(json::object(), "testAccuracy", 3), "-");
  EXPECT_EQ(FormatAccuracy(json{{"testAccuracy", 0.0}}, "testAccuracy", 3), "0.000");
  json done = RunningJob();
  done["state"] = "SUCCEEDED";
  done["result"] = {{"testAccuracy", -1.0}, {"trainLoss", 0.3}};
  EXPECT_EQ(FormatProgressSummary(done), "acc -");
  done["finishedMs"] = kNow - 80'000 + 31'000;
  EXPECT_EQ(FormatFinalLine(done), "job 7 SUCCEEDED in 31s: train loss 0.3000");
  json running = RunningJob();
  running["progress"]["trainAccuracy"] = -1.0;
  EXPECT_EQ(FormatLiveLine(running, kNow),
            "RUNNING 1m12s | epoch 2/5 | step 340/468 | loss 0.3512 | acc - | 5123 samples/s");
  json p = RunningJob()["progress"];
  p["epochDone"] = true;
  p["testAccuracy"] = -1.0;
  EXPECT_EQ(FormatEpochLine(p),
            "epoch 2/5: loss 0.3512 | train acc 0.8740 | test acc - | 5123 samples/s");
}

TEST(ProgressTest, LiveLineNeverThrowsOnGarbage) {
  EXPECT_EQ(FormatLiveLine(json(), kNow), "UNKNOWN | starting");
  EXPECT_NO_THROW(FormatLiveLine(json::array({1, 2}), kNow));
  json bad = {{"state", 5}, {"progress", {{"epoch", "two"}, {"step", json::array()}}}};
  EXPECT_NO_THROW(FormatLiveLine(bad, kNow));
}

TEST(ProgressTest, EpochLine) {
  json p = RunningJob()["progress"];
  EXPECT_EQ(FormatEpochLine(p), "");  // not an epoch end
  p["epochDone"] = true;
  p["testAccuracy"] = 0.851;
  EXPECT_EQ(FormatEpochLine(p),
            "epoch 2/5: loss 0.3512 | train acc 0.8740 | test acc 0.8510 | 5123 samples/s");
}

TEST(ProgressTest, ListSummary) {
  EXPECT_EQ(FormatProgressSummary(RunningJob()), "ep 2/5 loss 0.351");
  json done = RunningJob();
  done["state"] = "SUCCEEDED";
  done["result"] = {{"testAccuracy", 0.87776}};
  EXPECT_EQ(FormatProgressSummary(done), "acc 0.878");
  EXPECT_EQ(FormatProgressSummary(json{{"state", "PENDING"}, {"progress", json::object()}}), "-");
}

TEST(ProgressTest, FinalLine) {
  json done = RunningJob();
  done["state"] = "SUCCEEDED";
  done["finishedMs"] = kNow - 80'000 + 31'000;
  done["result"] = {{"testAccuracy", 0.87776}, {"trainLoss", 0.3}};
  EXPECT_EQ(FormatFinalLine(done), "job 7 SUCCEEDED in 31s: test accuracy 0.8778");
  json failed = done;
  failed["state"] = "FAILED";
  failed["finishedMs"] = kNow - 68'000;
  failed["reason"] = "RankFailed: rank 1 on worker w-2 exited with code 1";
  EXPECT_EQ(FormatFinalLine(failed),
            "job 7 FAILED after 12s: RankFailed: rank 1 on worker w-2 exited with code 1");
  // No test set: the training loss is the result worth showing.
  json no_test = done;
  no_test["spec"] = {{"data", {{"test", ""}}}};
  EXPECT_EQ(FormatFinalLine(no_test), "job 7 SUCCEEDED in 31s: train loss 0.3000");
}

TEST(ExitCodeTest, MapsStatusCodes) {
  EXPECT_EQ(ExitCodeFor(StatusCode::kOk), 0);
  EXPECT_EQ(ExitCodeFor(StatusCode::kFailedPrecondition), 1);
  EXPECT_EQ(ExitCodeFor(StatusCode::kInvalidArgument), 2);
  EXPECT_EQ(ExitCodeFor(StatusCode::kResourceExhausted), 2);
  EXPECT_EQ(ExitCodeFor(StatusCode::kUnavailable), 3);
  EXPECT_EQ(ExitCodeFor(StatusCode::kDeadlineExceeded), 3);
  EXPECT_EQ(ExitCodeFor(StatusCode::kInternal), 3);
  EXPECT_EQ(ExitCodeFor(StatusCode::kNotFound), 4);
  EXPECT_EQ(ExitCodeFor(StatusCode::kPermissionDenied), 4);
  EXPECT_EQ(ExitCodeFor(StatusCode::kUnauthenticated), 4);
  EXPECT_EQ(ExitCodeFor(Unavailable("down")), kExitUnavailable);
}

TEST(JsonGetTest, FallbacksInsteadOfExceptions) {
  json j = {{"i", 3}, {"d", 2.5}, {"s", "x"}, {"b", true}, {"o", {{"k", 1}}}, {"a", {1}}};
  EXPECT_EQ(GetInt(j, "i"), 3);
  EXPECT_EQ(GetInt(j, "d"), 2);
  EXPECT_EQ(GetInt(j, "s", -1), -1);
  EXPECT_EQ(GetInt(json::array(), "i", -1), -1);
  EXPECT_EQ(GetDouble(j, "i"), 3.0);
  EXPECT_EQ(GetString(j, "i", "fb"), "fb");
  EXPECT_TRUE(GetBool(j, "b"));
  EXPECT_FALSE(GetBool(j, "s"));
  EXPECT_EQ(GetObject(j, "o").size(), 1u);
  EXPECT_TRUE(GetObject(j, "a").empty());
  EXPECT_EQ(GetArray(j, "a").size(), 1u);
  EXPECT_TRUE(GetArray(j, "missing").is_array());
  EXPECT_TRUE(HasNumber(j, "d"));
  EXPECT_FALSE(HasNumber(j, "s"));
  EXPECT_EQ(GetInt(json{{"huge", 1e300}}, "huge", 7), 7);
}

}  // namespace
}  // namespace shoal::cli

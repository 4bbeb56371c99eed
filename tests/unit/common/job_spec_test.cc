#include "common/spec/job_spec.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include "tests/testing/test_util.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <sstream>
#include <thread>

#include "common/duration.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

using ::shoal::testing::ReadFile;
using ::shoal::testing::RepoRoot;
using ::shoal::testing::YamlFiles;

std::string Describe(const std::vector<SpecError>& errors) {
  std::string out;
  for (const SpecError& e : errors) out += "  " + e.ToString() + "\n";
  return out;
}

// Parses `text` expecting failure; returns the errors.
std::vector<SpecError> ParseErrors(std::string_view text) {
  std::vector<SpecError> errors;
  Result<JobSpec> spec = ParseJobSpec(text, "job.yaml", &errors);
  EXPECT_FALSE(spec.ok()) << text;
  if (!spec.ok()) {
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
  }
  return errors;
}

constexpr char kMinimal[] = R"(apiVersion: shoal/v1
kind: TrainingJob
metadata: {name: m}
spec:
  model: {layers: [4, 3]}
  data: {train: /d}
)";

// kMinimal with `extra` appended under spec: (indented by two spaces by the caller).
std::string WithSpec(std::string_view extra) { return std::string(kMinimal) + std::string(extra); }

TEST(JobSpecExamples, ConfigsJobsParse) {
  const std::vector<fs::path> files = YamlFiles(RepoRoot() / "configs" / "jobs");
  ASSERT_GE(files.size(), 2u);
  for (const fs::path& file : files) {
    std::vector<SpecError> errors;
    Result<JobSpec> spec = LoadJobSpecFile(file.string(), &errors);
    EXPECT_TRUE(spec.ok()) << file << "\n" << Describe(errors);
  }
}

TEST(JobSpecExamples, FashionMnistMlpHasTheDocumentedValues) {
  Result<JobSpec> spec =
      LoadJobSpecFile((RepoRoot() / "configs" / "jobs" / "fashion-mnist-mlp.yaml").string());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->metadata.name, "fashion-mlp");
  EXPECT_EQ(spec->workers.min, 2);
  EXPECT_EQ(spec->workers.max, 2);
  EXPECT_EQ(spec->resources.backend, Backend::kCpu);
  EXPECT_EQ(spec->resources.gpus_per_worker, 0);
  EXPECT_EQ(spec->model.layers, (std::vector<int>{784, 256, 128, 10}));
  EXPECT_EQ(spec->model.activation, Activation::kRelu);
  EXPECT_EQ(spec->model.loss, LossKind::kCrossEntropy);
  EXPECT_EQ(spec->data.train, "/usr/share/datasets/fashion-mnist/train");
  EXPECT_EQ(spec->data.test, "/usr/share/datasets/fashion-mnist/t10k");
  EXPECT_EQ(spec->data.format, DataFormat::kIdx);
  EXPECT_EQ(spec->optimizer.kind, OptimizerKind::kAdamW);
  EXPECT_DOUBLE_EQ(spec->optimizer.lr, 0.001);
  EXPECT_EQ(spec->training.epochs, 5);
  EXPECT_EQ(spec->training.batch_size, 128);
  EXPECT_EQ(spec->training.seed, 1u);
  EXPECT_EQ(spec->training.precision, Precision::kFp32);
  EXPECT_EQ(spec->checkpoint.every_seconds, 60);
  EXPECT_EQ(spec->checkpoint.keep, 2);
  EXPECT_EQ(spec->limits.max_runtime_seconds, 3600);
  EXPECT_EQ(spec->limits.max_retries, 3);
}

TEST(JobSpecExamples, TinyMlpIsASmokeJob) {
  Result<JobSpec> spec =
      LoadJobSpecFile((RepoRoot() / "configs" / "jobs" / "tiny-mlp.yaml").string());
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->workers.min, 1);
  EXPECT_EQ(spec->workers.max, 1);
  EXPECT_EQ(spec->model.layers, (std::vector<int>{784, 32, 10}));
  EXPECT_EQ(spec->training.epochs, 1);
  EXPECT_EQ(spec->optimizer.kind, OptimizerKind::kSgd);
  EXPECT_DOUBLE_EQ(spec->optimizer.lr, 0.05);
  EXPECT_DOUBLE_EQ(spec->optimizer.momentum, 0.9);
}

TEST(JobSpecExamples, GoodSpecsParse) {
  const std::vector<fs::path> files = YamlFiles(RepoRoot() / "tests" / "data" / "good_specs");
  ASSERT_GE(files.size(), 3u);
  for (const fs::path& file : files) {
    std::vector<SpecError> errors;
    Result<JobSpec> spec = LoadJobSpecFile(file.string(), &errors);
    EXPECT_TRUE(spec.ok()) << file << "\n" << Describe(errors);
  }
}

TEST(JobSpecExamples, GoodSpecVariantsReadEveryStyle) {
  const fs::path dir = RepoRoot() / "tests" / "data" / "good_specs";
  Result<JobSpec> json = LoadJobSpecFile((dir / "json-flow.yaml").string());
  ASSERT_TRUE(json.ok()) << json.status().ToString();
  EXPECT_EQ(json->priority, 100);
  EXPECT_EQ(json->metadata.labels.at("n"), "3");
  EXPECT_EQ(json->data.test, "");
  EXPECT_FALSE(json->data.shuffle);
  EXPECT_DOUBLE_EQ(json->optimizer.eps, 1e-6);
  EXPECT_EQ(json->limits.max_runtime_seconds, 5400);
  EXPECT_EQ(json->training.seed, 0u);

  Result<JobSpec> regression = LoadJobSpecFile((dir / "high-gelu-mse-npy.yaml").string());
  ASSERT_TRUE(regression.ok()) << regression.status().ToString();
  EXPECT_EQ(regression->priority, 750);
  EXPECT_EQ(regression->model.activation, Activation::kGelu);
  EXPECT_EQ(regression->model.loss, LossKind::kMse);
  EXPECT_EQ(regression->data.format, DataFormat::kNpy);
  EXPECT_EQ(regression->workers.max, 2);  // only min was written
  EXPECT_EQ(regression->training.precision, Precision::kBf16);
  EXPECT_DOUBLE_EQ(regression->optimizer.lr, 3e-4);
  EXPECT_EQ(regression->limits.max_runtime_seconds, 36 * 3600);

  Result<JobSpec> large = LoadJobSpecFile((dir / "elastic-large.yaml").string());
  ASSERT_TRUE(large.ok()) << large.status().ToString();
  EXPECT_EQ(large->training.seed, uint64_t{1} << 63);
  EXPECT_EQ(large->workers.max, 4096);
  EXPECT_EQ(large->resources.gpu_types,
            (std::vector<std::string>{"H100", "H200", "NVIDIA A100-SXM4-80GB"}));
  EXPECT_EQ(large->metadata.labels.at("empty"), "");
  EXPECT_EQ(large->limits.max_runtime_seconds, 365 * 86400);
}

TEST(JobSpecDefaults, MinimalSpecGetsEveryDocumentedDefault) {
  Result<JobSpec> spec = ParseJobSpec(kMinimal);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  JobSpec expected;
  expected.metadata.name = "m";
  expected.model.layers = {4, 3};
  expected.data.train = "/d";
  EXPECT_EQ(*spec, expected);
  // Spelled out, so that a changed default in the header fails here too.
  EXPECT_EQ(spec->api_version, "shoal/v1");
  EXPECT_EQ(spec->kind, "TrainingJob");
  EXPECT_EQ(spec->metadata.project, "default");
  EXPECT_TRUE(spec->metadata.labels.empty());
  EXPECT_EQ(spec->queue, "default");
  EXPECT_EQ(spec->priority, 500);
  EXPECT_EQ(spec->workers.min, 1);
  EXPECT_EQ(spec->workers.max, 1);
  EXPECT_EQ(spec->resources.backend, Backend::kAuto);
  EXPECT_EQ(spec->resources.gpus_per_worker, 1);
  EXPECT_TRUE(spec->resources.gpu_types.empty());
  EXPECT_EQ(spec->resources.min_gpu_memory_gib, 0);
  EXPECT_EQ(spec->model.kind, "mlp");
  EXPECT_EQ(spec->model.activation, Activation::kRelu);
  EXPECT_EQ(spec->model.loss, LossKind::kCrossEntropy);
  EXPECT_EQ(spec->model.init, "");
  EXPECT_EQ(spec->data.test, "");
  EXPECT_EQ(spec->data.format, DataFormat::kAuto);
  EXPECT_TRUE(spec->data.normalize);
  EXPECT_TRUE(spec->data.shuffle);
  EXPECT_EQ(spec->optimizer.kind, OptimizerKind::kAdamW);
  EXPECT_EQ(spec->optimizer.lr, 0.001);
  EXPECT_EQ(spec->optimizer.momentum, 0.9);
  EXPECT_EQ(spec->optimizer.beta1, 0.9);
  EXPECT_EQ(spec->optimizer.beta2, 0.999);
  EXPECT_EQ(spec->optimizer.eps, 1e-8);
  EXPECT_EQ(spec->optimizer.weight_decay, 0.0);
  EXPECT_EQ(spec->training.epochs, 5);
  EXPECT_EQ(spec->training.batch_size, 128);
  EXPECT_EQ(spec->training.seed, 1u);
  EXPECT_EQ(spec->training.precision, Precision::kFp32);
  EXPECT_EQ(spec->checkpoint.every_seconds, 60);
  EXPECT_EQ(spec->checkpoint.keep, 2);
  EXPECT_EQ(spec->limits.max_runtime_seconds, 7200);
  EXPECT_EQ(spec->limits.max_retries, 3);
}

TEST(JobSpecDefaults, NullCountsAsNotWritten) {
  Result<JobSpec> spec = ParseJobSpec(WithSpec("  training:\n    epochs:\n    seed: ~\n"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->training.epochs, 5);
  EXPECT_EQ(spec->training.seed, 1u);
}

TEST(JobSpecFields, PriorityNamesAndIntegers) {
  const std::pair<const char*, int> cases[] = {{"low", 250}, {"normal", 500}, {"high", 750},
                                               {"0", 0},     {"1000", 1000},  {"+42", 42}};
  for (const auto& [text, value] : cases) {
    Result<JobSpec> spec = ParseJobSpec(WithSpec(std::string("  priority: ") + text + "\n"));
    ASSERT_TRUE(spec.ok()) << text << ": " << spec.status().ToString();
    EXPECT_EQ(spec->priority, value) << text;
  }
  for (const char* bad : {"-1", "1001", "HIGH", "\"750\"", "1.5", "[high]"}) {
    std::vector<SpecError> errors = ParseErrors(WithSpec(std::string("  priority: ") + bad + "\n"));
    ASSERT_EQ(errors.size(), 1u) << bad << "\n" << Describe(errors);
    EXPECT_EQ(errors[0].field, "spec.priority");
  }
}

TEST(JobSpecFields, WorkersMaxFollowsMinOnlyWhenNotWritten) {
  Result<JobSpec> only_min = ParseJobSpec(WithSpec("  workers: {min: 3}\n"));
  ASSERT_TRUE(only_min.ok());
  EXPECT_EQ(only_min->workers.max, 3);
  Result<JobSpec> only_max = ParseJobSpec(WithSpec("  workers: {max: 8}\n"));
  ASSERT_TRUE(only_max.ok());
  EXPECT_EQ(only_max->workers.min, 1);
  EXPECT_EQ(only_max->workers.max, 8);
}

TEST(JobSpecFields, MaxRuntimeTakesDurationsAndSeconds) {
  const std::pair<const char*, int64_t> cases[] = {
      {"90s", 90},    {"30m", 1800},     {"2h", 7200}, {"1h30m", 5400},      {"1d", 86400},
      {"3600", 3600}, {"\"45m\"", 2700}, {"1", 1},     {"365d", 365 * 86400}};
  for (const auto& [text, seconds] : cases) {
    Result<JobSpec> spec =
        ParseJobSpec(WithSpec(std::string("  limits: {maxRuntime: ") + text + "}\n"));
    ASSERT_TRUE(spec.ok()) << text << ": " << spec.status().ToString();
    EXPECT_EQ(spec->limits.max_runtime_seconds, seconds) << text;
  }
  for (const char* bad : {"0", "0s", "-5", "1.5h", "1w", "30m1h", "h", "1h 30m", "365d1s"}) {
    std::vector<SpecError> errors =
        ParseErrors(WithSpec(std::string("  limits: {maxRuntime: ") + bad + "}\n"));
    ASSERT_EQ(errors.size(), 1u) << bad << "\n" << Describe(errors);
    EXPECT_EQ(errors[0].field, "spec.limits.maxRuntime") << bad;
  }
}

TEST(JobSpecFields, LabelsAreStrings) {
  Result<JobSpec> spec = ParseJobSpec(
      "apiVersion: shoal/v1\nkind: TrainingJob\n"
      "metadata: {name: m, labels: {team: vision, version: 2, ok: true}}\n"
      "spec: {model: {layers: [2, 2]}, data: {train: x}}\n");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->metadata.labels, (std::map<std::string, std::string>{
                                       {"team", "vision"}, {"version", "2"}, {"ok", "true"}}));

  std::string many = "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata:\n  name: m\n  labels:\n";
  for (int i = 0; i < 65; ++i) many += "    k" + std::to_string(i) + ": v\n";
  many += "spec: {model: {layers: [2, 2]}, data: {train: x}}\n";
  std::vector<SpecError> errors = ParseErrors(many);
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(errors[0].field, "metadata.labels");
  EXPECT_EQ(errors[0].line, 5);
}

TEST(JobSpecErrors, MessageSaysWhatWasFoundAndWhatIsAllowed) {
  std::vector<SpecError> errors = ParseErrors(WithSpec("  workers: {min: two}\n"));
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(errors[0].field, "spec.workers.min");
  EXPECT_EQ(errors[0].message, "found \"two\", expected an integer in 1..4096");
  EXPECT_EQ(errors[0].line, 7);
  EXPECT_EQ(errors[0].column, 18);

  errors = ParseErrors(WithSpec("  workers: {min: -1}\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "found -1, expected an integer in 1..4096");

  errors = ParseErrors(WithSpec("  training: {seed: 99999999999999999999}\n"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("99999999999999999999"), std::string::npos);
  EXPECT_NE(errors[0].message.find("0..9223372036854775808"), std::string::npos);
}

TEST(JobSpecErrors, UnknownFieldNamesTheAllowedOnesAndSuggestsAFix) {
  std::vector<SpecError> errors = ParseErrors(WithSpec("  wrokers: {min: 2}\n"));
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(errors[0].field, "spec.wrokers");
  EXPECT_EQ(errors[0].message,
            "unknown field \"wrokers\" (did you mean \"workers\"?); allowed: queue, priority, "
            "workers, resources, model, data, optimizer, training, checkpoint, limits, output");
}

TEST(JobSpecErrors, AllErrorsAreReportedInFileOrder) {
  std::vector<SpecError> errors;
  Result<JobSpec> spec = ParseJobSpec(
      "apiVersion: shoal/v1\n"
      "kind: TrainingJob\n"
      "metadata: {name: BAD}\n"
      "spec:\n"
      "  workers: {min: 0}\n"
      "  model: {layers: [4, 3], activation: sigmoid}\n"
      "  data: {train: /d, shuffle: maybe}\n",
      "multi.yaml", &errors);
  ASSERT_FALSE(spec.ok());
  ASSERT_EQ(errors.size(), 4u) << Describe(errors);
  EXPECT_EQ(errors[0].field, "metadata.name");
  EXPECT_EQ(errors[1].field, "spec.workers.min");
  EXPECT_EQ(errors[2].field, "spec.model.activation");
  EXPECT_EQ(errors[3].field, "spec.data.shuffle");
  // The status message carries every error, one per line.
  std::string joined;
  for (const SpecError& e : errors) joined += (joined.empty() ? "" : "\n") + e.ToString();
  EXPECT_EQ(spec.status().message(), joined);
}

TEST(JobSpecErrors, ErrorsAreAppendedNotReplaced) {
  std::vector<SpecError> errors = {SpecError{"earlier.yaml", 1, 1, "x", "kept"}};
  EXPECT_FALSE(ParseJobSpec("", "empty.yaml", &errors).ok());
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].message, "kept");
  EXPECT_EQ(errors[1].message, "empty job spec");
  EXPECT_EQ(errors[1].field, "");
}

TEST(JobSpecErrors, SpecErrorToStringHasFileLineColumnAndField) {
  const SpecError error{"job.yaml", 3, 5, "spec.workers.min", "found -1, expected 1..4096"};
  EXPECT_EQ(error.ToString(), "job.yaml:3:5: spec.workers.min: found -1, expected 1..4096");
  EXPECT_EQ((SpecError{"job.yaml", 0, 0, "", "empty job spec"}).ToString(),
            "job.yaml: empty job spec");
  EXPECT_EQ((SpecError{"job.yaml", 2, 1, "", "invalid YAML: x"}).ToString(),
            "job.yaml:2:1: invalid YAML: x");

  std::vector<SpecError> errors;
  Result<JobSpec> spec = ParseJobSpec(WithSpec("  workers: {min: 0}\n"), "my/job.yaml", &errors);
  ASSERT_FALSE(spec.ok());
  ASSERT_EQ(errors.size(), 1u);
  const std::string text = errors[0].ToString();
  EXPECT_NE(text.find("my/job.yaml:7:18:"), std::string::npos) << text;
  EXPECT_NE(text.find("spec.workers.min"), std::string::npos) << text;
  EXPECT_NE(spec.status().message().find("my/job.yaml:7:18: spec.workers.min: found 0"),
            std::string::npos)
      << spec.status().message();
}

// Each tests/data/bad_specs/NN-name.yaml starts with "# expect: <field> <line>" ("-" for field "").
TEST(JobSpecErrors, BadSpecTable) {
  const std::vector<fs::path> files = YamlFiles(RepoRoot() / "tests" / "data" / "bad_specs");
  ASSERT_GE(files.size(), 24u);
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    std::istringstream first_line(ReadFile(file).substr(0, ReadFile(file).find('\n')));
    std::string hash, expect, field;
    int line = -1;
    first_line >> hash >> expect >> field >> line;
    ASSERT_EQ(hash + " " + expect, "# expect:") << "first line must be '# expect: <field> <line>'";
    ASSERT_GE(line, 0);
    if (field == "-") field = "";

    std::vector<SpecError> errors;
    Result<JobSpec> spec = LoadJobSpecFile(file.string(), &errors);
    ASSERT_FALSE(spec.ok()) << "parsed, but should have failed";
    EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
    ASSERT_FALSE(errors.empty());
    EXPECT_NE(spec.status().message().find(errors[0].ToString()), std::string::npos);
    const bool found = std::any_of(errors.begin(), errors.end(), [&](const SpecError& e) {
      return e.field == field && e.line == line && e.file == file.string() && !e.message.empty();
    });
    EXPECT_TRUE(found) << "expected field \"" << field << "\" on line " << line << ", got:\n"
                       << Describe(errors);
  }
}

TEST(JobSpecErrors, WrongTypesAtEveryLevelAreReportedNotThrown) {
  const char* cases[] = {"spec: []\n",
                         "metadata: 5\n",
                         "spec: {data: [a]}\n",
                         "spec: {model: {layers: {a: 1}}}\n",
                         "spec: {optimizer: {betas: 0.9}}\n",
                         "spec: {resources: {gpuTypes: H100}}\n",
                         "spec: {model: {layers: [2, ~]}}\n",
                         "? [a, b]\n: 1\n"};
  for (const char* tail : cases) {
    const std::string text = "apiVersion: shoal/v1\nkind: TrainingJob\n" + std::string(tail);
    std::vector<SpecError> errors = ParseErrors(text);
    EXPECT_FALSE(errors.empty()) << text;
    for (const SpecError& e : errors) EXPECT_FALSE(e.message.empty()) << text;
  }
}

TEST(JobSpecErrors, ManyErrorsAreCapped) {
  std::string text = WithSpec("  training:\n");
  for (int i = 0; i < 200; ++i) text += "    typo" + std::to_string(i) + ": 1\n";
  std::vector<SpecError> errors = ParseErrors(text);
  ASSERT_EQ(errors.size(), kMaxReportedSpecErrors);
  EXPECT_EQ(errors.front().field, "spec.training.typo0");
  EXPECT_EQ(errors.back().message,
            std::to_string(200 - kMaxReportedSpecErrors + 1) + " more errors not shown");
}

TEST(JobSpecErrors, OversizedTextIsRejected) {
  std::string text = std::string(kMinimal) + "# " + std::string(kMaxJobSpecBytes, 'x') + "\n";
  std::vector<SpecError> errors = ParseErrors(text);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].field, "");
}

TEST(JobSpecJson, RoundTripGivesAnEqualSpec) {
  std::vector<fs::path> files = YamlFiles(RepoRoot() / "configs" / "jobs");
  for (const fs::path& f : YamlFiles(RepoRoot() / "tests" / "data" / "good_specs")) {
    files.push_back(f);
  }
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.filename().string());
    Result<JobSpec> spec = LoadJobSpecFile(file.string());
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    const nlohmann::json json = JobSpecToJson(*spec);
    for (int indent : {-1, 2}) {
      std::vector<SpecError> errors;
      Result<JobSpec> again = ParseJobSpec(json.dump(indent), "<json>", &errors);
      ASSERT_TRUE(again.ok()) << json.dump(2) << "\n" << Describe(errors);
      EXPECT_EQ(*again, *spec);
      EXPECT_EQ(JobSpecToJson(*again), json);
    }
  }
}

TEST(JobSpecJson, EveryFieldIsPresentInCamelCase) {
  Result<JobSpec> spec = ParseJobSpec(kMinimal);
  ASSERT_TRUE(spec.ok());
  const nlohmann::json j = JobSpecToJson(*spec);
  EXPECT_EQ(j["apiVersion"], "shoal/v1");
  EXPECT_EQ(j["kind"], "TrainingJob");
  EXPECT_EQ(j["metadata"]["name"], "m");
  EXPECT_EQ(j["metadata"]["project"], "default");
  EXPECT_TRUE(j["metadata"]["labels"].is_object());
  const nlohmann::json& s = j["spec"];
  EXPECT_EQ(s["queue"], "default");
  EXPECT_EQ(s["priority"], 500);
  EXPECT_EQ(s["workers"], (nlohmann::json{{"min", 1}, {"max", 1}}));
  EXPECT_EQ(s["resources"]["backend"], "auto");
  EXPECT_EQ(s["resources"]["gpusPerWorker"], 1);
  EXPECT_TRUE(s["resources"]["gpuTypes"].is_array());
  EXPECT_EQ(s["resources"]["minGpuMemoryGiB"], 0.0);
  EXPECT_EQ(s["model"]["kind"], "mlp");
  EXPECT_EQ(s["model"]["layers"], (nlohmann::json{4, 3}));
  EXPECT_EQ(s["model"]["activation"], "relu");
  EXPECT_EQ(s["model"]["loss"], "cross_entropy");
  EXPECT_EQ(s["model"]["init"], "");
  EXPECT_EQ(s["data"]["train"], "/d");
  EXPECT_EQ(s["data"]["test"], "");
  EXPECT_EQ(s["data"]["format"], "auto");
  EXPECT_EQ(s["data"]["normalize"], true);
  EXPECT_EQ(s["data"]["shuffle"], true);
  EXPECT_EQ(s["optimizer"]["kind"], "adamw");
  EXPECT_EQ(s["optimizer"]["lr"], 0.001);
  EXPECT_EQ(s["optimizer"]["momentum"], 0.9);
  EXPECT_EQ(s["optimizer"]["betas"], (nlohmann::json{0.9, 0.999}));
  EXPECT_EQ(s["optimizer"]["eps"], 1e-8);
  EXPECT_EQ(s["optimizer"]["weightDecay"], 0.0);
  EXPECT_EQ(s["training"]["epochs"], 5);
  EXPECT_EQ(s["training"]["batchSize"], 128);
  EXPECT_EQ(s["training"]["seed"], 1);
  EXPECT_EQ(s["training"]["precision"], "fp32");
  EXPECT_EQ(s["checkpoint"]["everySeconds"], 60);
  EXPECT_EQ(s["checkpoint"]["keep"], 2);
  EXPECT_EQ(s["limits"]["maxRuntime"], "2h");
  EXPECT_EQ(s["limits"]["maxRetries"], 3);
  EXPECT_EQ(s["output"]["model"], "");
  EXPECT_EQ(s["output"]["visibility"], "auto");
  EXPECT_EQ(s.size(), 11u);
}

// model.init is a path like data.train: a registry URI or a local file, kept as written (the
// worker resolves it), at most 4096 bytes, and it survives the canonical JSON.
TEST(JobSpecFields, ModelInitIsAPathThatRoundTrips) {
  for (const std::string init :
       {"shoal://models/alice/mnist-mlp@v1", "shoal://models/alice/mnist-mlp@v1/final.safetensors",
        "/usr/share/datasets/models/mlp.safetensors"}) {
    SCOPED_TRACE(init);
    const std::string text = std::string(R"(apiVersion: shoal/v1
kind: TrainingJob
metadata: {name: m}
spec:
  model: {layers: [4, 3], init: ")") +
                             init + R"("}
  data: {train: /d}
)";
    Result<JobSpec> spec = ParseJobSpec(text);
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    EXPECT_EQ(spec->model.init, init);
    const nlohmann::json json = JobSpecToJson(*spec);
    EXPECT_EQ(json["spec"]["model"]["init"], init);
    Result<JobSpec> again = ParseJobSpec(json.dump());
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(*again, *spec);
  }
  const std::string too_long =
      std::string("apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: m}\nspec:\n") +
      "  model: {layers: [4, 3], init: /" + std::string(4096, 'a') + "}\n  data: {train: /d}\n";
  std::vector<SpecError> errors = ParseErrors(too_long);
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(errors[0].field, "spec.model.init");
  errors = ParseErrors(std::string(R"(apiVersion: shoal/v1
kind: TrainingJob
metadata: {name: m}
spec:
  model: {layers: [4, 3], init: [a]}
  data: {train: /d}
)"));
  ASSERT_EQ(errors.size(), 1u) << Describe(errors);
  EXPECT_EQ(errors[0].field, "spec.model.init");
  errors = ParseErrors(std::string(R"(apiVersion: shoal/v1
kind: TrainingJob
metadata: {name: m}
spec:
  model: {layers: [4, 3], inti: /x}
  data: {train: /d}
)"));
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors[0].message.find("init"), std::string::npos) << Describe(errors);
}

// output.model names the model a successful job publishes: a DNS label, with an optional version
// name; both survive the canonical JSON, and bad ones are reported at their own field.
TEST(JobSpecFields, OutputModelIsCheckedAndRoundTrips) {
  const std::string head =
      "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: m}\nspec:\n"
      "  model: {layers: [4, 3]}\n  data: {train: /d}\n";
  Result<JobSpec> spec =
      ParseJobSpec(head +
                   "  output: {model: fashion-mlp, version: v1.2_rc-1, visibility: private, "
                   "license: MIT, description: fine-tuned}\n");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->output.model, "fashion-mlp");
  EXPECT_EQ(spec->output.version, "v1.2_rc-1");
  EXPECT_EQ(spec->output.visibility, "private");
  EXPECT_EQ(spec->output.license, "MIT");
  EXPECT_EQ(spec->output.description, "fine-tuned");
  Result<JobSpec> again = ParseJobSpec(JobSpecToJson(*spec).dump());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *spec);

  const std::pair<std::string, std::string> bad[] = {
      {"model: Fashion", "spec.output.model"},
      {"model: a.b", "spec.output.model"},
      {"model: m, version: latest", "spec.output.version"},
      {"model: m, version: -v", "spec.output.version"},
      {"model: m, version: a/b", "spec.output.version"},
      {"model: m, visibility: secret", "spec.output.visibility"},
      {"model: m, licence: MIT", "spec.output.licence"},
  };
  for (const auto& [output, field] : bad) {
    SCOPED_TRACE(output);
    std::vector<SpecError> errors = ParseErrors(head + "  output: {" + output + "}\n");
    ASSERT_EQ(errors.size(), 1u) << Describe(errors);
    EXPECT_EQ(errors[0].field, field);
  }
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

// model.kind gpt: the block count in `layers`, the transformer's sizes required, token data and
// the cpu backend; the mlp's own fields refused with it, and the gpt's refused for an mlp.
TEST(JobSpecFields, GptModelsAreCheckedAndRoundTrip) {
  const std::string head = "apiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: g}\nspec:\n";
  const std::string good = head +
                           "  resources: {backend: cpu, gpusPerWorker: 0}\n"
                           "  model: {kind: gpt, layers: 2, vocabSize: 256, contextLength: 64, "
                           "heads: 4, embedDim: 64}\n"
                           "  data: {train: /d/train, test: /d/val}\n";
  Result<JobSpec> spec = ParseJobSpec(good);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_TRUE(spec->model.is_gpt());
  EXPECT_EQ(spec->model.blocks, 2);
  EXPECT_EQ(spec->model.embed_dim, 64);
  EXPECT_EQ(ModelParameterCount(spec->model),
            256 * 64 + 64 * 64 + 2 * (12 * 64 * 64 + 13 * 64) + 2 * 64);
  // nanoGPT's count: 6 x (parameters - position embeddings) + 12 x blocks x C x T per token.
  EXPECT_DOUBLE_EQ(
      ModelFlopsPerSample(spec->model),
      64.0 * (6.0 * (ModelParameterCount(spec->model) - 64 * 64) + 12.0 * 2 * 64 * 64));
  Result<JobSpec> again = ParseJobSpec(JobSpecToJson(*spec).dump());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *spec);

  const std::pair<std::string, std::string> bad[] = {
      {Replace(good, "embedDim: 64", "embedDim: 66"), "spec.model.embedDim"},
      {Replace(good, "layers: 2", "layers: [2, 3]"), "spec.model.layers"},
      {Replace(good, ", heads: 4", ""), "spec.model.heads"},
      {Replace(good, "kind: gpt,", "kind: gpt, activation: relu,"), "spec.model.activation"},
      {Replace(good, "backend: cpu, gpusPerWorker: 0", "backend: auto"), "spec.resources.backend"},
      {Replace(good, "test: /d/val}", "test: /d/val, format: idx}"), "spec.data.format"},
      {head + "  model: {layers: [4, 3], vocabSize: 9}\n  data: {train: /d}\n",
       "spec.model.vocabSize"},
      {head + "  model: {layers: [4, 3]}\n  data: {train: /d, format: tokens}\n",
       "spec.data.format"},
  };
  for (const auto& [text, field] : bad) {
    SCOPED_TRACE(text);
    std::vector<SpecError> errors = ParseErrors(text);
    ASSERT_FALSE(errors.empty());
    bool found = false;
    for (const SpecError& e : errors) found |= e.field == field;
    EXPECT_TRUE(found) << Describe(errors);
  }
}

TEST(JobSpecFields, TrainingKnobsAndTheScheduleAreCheckedAndRoundTrip) {
  const std::string good = WithSpec(
      "  optimizer: {lr: 0.0006, schedule: {kind: cosine, warmupSteps: 100, minLr: 0.00006, "
      "decaySteps: 5000}}\n"
      "  training: {gradAccumulation: 4, clipGradNorm: 1.0, evalEverySteps: 250, evalBatches: "
      "20}\n");
  Result<JobSpec> spec = ParseJobSpec(good);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->optimizer.schedule.kind, "cosine");
  EXPECT_EQ(spec->optimizer.schedule.warmup_steps, 100);
  EXPECT_DOUBLE_EQ(spec->optimizer.schedule.min_lr, 0.00006);
  EXPECT_EQ(spec->optimizer.schedule.decay_steps, 5000);
  EXPECT_EQ(spec->training.grad_accumulation, 4);
  EXPECT_DOUBLE_EQ(spec->training.clip_grad_norm, 1.0);
  EXPECT_EQ(spec->training.eval_every_steps, 250);
  EXPECT_EQ(spec->training.eval_batches, 20);
  Result<JobSpec> again = ParseJobSpec(JobSpecToJson(*spec).dump());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *spec);

  // Defaults: no schedule, no accumulation, no clipping, evaluation at epoch ends on all of it.
  Result<JobSpec> plain = ParseJobSpec(kMinimal);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->optimizer.schedule, JobSpec::Optimizer::Schedule{});
  EXPECT_EQ(plain->training.grad_accumulation, 1);
  EXPECT_EQ(plain->training.clip_grad_norm, 0);
  EXPECT_EQ(plain->training.eval_every_steps, 0);
  EXPECT_EQ(plain->training.eval_batches, 0);

  const std::pair<std::string, std::string> bad[] = {
      {WithSpec("  optimizer: {lr: 0.001, schedule: {kind: cosine, minLr: 0.01}}\n"),
       "spec.optimizer.schedule.minLr"},
      {WithSpec("  optimizer: {schedule: {minLr: 0.0001}}\n"), "spec.optimizer.schedule.minLr"},
      {WithSpec("  optimizer: {schedule: {kind: constant, decaySteps: 10}}\n"),
       "spec.optimizer.schedule.decaySteps"},
      {WithSpec("  optimizer: {schedule: {kind: linear}}\n"), "spec.optimizer.schedule.kind"},
      {WithSpec("  optimizer: {schedule: {warmupSteps: -1}}\n"),
       "spec.optimizer.schedule.warmupSteps"},
      {WithSpec("  optimizer: {schedule: {warmup: 10}}\n"), "spec.optimizer.schedule.warmup"},
      {WithSpec("  training: {gradAccumulation: 0}\n"), "spec.training.gradAccumulation"},
      {WithSpec("  training: {gradAccumulation: 1025}\n"), "spec.training.gradAccumulation"},
      {WithSpec("  training: {clipGradNorm: -1}\n"), "spec.training.clipGradNorm"},
      {WithSpec("  training: {evalEverySteps: 1.5}\n"), "spec.training.evalEverySteps"},
      {WithSpec("  training: {evalBatches: -2}\n"), "spec.training.evalBatches"},
  };
  for (const auto& [text, field] : bad) {
    SCOPED_TRACE(text);
    std::vector<SpecError> errors = ParseErrors(text);
    ASSERT_FALSE(errors.empty());
    bool found = false;
    for (const SpecError& e : errors) found |= e.field == field;
    EXPECT_TRUE(found) << Describe(errors);
  }
}

TEST(JobSpecEnums, ToStringGivesTheYamlSpelling) {
  EXPECT_STREQ(ToString(Backend::kAuto), "auto");
  EXPECT_STREQ(ToString(Backend::kCuda), "cuda");
  EXPECT_STREQ(ToString(Backend::kCpu), "cpu");
  EXPECT_STREQ(ToString(Activation::kGelu), "gelu");
  EXPECT_STREQ(ToString(Activation::kTanh), "tanh");
  EXPECT_STREQ(ToString(LossKind::kCrossEntropy), "cross_entropy");
  EXPECT_STREQ(ToString(LossKind::kMse), "mse");
  EXPECT_STREQ(ToString(DataFormat::kCsv), "csv");
  EXPECT_STREQ(ToString(OptimizerKind::kSgd), "sgd");
  EXPECT_STREQ(ToString(OptimizerKind::kAdamW), "adamw");
  EXPECT_STREQ(ToString(Precision::kBf16), "bf16");
  EXPECT_STREQ(ToString(static_cast<Precision>(42)), "invalid");
}

TEST(ModelFlopsPerSample, AnMlpCountsSixFlopsPerWeight) {
  JobSpec::Model m;
  m.layers = {784, 256, 10};
  EXPECT_DOUBLE_EQ(ModelFlopsPerSample(m), 6.0 * (784 * 256 + 256 * 10));
}

TEST(MlpParameterCount, CountsWeightsAndBiases) {
  EXPECT_EQ(MlpParameterCount({784, 256, 128, 10}),
            784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ(MlpParameterCount({4, 3}), 15);
  EXPECT_EQ(MlpParameterCount({7}), 0);
  EXPECT_EQ(MlpParameterCount({}), 0);
  const int big = std::numeric_limits<int>::max();
  std::vector<int> huge(10, big);
  EXPECT_GT(MlpParameterCount(huge), int64_t{1} << 62);  // no overflow to a negative count
  EXPECT_EQ(MlpParameterCount(std::vector<int>(10000, big)),
            std::numeric_limits<int64_t>::max());  // saturates
}

TEST(Duration, ParsesAndFormats) {
  EXPECT_EQ(*ParseDurationSeconds("90s"), 90);
  EXPECT_EQ(*ParseDurationSeconds("1d2h3m4s"), 93784);
  EXPECT_EQ(*ParseDurationSeconds("0"), 0);
  EXPECT_EQ(*ParseDurationSeconds("90m"), 5400);
  for (const char* bad : {"", "s", "1x", "1h1h", "1m1h", "1h30", "-1s", "1.5h", " 1h",
                          "99999999999999999999", "9223372036854775807d"}) {
    EXPECT_FALSE(ParseDurationSeconds(bad).ok()) << bad;
  }
  EXPECT_EQ(FormatDurationSeconds(5400), "1h30m");
  EXPECT_EQ(FormatDurationSeconds(86400), "1d");
  EXPECT_EQ(FormatDurationSeconds(0), "0s");
  EXPECT_EQ(FormatDurationSeconds(93784), "1d2h3m4s");
  for (int64_t s : {int64_t{1}, int64_t{59}, int64_t{3601}, int64_t{31536000},
                    std::numeric_limits<int64_t>::max()}) {
    Result<int64_t> back = ParseDurationSeconds(FormatDurationSeconds(s));
    ASSERT_TRUE(back.ok()) << FormatDurationSeconds(s);
    EXPECT_EQ(*back, s);
  }
}

// One grammar for both: compound parts d, h, m, s, ms in order, a fraction allowed in a part, a
// bare number in seconds. ParseDurationSeconds takes its whole-second subset.
TEST(Duration, OneGrammarInMilliseconds) {
  EXPECT_EQ(*ParseDurationMs("500ms"), 500);
  EXPECT_EQ(*ParseDurationMs("1h30m"), 5'400'000);
  EXPECT_EQ(*ParseDurationMs("1.5h"), 5'400'000);
  EXPECT_EQ(*ParseDurationMs("1d12h"), 129'600'000);
  EXPECT_EQ(*ParseDurationMs("2s500ms"), 2500);
  EXPECT_EQ(*ParseDurationMs("1m1.5s"), 61'500);
  EXPECT_EQ(*ParseDurationMs("1.5"), 1500);  // bare: seconds
  EXPECT_EQ(*ParseDurationMs(".5s"), 500);
  EXPECT_EQ(*ParseDurationMs("0.29s"), 290);  // exact decimal arithmetic, no 289.999...
  EXPECT_EQ(*ParseDurationMs("1.9ms"), 1);    // rounded down
  EXPECT_EQ(*ParseDurationMs("7d"), 604'800'000);
  EXPECT_EQ(*ParseDurationMs("0"), 0);
  EXPECT_EQ(*ParseDurationMs("9223372036854775807ms"), std::numeric_limits<int64_t>::max());
  for (const char* bad : {"", ".", "ms", "1ms1s", "1s1s", "1h30", "1.5.5s", "1e3s", "+1s", "1 s",
                          "1S", "1w", "9223372036854775808ms", "106751991167301d"}) {
    Result<int64_t> r = ParseDurationMs(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("invalid duration"), std::string::npos) << bad;
  }
  // The whole-second subset: the same texts in seconds, fractions and ms refused.
  EXPECT_EQ(*ParseDurationSeconds("1h30m"), 5400);
  EXPECT_EQ(*ParseDurationSeconds("2h0m5s"), 7205);
  for (const char* bad : {"500ms", "1.5", "1s500ms", "1.0s"}) {
    EXPECT_FALSE(ParseDurationSeconds(bad).ok()) << bad;
  }
}

TEST(LoadJobSpecFile, MissingBigAndDirectory) {
  EXPECT_EQ(LoadJobSpecFile("/nonexistent/shoal/job.yaml").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(LoadJobSpecFile(fs::temp_directory_path().string()).status().code(),
            StatusCode::kInvalidArgument);

  const fs::path big = fs::temp_directory_path() /
                       ("shoal_job_spec_test_big_" + std::to_string(::getpid()) + ".yaml");
  {
    std::ofstream out(big, std::ios::binary);
    out << kMinimal << "# " << std::string(kMaxJobSpecBytes, 'x') << "\n";
  }
  std::vector<SpecError> errors;
  Result<JobSpec> spec = LoadJobSpecFile(big.string(), &errors);
  EXPECT_EQ(spec.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(errors.empty());
  fs::remove(big);
}

// Random byte edits of a real spec must only ever produce a spec or errors with messages.
TEST(JobSpecRobustness, MutatedInputNeverThrows) {
  const std::string original = ReadFile(RepoRoot() / "configs" / "jobs" / "fashion-mnist-mlp.yaml");
  ASSERT_FALSE(original.empty());
  const std::string alphabet = "{}[]:,-#&*!|>'\"%@` \n\t0123456789.eE+~abcxyz\xff\xc3";
  std::mt19937 rng(12345);
  for (int iteration = 0; iteration < 3000; ++iteration) {
    std::string text = original;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = rng() % text.size();
      const char c = alphabet[rng() % alphabet.size()];
      switch (rng() % 3) {
        case 0:
          text[at] = c;
          break;
        case 1:
          text.insert(text.begin() + static_cast<std::ptrdiff_t>(at), c);
          break;
        default:
          text.erase(at, 1 + rng() % 8);
          break;
      }
    }
    std::vector<SpecError> errors;
    Result<JobSpec> spec = ParseJobSpec(text, "fuzz.yaml", &errors);
    if (spec.ok()) {
      EXPECT_TRUE(errors.empty());
      EXPECT_NO_THROW(JobSpecToJson(*spec).dump());
    } else {
      ASSERT_FALSE(errors.empty()) << text;
      for (const SpecError& error : errors) ASSERT_FALSE(error.message.empty()) << text;
      EXPECT_NO_THROW((void)nlohmann::json(spec.status().message()).dump());
    }
  }
}

TEST(JobSpecRobustness, DeepNestingIsAnErrorNotACrash) {
  const std::string deep = "spec: " + std::string(100000, '[') + "\n";
  std::vector<SpecError> errors = ParseErrors(deep);
  ASSERT_FALSE(errors.empty());
}

TEST(JobSpecRobustness, ParsesConcurrently) {
  const std::string text = ReadFile(RepoRoot() / "configs" / "jobs" / "fashion-mnist-mlp.yaml");
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        if (ParseJobSpec(text).ok()) ++ok;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 100);
}

}  // namespace
}  // namespace shoal

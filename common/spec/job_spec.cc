#include "common/spec/job_spec.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "common/duration.h"
#include "common/spec/yaml_reader.h"
#include "common/utf8.h"

namespace shoal {
namespace {

// Spellings, indexed by the enum's value.
constexpr const char* kBackendNames[] = {"auto", "cuda", "cpu"};
constexpr const char* kActivationNames[] = {"relu", "gelu", "tanh"};
constexpr const char* kLossNames[] = {"cross_entropy", "mse"};
constexpr const char* kFormatNames[] = {"auto", "idx", "npy", "csv", "tokens"};
constexpr const char* kOptimizerNames[] = {"sgd", "adamw"};
constexpr const char* kPrecisionNames[] = {"fp32", "tf32", "bf16"};
constexpr const char* kModelKinds[] = {"mlp", "gpt"};

constexpr const char* kApiVersion = "shoal/v1";
constexpr const char* kKind = "TrainingJob";

// Bounds documented in job_spec.h.
constexpr int kMaxWorkers = 4096;
constexpr int kMaxGpusPerWorker = 16;
constexpr size_t kMaxGpuTypes = 64;
constexpr size_t kMaxGpuTypeBytes = 128;
constexpr size_t kMaxLabels = 64;
constexpr size_t kMaxLabelBytes = 253;
constexpr size_t kMaxDnsLabelBytes = 63;
constexpr size_t kMaxLayers = 1024;
constexpr int kMaxLayerWidth = 1 << 20;
constexpr size_t kMaxPathBytes = 4096;
constexpr int kMaxEpochs = 100000;
constexpr int kMaxBatchSize = 1 << 20;
constexpr uint64_t kMaxSeed = uint64_t{1} << 63;
constexpr int kMaxCheckpointSeconds = 7 * 86400;
constexpr int64_t kMaxRuntimeSeconds = 365 * 86400;

struct NamedPriority {
  const char* name;
  int value;
};
constexpr NamedPriority kPriorities[] = {{"low", 250}, {"normal", 500}, {"high", 750}};
constexpr int kMaxPriority = 1000;

template <typename E, size_t N>
const char* NameOf(E value, const char* const (&names)[N]) {
  const auto index = static_cast<size_t>(value);
  return index < N ? names[index] : "invalid";
}

template <typename E, size_t N>
void ReadEnum(const YamlMap& map, std::string_view key, const char* const (&names)[N], E* out) {
  int index = 0;
  if (map.OneOf(key, names, &index)) *out = static_cast<E>(index);
}

// "a list of 3 items", for messages about list lengths.
std::string Items(size_t count) {
  return "a list of " + std::to_string(count) + (count == 1 ? " item" : " items");
}

// A number as a person wrote it: 0.0006, 6e-05.
std::string FormatNumber(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

void ReadDnsLabel(const YamlMap& map, std::string_view key, std::string* out) {
  const YamlField f = map.Get(key);
  std::string value;
  // Scalars of any length are read first so that the message can say why the label is wrong.
  if (!map.reader().String(f, kMaxPathBytes, &value)) return;
  if (!IsDnsLabel(value)) {
    std::string why =
        "a DNS label: 1..63 characters of a-z, 0-9 and '-', starting and ending "
        "with a letter or digit";
    if (value.size() > kMaxDnsLabelBytes) {
      why += " (this one has " + std::to_string(value.size()) + ")";
    }
    map.reader().Mismatch(f, why);
    return;
  }
  *out = std::move(value);
}

void ReadMetadata(const YamlMap& root, JobSpec::Metadata* out) {
  const YamlMap metadata = root.Map("metadata", {"name", "project", "labels"});
  YamlReader& reader = metadata.reader();
  metadata.Require("name");
  ReadDnsLabel(metadata, "name", &out->name);
  ReadDnsLabel(metadata, "project", &out->project);
  const YamlMap labels = metadata.AnyMap("labels");
  if (labels.entries().size() > kMaxLabels) {
    reader.ErrorAt(labels.path(), "found " + std::to_string(labels.entries().size()) +
                                      " labels, expected at most " + std::to_string(kMaxLabels));
    return;
  }
  for (const YamlMap::Entry& entry : labels.entries()) {
    std::string key;
    std::string value;
    if (!reader.String(entry.key_field, kMaxLabelBytes, &key)) continue;
    if (key.empty()) {
      reader.Mismatch(entry.key_field, "a non-empty label name");
      continue;
    }
    if (!entry.value.present()) {
      reader.Mismatch(entry.value, "a string (write \"\" for an empty label)");
      continue;
    }
    if (reader.String(entry.value, kMaxLabelBytes, &value)) out->labels[key] = std::move(value);
  }
}

void ReadPriority(const YamlMap& spec, int* out) {
  const YamlField f = spec.Get("priority");
  if (!f.present()) return;
  YamlReader& reader = spec.reader();
  bool overflow = false;
  // An unquoted number is a numeric priority (yaml-cpp tags quoted scalars "!"); anything else
  // must be one of the names.
  if (f.node.IsScalar() && f.node.Tag() != "!" &&
      (YamlReader::ParseInt(f.node.Scalar(), &overflow) || overflow)) {
    reader.Int(f, 0, kMaxPriority, out);
    return;
  }
  if (f.node.IsScalar()) {
    for (const NamedPriority& p : kPriorities) {
      if (f.node.Scalar() == p.name) {
        *out = p.value;
        return;
      }
    }
  }
  reader.Mismatch(f, "low, normal, high or an integer in 0.." + std::to_string(kMaxPriority));
}

void ReadWorkers(const YamlMap& spec, JobSpec::Workers* out) {
  const YamlMap workers = spec.Map("workers", {"min", "max"});
  const bool has_min = workers.Int("min", 1, kMaxWorkers, &out->min);
  const bool has_max = workers.Int("max", 1, kMaxWorkers, &out->max);
  if (has_min && !workers.Has("max")) out->max = out->min;  // a fixed-size gang
  if (has_max && out->max < out->min) {
    workers.reader().ErrorAt(workers.ChildPath("max"),
                             "found " + std::to_string(out->max) + ", expected an integer in " +
                                 std::to_string(out->min) + ".." + std::to_string(kMaxWorkers) +
                                 " (max must be at least min)");
  }
}

void ReadResources(const YamlMap& spec, JobSpec::Resources* out) {
  const YamlMap resources =
      spec.Map("resources", {"backend", "gpusPerWorker", "gpuTypes", "minGpuMemoryGiB"});
  YamlReader& reader = resources.reader();
  ReadEnum(resources, "backend", kBackendNames, &out->backend);
  if (resources.Int("gpusPerWorker", 0, kMaxGpusPerWorker, &out->gpus_per_worker) &&
      out->gpus_per_worker == 0 && out->backend != Backend::kCpu) {
    reader.ErrorAt(resources.ChildPath("gpusPerWorker"),
                   std::string("found 0, expected an integer in 1..16: 0 GPUs per worker needs "
                               "backend: cpu (backend is ") +
                       ToString(out->backend) + ")");
  }
  if (auto items = reader.Sequence(resources.Get("gpuTypes"), "a list of GPU model names")) {
    if (items->size() > kMaxGpuTypes) {
      reader.ErrorAt(resources.ChildPath("gpuTypes"), "found " + std::to_string(items->size()) +
                                                          " GPU types, expected at most " +
                                                          std::to_string(kMaxGpuTypes));
    } else {
      out->gpu_types.clear();
      for (const YamlField& item : *items) {
        std::string name;
        if (!item.present() || (item.node.IsScalar() && item.node.Scalar().empty())) {
          reader.Mismatch(item, "a GPU model name such as H100");
        } else if (reader.String(item, kMaxGpuTypeBytes, &name)) {
          out->gpu_types.push_back(std::move(name));
        }
      }
    }
  }
  resources.Number("minGpuMemoryGiB", {0, 4096}, &out->min_gpu_memory_gib);
}

// model.kind gpt: `layers` is the number of blocks, and the transformer's sizes are required.
void ReadGptModel(const YamlMap& model, JobSpec::Model* out) {
  YamlReader& reader = model.reader();
  for (const char* mlp_only : {"activation", "loss"}) {
    if (model.Has(mlp_only)) {
      reader.ErrorAt(model.ChildPath(mlp_only),
                     "applies to kind mlp; a gpt uses GELU blocks and next-token cross-entropy");
    }
  }
  struct Size {
    const char* key;
    int lo, hi;
    int* out;
  };
  const Size sizes[] = {{"layers", 1, 256, &out->blocks},
                        {"vocabSize", 2, 65536, &out->vocab_size},
                        {"contextLength", 1, 16384, &out->context_length},
                        {"heads", 1, 256, &out->heads},
                        {"embedDim", 1, 8192, &out->embed_dim}};
  bool all = true;
  for (const Size& size : sizes) {
    model.Require(size.key);
    all = model.Int(size.key, size.lo, size.hi, size.out) && all;
  }
  if (!all) return;
  if (out->embed_dim % out->heads != 0) {
    reader.ErrorAt(model.ChildPath("embedDim"),
                   "found " + std::to_string(out->embed_dim) + ", expected a multiple of heads (" +
                       std::to_string(out->heads) + "): each head gets embedDim / heads channels");
    return;
  }
  if (const int64_t parameters = ModelParameterCount(*out); parameters > kMaxMlpParameters) {
    reader.ErrorAt(model.path(), "found a model with " + std::to_string(parameters) +
                                     " parameters, expected at most " +
                                     std::to_string(kMaxMlpParameters) + " (2^31)");
  }
}

void ReadModel(const YamlMap& spec, JobSpec::Model* out) {
  const YamlMap model = spec.Map("model", {"kind", "layers", "activation", "loss", "init",
                                           "vocabSize", "contextLength", "heads", "embedDim"});
  YamlReader& reader = model.reader();
  int kind = 0;
  if (model.OneOf("kind", kModelKinds, &kind)) out->kind = kModelKinds[kind];
  model.String("init", kMaxPathBytes, &out->init);
  if (out->is_gpt()) {
    ReadGptModel(model, out);
    return;
  }
  for (const char* gpt_only : {"vocabSize", "contextLength", "heads", "embedDim"}) {
    if (model.Has(gpt_only)) {
      reader.ErrorAt(model.ChildPath(gpt_only), "applies to kind gpt (this model is an mlp)");
    }
  }
  ReadEnum(model, "activation", kActivationNames, &out->activation);
  ReadEnum(model, "loss", kLossNames, &out->loss);

  model.Require("layers");
  const std::string path = model.ChildPath("layers");
  const std::string expected =
      "a list of 2.." + std::to_string(kMaxLayers) + " layer widths: [inputs, hidden..., outputs]";
  auto items = reader.Sequence(model.Get("layers"), expected);
  if (!items) return;
  if (items->size() < 2 || items->size() > kMaxLayers) {
    reader.ErrorAt(path, "found " + Items(items->size()) + ", expected " + expected);
    return;
  }
  std::vector<int> layers;
  for (const YamlField& item : *items) {
    int width = 0;
    if (!item.present()) {
      reader.Mismatch(item, "an integer in 1.." + std::to_string(kMaxLayerWidth));
    } else if (reader.Int(item, 1, kMaxLayerWidth, &width)) {
      layers.push_back(width);
    }
  }
  if (layers.size() != items->size()) return;  // each bad width was reported
  const int64_t parameters = MlpParameterCount(layers);
  if (parameters > kMaxMlpParameters) {
    reader.ErrorAt(path, "found a model with " + std::to_string(parameters) +
                             " parameters (weights + biases), expected at most " +
                             std::to_string(kMaxMlpParameters) + " (2^31)");
    return;
  }
  if (out->loss == LossKind::kCrossEntropy && layers.back() < 2) {
    reader.ErrorAt(items->back().path,
                   "found 1 output, expected at least 2: cross_entropy needs one output per class "
                   "(use loss: mse for a single regression output)");
    return;
  }
  out->layers = std::move(layers);
}

void ReadData(const YamlMap& spec, JobSpec::Data* out) {
  const YamlMap data = spec.Map("data", {"train", "test", "format", "normalize", "shuffle"});
  data.Require("train");
  const YamlField train = data.Get("train");
  std::string value;
  if (data.reader().String(train, kMaxPathBytes, &value)) {
    if (value.empty()) {
      data.reader().Mismatch(train, "a path or prefix of the training data");
    } else {
      out->train = std::move(value);
    }
  }
  data.String("test", kMaxPathBytes, &out->test);
  ReadEnum(data, "format", kFormatNames, &out->format);
  data.Bool("normalize", &out->normalize);
  data.Bool("shuffle", &out->shuffle);
}

void ReadSchedule(const YamlMap& optimizer, JobSpec::Optimizer* out) {
  const YamlMap schedule =
      optimizer.Map("schedule", {"kind", "warmupSteps", "minLr", "decaySteps"});
  JobSpec::Optimizer::Schedule& s = out->schedule;
  static constexpr const char* kScheduleKinds[] = {"constant", "cosine"};
  int kind = 0;
  if (schedule.OneOf("kind", kScheduleKinds, &kind)) s.kind = kScheduleKinds[kind];
  schedule.Int("warmupSteps", 0, 1000000000, &s.warmup_steps);
  schedule.Int("decaySteps", 0, 1000000000, &s.decay_steps);
  if (schedule.Number("minLr", {0, 10}, &s.min_lr) && s.min_lr > out->lr) {
    schedule.reader().ErrorAt(schedule.ChildPath("minLr"), "found " + FormatNumber(s.min_lr) +
                                                               ", expected at most lr (" +
                                                               FormatNumber(out->lr) + ")");
  }
  // Non-zero values only: the canonical JSON writes every field, zeros included.
  if (s.kind != "cosine") {
    for (auto [key, set] :
         {std::pair{"minLr", s.min_lr != 0}, {"decaySteps", s.decay_steps != 0}}) {
      if (set) {
        schedule.reader().ErrorAt(schedule.ChildPath(key),
                                  "only applies to kind cosine (this schedule is constant)");
      }
    }
  }
}

void ReadOptimizer(const YamlMap& spec, JobSpec::Optimizer* out) {
  const YamlMap optimizer =
      spec.Map("optimizer", {"kind", "lr", "momentum", "betas", "eps", "weightDecay", "schedule"});
  YamlReader& reader = optimizer.reader();
  ReadEnum(optimizer, "kind", kOptimizerNames, &out->kind);
  optimizer.Number("lr", {0, 10, /*lo_open=*/true}, &out->lr);
  const NumberRange unit_open{0, 1, false, /*hi_open=*/true};
  optimizer.Number("momentum", unit_open, &out->momentum);
  const std::string expected = "exactly 2 numbers [beta1, beta2], each in " + unit_open.ToString();
  if (auto betas = reader.Sequence(optimizer.Get("betas"), "a list of " + expected)) {
    if (betas->size() != 2) {
      reader.ErrorAt(optimizer.ChildPath("betas"),
                     "found " + Items(betas->size()) + ", expected " + expected);
    } else {
      double* targets[] = {&out->beta1, &out->beta2};
      for (size_t i = 0; i < 2; ++i) {
        const YamlField& item = (*betas)[i];
        if (!item.present()) {
          reader.Mismatch(item, "a finite number in " + unit_open.ToString());
        } else {
          reader.Number(item, unit_open, targets[i]);
        }
      }
    }
  }
  optimizer.Number("eps", {0, 1, /*lo_open=*/true}, &out->eps);
  optimizer.Number("weightDecay", {0, 1}, &out->weight_decay);
  ReadSchedule(optimizer, out);
}

void ReadTraining(const YamlMap& spec, Backend backend, JobSpec::Training* out) {
  const YamlMap training =
      spec.Map("training", {"epochs", "batchSize", "seed", "precision", "gradAccumulation",
                            "clipGradNorm", "evalEverySteps", "evalBatches"});
  training.Int("epochs", 1, kMaxEpochs, &out->epochs);
  training.Int("batchSize", 1, kMaxBatchSize, &out->batch_size);
  training.Int("seed", 0, kMaxSeed, &out->seed);
  ReadEnum(training, "precision", kPrecisionNames, &out->precision);
  training.Int("gradAccumulation", 1, 1024, &out->grad_accumulation);
  training.Number("clipGradNorm", {0, 1e6}, &out->clip_grad_norm);
  training.Int("evalEverySteps", 0, 1000000000, &out->eval_every_steps);
  training.Int("evalBatches", 0, 1000000, &out->eval_batches);
  if (backend == Backend::kCpu && out->precision != Precision::kFp32) {
    training.reader().ErrorAt(training.ChildPath("precision"),
                              std::string("found ") + ToString(out->precision) +
                                  ", expected fp32: backend cpu has no tf32 or bf16 kernels");
  }
}

void ReadCheckpointAndLimits(const YamlMap& spec, JobSpec* out) {
  const YamlMap checkpoint =
      spec.Map("checkpoint", {"everySeconds", "everySteps", "keep", "keepAfterEnd"});
  checkpoint.Int("everySeconds", 0, kMaxCheckpointSeconds, &out->checkpoint.every_seconds);
  checkpoint.Int("everySteps", 0, 1000000000, &out->checkpoint.every_steps);
  checkpoint.Int("keep", 1, 100, &out->checkpoint.keep);
  checkpoint.Bool("keepAfterEnd", &out->checkpoint.keep_after_end);

  const YamlMap limits = spec.Map("limits", {"maxRuntime", "maxRetries"});
  limits.Int("maxRetries", 0, 100, &out->limits.max_retries);
  const YamlField runtime = limits.Get("maxRuntime");
  if (runtime.present()) {
    // A bare integer is seconds; ParseDurationSeconds accepts that spelling too.
    Result<int64_t> seconds = runtime.node.IsScalar()
                                  ? ParseDurationSeconds(runtime.node.Scalar())
                                  : Result<int64_t>(InvalidArgument("not a scalar"));
    if (seconds.ok() && *seconds >= 1 && *seconds <= kMaxRuntimeSeconds) {
      out->limits.max_runtime_seconds = *seconds;
    } else {
      limits.reader().Mismatch(runtime,
                               "a duration like 90s, 30m, 2h, 1h30m, 1d or a number of seconds, "
                               "in 1s..365d");
    }
  }
}

// Rules between the model's kind, the data's format and the backend.
void CheckModelAgainstDataAndBackend(const YamlMap& body, const JobSpec& spec) {
  YamlReader& reader = body.reader();
  const DataFormat format = spec.data.format;
  if (spec.model.is_gpt() && format != DataFormat::kTokens && format != DataFormat::kAuto) {
    reader.ErrorAt("spec.data.format", std::string("found ") + ToString(format) +
                                           ", expected tokens (or auto): a gpt reads token shards");
  }
  if (!spec.model.is_gpt() && format == DataFormat::kTokens) {
    reader.ErrorAt("spec.data.format",
                   "found tokens, which only model.kind gpt reads (this model is an mlp)");
  }
  if (spec.model.is_gpt() && spec.resources.backend != Backend::kCpu) {
    reader.ErrorAt("spec.resources.backend",
                   std::string("found ") + ToString(spec.resources.backend) +
                       ", expected cpu: model.kind gpt trains on the CPU backend in this version "
                       "(write resources: {backend: cpu, gpusPerWorker: 0})");
  }
}

// A model library version name (common/registry/uri.h's IsVersionName; the spec does not depend
// on the registry).
bool IsModelVersionName(std::string_view s) {
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  return !s.empty() && s.size() <= 64 && s != "latest" && alnum(s.front()) &&
         std::all_of(s.begin(), s.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

void ReadOutput(const YamlMap& spec, JobSpec::Output* out) {
  const YamlMap output =
      spec.Map("output", {"model", "version", "visibility", "license", "description"});
  YamlReader& reader = output.reader();
  std::string value;
  if (const YamlField model = output.Get("model");
      reader.String(model, kMaxPathBytes, &value) && !value.empty()) {
    if (IsDnsLabel(value)) {
      out->model = std::move(value);
    } else {
      reader.Mismatch(model, "the model's name, a DNS label: 1..63 of a-z, 0-9 and '-'");
    }
  }
  if (const YamlField version = output.Get("version");
      reader.String(version, kMaxPathBytes, &value) && !value.empty()) {
    if (IsModelVersionName(value)) {
      out->version = std::move(value);
    } else {
      reader.Mismatch(version, "a version name: 1..64 of A-Z a-z 0-9 . _ -, not latest");
    }
  }
  static constexpr const char* kVisibilities[] = {"auto", "public", "private"};
  int visibility = 0;
  if (output.OneOf("visibility", kVisibilities, &visibility)) {
    out->visibility = kVisibilities[visibility];
  }
  output.String("license", 128, &out->license);
  output.String("description", 16384, &out->description);
}

// Where each document of a YAML stream starts (the mark of its root node), found by running
// yaml-cpp's parser without building nodes.
//
// yaml-cpp 0.7's LoadAll cannot be used to count the documents: on some malformed flow
// collections (e.g. ", {a {b: }}") its parser keeps returning empty documents without consuming
// any input, so LoadAll never returns. Here a document whose root starts exactly where the
// previous one's did is that stall, and ends the count.
class DocumentStarts : public YAML::EventHandler {
 public:
  // Parses `text`; returns false on a stall (*stall_at is where). Throws YAML::Exception on a
  // syntax error, like YAML::Load.
  bool Count(std::string_view text, YAML::Mark* stall_at) {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(*this)) {
      const size_t n = roots_.size();
      if (n >= 2 && roots_[n - 1].pos == roots_[n - 2].pos) {
        *stall_at = roots_[n - 1];
        return false;
      }
    }
    return true;
  }
  const std::vector<YAML::Mark>& roots() const { return roots_; }

  void OnDocumentStart(const YAML::Mark&) override { root_seen_ = false; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnMapEnd() override {}

 private:
  void Node(const YAML::Mark& mark) {
    if (!root_seen_) roots_.push_back(mark);
    root_seen_ = true;
  }

  std::vector<YAML::Mark> roots_;
  bool root_seen_ = false;
};

void ReadExactString(const YamlMap& root, std::string_view key, const char* expected) {
  root.Require(key);
  const YamlField f = root.Get(key);
  std::string value;
  if (root.reader().String(f, kMaxPathBytes, &value) && value != expected) {
    root.reader().Mismatch(f, "\"" + std::string(expected) + "\"");
  }
}

// Reads the document into *spec, appending every problem to *errors.
void ParseInto(std::string_view text, const std::string& file, JobSpec* spec,
               std::vector<SpecError>* errors) {
  auto whole_file_error = [&](const YAML::Mark& mark, std::string message) {
    YamlReader(file, errors).Error(mark, "", std::move(message));
  };
  if (text.size() > kMaxJobSpecBytes) {
    whole_file_error(YAML::Mark::null_mark(), "found " + std::to_string(text.size()) +
                                                  " bytes, expected at most " +
                                                  std::to_string(kMaxJobSpecBytes) + " (1 MiB)");
    return;
  }
  // Anywhere, comments included: yaml-cpp drops comments unchecked, but the text is stored and
  // sent on (to workers, in JSON), where one invalid byte would make every reply that carries it
  // fail to serialise.
  if (const size_t bad = FirstInvalidUtf8(text); bad != std::string_view::npos) {
    YAML::Mark mark;
    mark.pos = static_cast<int>(bad);
    mark.line = static_cast<int>(std::count(text.begin(), text.begin() + bad, '\n'));
    const size_t newline = bad == 0 ? std::string_view::npos : text.rfind('\n', bad - 1);
    mark.column = static_cast<int>(newline == std::string_view::npos ? bad : bad - newline - 1);
    char byte[8];
    std::snprintf(byte, sizeof byte, "0x%02X", static_cast<unsigned char>(text[bad]));
    whole_file_error(mark, std::string("found byte ") + byte +
                               " that is not UTF-8 (a Latin-1 or other legacy encoding?); "
                               "save the spec as UTF-8");
    return;
  }
  DocumentStarts starts;
  YAML::Node document;
  try {
    YAML::Mark stall;
    if (!starts.Count(text, &stall)) {
      whole_file_error(stall, "invalid YAML: unexpected content after the end of a document");
      return;
    }
    if (starts.roots().size() > 1) {
      whole_file_error(starts.roots()[1], "found " + std::to_string(starts.roots().size()) +
                                              " YAML documents, expected one job spec");
      return;
    }
    if (starts.roots().size() == 1) document = YAML::Load(std::string(text));  // the first only
  } catch (const YAML::Exception& e) {
    // ParserException (and DeepRecursion) carry the position of the syntax error.
    std::string message = "invalid YAML: " + e.msg;
    // yaml-cpp's structure messages ("end of map not found") do not say what to change.
    if (std::string hint = YamlSyntaxHint(text, e.mark, e.msg); !hint.empty()) {
      message += "; hint: " + hint;
    }
    whole_file_error(e.mark, std::move(message));
    return;
  }
  if (!document.IsDefined() || document.IsNull()) {
    whole_file_error(YAML::Mark::null_mark(), "empty job spec");
    return;
  }

  YamlReader reader(file, errors);
  const YamlMap root =
      reader.Map(YamlField{document, ""}, {"apiVersion", "kind", "metadata", "spec"});
  ReadExactString(root, "apiVersion", kApiVersion);
  ReadExactString(root, "kind", kKind);
  ReadMetadata(root, &spec->metadata);
  const YamlMap body =
      root.Map("spec", {"queue", "priority", "workers", "resources", "model", "data", "optimizer",
                        "training", "checkpoint", "limits", "output"});
  ReadDnsLabel(body, "queue", &spec->queue);
  ReadPriority(body, &spec->priority);
  ReadWorkers(body, &spec->workers);
  ReadResources(body, &spec->resources);
  ReadModel(body, &spec->model);
  ReadData(body, &spec->data);
  ReadOptimizer(body, &spec->optimizer);
  ReadTraining(body, spec->resources.backend, &spec->training);
  ReadCheckpointAndLimits(body, spec);
  ReadOutput(body, &spec->output);
  CheckModelAgainstDataAndBackend(body, *spec);
}

}  // namespace

bool IsDnsLabel(std::string_view s) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return !s.empty() && s.size() <= kMaxDnsLabelBytes && alnum(s.front()) && alnum(s.back()) &&
         std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

const char* ToString(Backend value) { return NameOf(value, kBackendNames); }
const char* ToString(Activation value) { return NameOf(value, kActivationNames); }
const char* ToString(LossKind value) { return NameOf(value, kLossNames); }
const char* ToString(DataFormat value) { return NameOf(value, kFormatNames); }
const char* ToString(OptimizerKind value) { return NameOf(value, kOptimizerNames); }
const char* ToString(Precision value) { return NameOf(value, kPrecisionNames); }

std::string SpecError::ToString() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
  out += ": ";
  if (!field.empty()) out += field + ": ";
  return out + message;
}

Result<JobSpec> ParseJobSpec(std::string_view text, std::string_view filename,
                             std::vector<SpecError>* errors) {
  const std::string file(filename);
  std::vector<SpecError> found;
  JobSpec spec;
  try {
    ParseInto(text, file, &spec, &found);
  } catch (const std::exception& e) {
    // Only allocation failures and yaml-cpp bugs get here; the API promises not to throw.
    found.push_back(SpecError{file, 0, 0, "", std::string("internal error: ") + e.what()});
  } catch (...) {
    found.push_back(SpecError{file, 0, 0, "", "internal error"});
  }
  if (found.empty()) return spec;

  // File order reads like a compiler's output; errors without a position go last.
  std::stable_sort(found.begin(), found.end(), [](const SpecError& a, const SpecError& b) {
    auto key = [](const SpecError& e) {
      return std::make_pair(e.line == 0 ? INT_MAX : e.line, e.column);
    };
    return key(a) < key(b);
  });
  // A pasted blob can produce thousands of errors; the first few are the ones a person reads.
  if (found.size() > kMaxReportedSpecErrors) {
    const size_t hidden = found.size() - (kMaxReportedSpecErrors - 1);
    found.resize(kMaxReportedSpecErrors - 1);
    found.push_back(SpecError{file, 0, 0, "", std::to_string(hidden) + " more errors not shown"});
  }
  std::string message;
  for (const SpecError& error : found) {
    if (!message.empty()) message += '\n';
    message += error.ToString();
  }
  if (errors) errors->insert(errors->end(), found.begin(), found.end());
  return InvalidArgument(std::move(message));
}

Result<JobSpec> LoadJobSpecFile(const std::string& path, std::vector<SpecError>* errors) {
  try {
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (status.type() == std::filesystem::file_type::not_found) {
      return NotFound("job spec file " + path + " does not exist");
    }
    if (ec) return InvalidArgument("cannot read job spec " + path + ": " + ec.message());
    if (std::filesystem::is_directory(status)) {
      return InvalidArgument(path + " is a directory, expected a job spec file");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) return InvalidArgument("cannot open job spec " + path);
    // Read one byte past the limit rather than trusting the size on disk, which pipes lack and
    // which may change while we read.
    std::string text(kMaxJobSpecBytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.bad()) return InvalidArgument("error reading job spec " + path);
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxJobSpecBytes) {
      return InvalidArgument("job spec " + path + " is larger than 1 MiB");
    }
    return ParseJobSpec(text, path, errors);
  } catch (const std::exception& e) {
    return Internal("reading job spec " + path + ": " + e.what());
  }
}

nlohmann::json JobSpecToJson(const JobSpec& s) {
  using nlohmann::json;
  json labels = json::object();
  for (const auto& [key, value] : s.metadata.labels) labels[key] = value;
  return json{{"apiVersion", s.api_version},
              {"kind", s.kind},
              {"metadata",
               {{"name", s.metadata.name}, {"project", s.metadata.project}, {"labels", labels}}},
              {"spec",
               {{"queue", s.queue},
                {"priority", s.priority},
                {"workers", {{"min", s.workers.min}, {"max", s.workers.max}}},
                {"resources",
                 {{"backend", ToString(s.resources.backend)},
                  {"gpusPerWorker", s.resources.gpus_per_worker},
                  {"gpuTypes", s.resources.gpu_types},
                  {"minGpuMemoryGiB", s.resources.min_gpu_memory_gib}}},
                {"model", s.model.is_gpt() ? json{{"kind", s.model.kind},
                                                  {"layers", s.model.blocks},
                                                  {"vocabSize", s.model.vocab_size},
                                                  {"contextLength", s.model.context_length},
                                                  {"heads", s.model.heads},
                                                  {"embedDim", s.model.embed_dim},
                                                  {"init", s.model.init}}
                                           : json{{"kind", s.model.kind},
                                                  {"layers", s.model.layers},
                                                  {"activation", ToString(s.model.activation)},
                                                  {"loss", ToString(s.model.loss)},
                                                  {"init", s.model.init}}},
                {"data",
                 {{"train", s.data.train},
                  {"test", s.data.test},
                  {"format", ToString(s.data.format)},
                  {"normalize", s.data.normalize},
                  {"shuffle", s.data.shuffle}}},
                {"optimizer",
                 {{"kind", ToString(s.optimizer.kind)},
                  {"lr", s.optimizer.lr},
                  {"momentum", s.optimizer.momentum},
                  {"betas", {s.optimizer.beta1, s.optimizer.beta2}},
                  {"eps", s.optimizer.eps},
                  {"weightDecay", s.optimizer.weight_decay},
                  {"schedule",
                   {{"kind", s.optimizer.schedule.kind},
                    {"warmupSteps", s.optimizer.schedule.warmup_steps},
                    {"minLr", s.optimizer.schedule.min_lr},
                    {"decaySteps", s.optimizer.schedule.decay_steps}}}}},
                {"training",
                 {{"epochs", s.training.epochs},
                  {"batchSize", s.training.batch_size},
                  {"seed", s.training.seed},
                  {"precision", ToString(s.training.precision)},
                  {"gradAccumulation", s.training.grad_accumulation},
                  {"clipGradNorm", s.training.clip_grad_norm},
                  {"evalEverySteps", s.training.eval_every_steps},
                  {"evalBatches", s.training.eval_batches}}},
                {"checkpoint",
                 {{"everySeconds", s.checkpoint.every_seconds},
                  {"everySteps", s.checkpoint.every_steps},
                  {"keep", s.checkpoint.keep},
                  {"keepAfterEnd", s.checkpoint.keep_after_end}}},
                {"limits",
                 {{"maxRuntime", FormatDurationSeconds(s.limits.max_runtime_seconds)},
                  {"maxRetries", s.limits.max_retries}}},
                {"output",
                 {{"model", s.output.model},
                  {"version", s.output.version},
                  {"visibility", s.output.visibility},
                  {"license", s.output.license},
                  {"description", s.output.description}}}}}};
}

int64_t ModelParameterCount(const JobSpec::Model& model) {
  if (!model.is_gpt()) return MlpParameterCount(model.layers);
  // GPT-2: token and position embeddings, per block 12 C^2 weights + 13 C biases and LayerNorm
  // parameters, and the final LayerNorm (models/gpt/gpt.h).
  const int64_t C = std::max(model.embed_dim, 0);
  return int64_t{std::max(model.vocab_size, 0)} * C +
         int64_t{std::max(model.context_length, 0)} * C +
         int64_t{std::max(model.blocks, 0)} * (12 * C * C + 13 * C) + 2 * C;
}

double ModelFlopsPerSample(const JobSpec::Model& model) {
  if (!model.is_gpt()) {
    double weights = 0;
    for (size_t i = 1; i < model.layers.size(); ++i) {
      weights += static_cast<double>(model.layers[i - 1]) * static_cast<double>(model.layers[i]);
    }
    return 6 * weights;
  }
  const double T = model.context_length, C = model.embed_dim;
  const double non_position = static_cast<double>(ModelParameterCount(model)) - T * C;
  return (6 * non_position + 12.0 * model.blocks * C * T) * T;
}

int64_t MlpParameterCount(const std::vector<int>& layers) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t total = 0;
  for (size_t i = 1; i < layers.size(); ++i) {
    // (in + 1) * out < 2^62 for any int widths, so only the running sum can overflow.
    const int64_t in = std::max(layers[i - 1], 0);
    const int64_t out = std::max(layers[i], 0);
    const int64_t term = (in + 1) * out;
    if (total > kMax - term) return kMax;
    total += term;
  }
  return total;
}

}  // namespace shoal

#include "common/spec/spec_fields.h"

#include <algorithm>
#include <cstdint>

#include "common/spec/yaml_reader.h"

namespace shoal {
namespace {

using nlohmann::json;

// A DNS label: 1..63 of a-z, 0-9 and '-', starting and ending with a letter or digit (IsDnsLabel).
constexpr char kDnsLabelPattern[] = "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";
// common/duration.h's grammar: bare seconds, or d/h/m/s parts in that order, each at most once.
constexpr char kDurationPattern[] = "^([0-9]+|([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?)$";

// Row builders: the table below reads as one line of constraints and one of documentation.
SpecField Object(std::string path, bool required, std::string description) {
  SpecField f;
  f.path = std::move(path);
  f.type = SpecFieldType::kObject;
  f.required = required;
  f.description = std::move(description);
  return f;
}

SpecField Integer(std::string path, json lo, json hi, json default_value, std::string description) {
  SpecField f;
  f.path = std::move(path);
  f.type = SpecFieldType::kInteger;
  f.allowed = lo.dump() + ".." + hi.dump();
  f.value.minimum = std::move(lo);
  f.value.maximum = std::move(hi);
  if (!default_value.is_null()) f.default_value = std::move(default_value);
  f.description = std::move(description);
  return f;
}

std::string Interval(double lo, double hi, bool lo_open, bool hi_open) {
  return NumberRange{lo, hi, lo_open, hi_open}.ToString();
}

SpecField Number(std::string path, double lo, double hi, bool lo_open, bool hi_open,
                 double default_value, std::string description) {
  SpecField f;
  f.path = std::move(path);
  f.type = SpecFieldType::kNumber;
  f.value.minimum = lo;
  f.value.maximum = hi;
  f.value.minimum_exclusive = lo_open;
  f.value.maximum_exclusive = hi_open;
  f.allowed = "a finite number in " + Interval(lo, hi, lo_open, hi_open);
  f.default_value = default_value;
  f.description = std::move(description);
  return f;
}

SpecField Enum(std::string path, std::vector<std::string> values, std::string default_value,
               std::string description) {
  SpecField f;
  f.path = std::move(path);
  f.type = SpecFieldType::kString;
  for (const std::string& v : values) f.allowed += (f.allowed.empty() ? "" : " | ") + v;
  f.enum_values = std::move(values);
  if (!default_value.empty()) f.default_value = default_value;
  f.description = std::move(description);
  return f;
}

SpecField Boolean(std::string path, bool default_value, std::string description) {
  SpecField f;
  f.path = std::move(path);
  f.type = SpecFieldType::kBoolean;
  f.allowed = "true | false";
  f.default_value = default_value;
  f.description = std::move(description);
  return f;
}

SpecField DnsLabel(std::string path, bool required, std::string default_value,
                   std::string description) {
  SpecField f;
  f.path = std::move(path);
  f.type = SpecFieldType::kString;
  f.required = required;
  f.value.min_length = 1;
  f.value.max_length = 63;
  f.value.pattern = kDnsLabelPattern;
  f.allowed =
      "a DNS label: 1..63 characters of a-z, 0-9 and '-', starting and ending with a letter or "
      "digit";
  if (!default_value.empty()) f.default_value = default_value;
  f.description = std::move(description);
  return f;
}

SpecField Path(std::string path, bool required, size_t min_length, std::string description) {
  SpecField f;
  f.path = std::move(path);
  f.type = SpecFieldType::kString;
  f.required = required;
  f.value.min_length = min_length;
  f.value.max_length = 4096;
  f.allowed = "a string of " + std::to_string(min_length) + "..4096 bytes";
  if (!required) f.default_value = "";
  f.description = std::move(description);
  return f;
}

// The table. Each constraint here mirrors one in job_spec.cc; spec_fields_test.cc checks them.
std::vector<SpecField> BuildTable() {
  std::vector<SpecField> t;
  t.push_back(Object("", true,
                     "A shoal/v1 TrainingJob: a data-parallel training job. shoal submit and the "
                     "scheduler parse it with the same validator (common/spec/job_spec.h). Unknown "
                     "fields, duplicate fields, wrong types and out-of-range values are errors "
                     "naming the file, line, column and field path. A field written as null "
                     "counts as not written; quoted scalars are strings (epochs: \"5\" is an "
                     "error). The whole document is at most 1 MiB."));
  {
    SpecField f = Enum("apiVersion", {"shoal/v1"}, "", "The spec's version. Only shoal/v1 exists.");
    f.required = true;
    t.push_back(std::move(f));
  }
  {
    SpecField f = Enum("kind", {"TrainingJob"}, "", "The kind of object. Only TrainingJob exists.");
    f.required = true;
    t.push_back(std::move(f));
  }
  t.push_back(Object("metadata", true, "Who the job is and where its usage is booked."));
  t.push_back(DnsLabel("metadata.name", true, "",
                       "The job's name, shown by shoal list. Names need not be unique: jobs are "
                       "identified by the id the scheduler assigns on submission."));
  t.push_back(DnsLabel("metadata.project", false, "default",
                       "The accounting bucket the job's usage is recorded under (stored with the "
                       "job and shown in its JSON). Credits and fair share are per account (the "
                       "submitting token's), not per project."));
  {
    SpecField f;
    f.path = "metadata.labels";
    f.type = SpecFieldType::kStringMap;
    f.default_value = json::object();
    f.max_items = 64;
    f.value.max_length = 253;
    f.allowed =
        "at most 64 entries; keys 1..253 bytes, values 0..253 bytes; values are scalars, kept as "
        "text";
    f.description =
        "Free-form key/value labels kept with the job, e.g. {team: vision}. A value written as a "
        "number or boolean is kept as its text (version: 2 is the string \"2\"); a null value is "
        "an error (write \"\" for an empty label). Labels do not affect scheduling.";
    t.push_back(std::move(f));
  }
  t.push_back(Object("spec", true, "What to train, on what, and under which limits."));
  t.push_back(DnsLabel("spec.queue", false, "default",
                       "The queue the job is submitted to: one of the scheduler's `queues` "
                       "(its configuration; by default only \"default\"). The scheduler refuses "
                       "any other name at submission. Queues are labels today: every queue "
                       "shares the pool and the policy."));
  {
    SpecField f;
    f.path = "spec.priority";
    f.type = SpecFieldType::kIntegerOrName;
    f.enum_values = {"low", "normal", "high"};
    f.value.minimum = 0;
    f.value.maximum = 1000;
    f.default_value = 500;
    f.allowed = "low (250) | normal (500) | high (750) | an integer in 0..1000";
    f.description =
        "Scheduling priority, higher first: the priority policy orders the queue by it, the "
        "fairshare policy uses it after the account's fair-share factor, fifo ignores it. A name "
        "is stored as its number (the canonical JSON carries the integer).";
    t.push_back(std::move(f));
  }
  t.push_back(Object("spec.workers", false,
                     "The gang: how many ranks (one per GPU, or one per CPU worker slot) the job "
                     "runs with. It never starts with fewer than min; with an elastic policy it "
                     "may grow up to max."));
  t.push_back(Integer("spec.workers.min", 1, 4096, 1,
                      "Fewest ranks the job starts with. When only min is written, max equals "
                      "min (a fixed-size gang)."));
  t.push_back(Integer("spec.workers.max", 1, 4096, json(),
                      "Most ranks the job may grow to; must be at least min. Defaults to min."));
  t.push_back(Object("spec.resources", false, "What each rank needs from a worker."));
  t.push_back(Enum("spec.resources.backend", {"auto", "cuda", "cpu"}, "auto",
                   "Compute backend of the ranks: cuda (hand-written CUDA kernels, NCCL "
                   "all-reduce), cpu (OpenBLAS, Gloo all-reduce), or auto (cuda on a worker with "
                   "a usable GPU, else cpu)."));
  t.push_back(Integer("spec.resources.gpusPerWorker", 0, 16, 1,
                      "GPUs per rank's worker slot (one rank per GPU). 0 is only valid with "
                      "backend: cpu."));
  {
    SpecField f;
    f.path = "spec.resources.gpuTypes";
    f.type = SpecFieldType::kStringList;
    f.default_value = json::array();
    f.max_items = 64;
    f.value.min_length = 1;
    f.value.max_length = 128;
    f.allowed = "at most 64 names of 1..128 bytes";
    f.description =
        "GPU models the job may run on, any of them, e.g. [H100, A100]; empty means any. A name "
        "matches a worker whose reported GPU name contains it as a whole word, ignoring case "
        "(H100 matches \"NVIDIA H100 80GB HBM3\"). Only applies to cuda jobs; a job no worker "
        "matches stays PENDING with reason Constraint.";
    t.push_back(std::move(f));
  }
  t.push_back(Number("spec.resources.minGpuMemoryGiB", 0, 4096, false, false, 0,
                     "Least GPU memory, in GiB, a worker's GPU must have; 0 means no "
                     "requirement. Only applies to cuda jobs."));
  t.push_back(Object("spec.model", true, "The network to train."));
  t.push_back(Enum("spec.model.kind", {"mlp", "gpt"}, "mlp",
                   "Model family: mlp (a multi-layer perceptron over feature vectors) or gpt (a "
                   "GPT-2-style decoder over token shards: needs data.format tokens and, in this "
                   "version, resources.backend cpu; docs/gpt.md)."));
  {
    SpecField f;
    f.path = "spec.model.layers";
    f.type = SpecFieldType::kIntegerListOrInteger;
    f.required = true;
    f.min_items = 2;
    f.max_items = 1024;
    f.value.minimum = 1;
    f.value.maximum = 1 << 20;
    f.integer_alternative.minimum = 1;
    f.integer_alternative.maximum = 256;
    f.allowed =
        "mlp: 2..1024 widths, each in 1..1048576; gpt: an integer in 1..256; at most 2^31 "
        "parameters";
    f.description =
        "mlp: layer widths from inputs to outputs, e.g. [784, 256, 128, 10]: the first is the "
        "number of input features, the last the number of outputs (classes, for cross_entropy, "
        "which needs at least 2); the trainer checks the first and last against the data set. "
        "gpt: the number of transformer blocks. The model's parameters must not exceed 2^31.";
    t.push_back(std::move(f));
  }
  auto gpt_size = [](std::string path, int lo, int hi, std::string description) {
    SpecField f = Integer(std::move(path), lo, hi, nullptr, std::move(description));
    f.applies_when = "spec.model.kind=gpt";
    return f;
  };
  t.push_back(gpt_size("spec.model.vocabSize", 2, 65536,
                       "gpt (required): token ids are in 0..vocabSize-1; 256 for the bytes "
                       "tokenizer, 50257 for GPT-2's. Token shards hold uint16 ids."));
  t.push_back(gpt_size("spec.model.contextLength", 1, 16384,
                       "gpt (required): tokens per training sequence, and the most a sample may "
                       "attend to (learned position embeddings)."));
  t.push_back(gpt_size("spec.model.heads", 1, 256,
                       "gpt (required): attention heads per block; embedDim must be a multiple."));
  t.push_back(gpt_size("spec.model.embedDim", 1, 8192,
                       "gpt (required): channels of the residual stream; the MLP is 4 x embedDim "
                       "wide."));
  t.push_back(Enum("spec.model.activation", {"relu", "gelu", "tanh"}, "relu",
                   "Activation after every hidden layer."));
  t.push_back(Enum("spec.model.loss", {"cross_entropy", "mse"}, "cross_entropy",
                   "Training loss: cross_entropy (softmax over the outputs; labels are class "
                   "indices) or mse (mean squared error)."));
  t.push_back(Path("spec.model.init", false, 0,
                   "Weights to start from instead of the seed's random ones (fine-tuning): a "
                   "model in the registry, shoal://models/ACCOUNT/NAME[@VERSION][/PATH] (PATH "
                   "defaults to model.safetensors; the version is pinned at submission), or a "
                   "safetensors file under the workers' data roots, like data.train. Its "
                   "layers.<l>.weight [out, in] and layers.<l>.bias [out] (F32) must match this "
                   "model's layers exactly, else the rank fails with exit code 2 naming the first "
                   "tensor that differs; other tensors (a checkpoint's optimizer state) are "
                   "ignored and the optimizer starts fresh. A restarted job resumes from its own "
                   "checkpoint instead. \"\" means none."));
  t.push_back(Object("spec.data", true, "Where the training (and test) data are."));
  t.push_back(
      Path("spec.data.train", true, 1,
           "Path or prefix of the training set as seen by the workers: IDX files "
           "(MNIST family, e.g. /usr/share/datasets/fashion-mnist/train), .npy (features "
           "+ labels) or .csv. A worker opens only paths under its data roots (shoal-worker "
           "--data-root, default /usr/share/datasets): a path outside them fails the rank "
           "with exit code 2, which is not retried. The same holds for data.test."));
  t.push_back(Path("spec.data.test", false, 0,
                   "Path or prefix of the test set, evaluated after every epoch; \"\" means no "
                   "test set."));
  t.push_back(Enum("spec.data.format", {"auto", "idx", "npy", "csv", "tokens"}, "auto",
                   "File format of the data; auto picks it from the file names (token shards "
                   "for a gpt). tokens: llm.c token shards (docs/gpt.md), model.kind gpt only."));
  t.push_back(Boolean("spec.data.normalize", true,
                      "Normalize the features with the training set's statistics before "
                      "training (applied to the test set too)."));
  t.push_back(Boolean("spec.data.shuffle", true,
                      "Reshuffle the training set every epoch (deterministically, from "
                      "training.seed)."));
  t.push_back(Object("spec.optimizer", false, "The optimizer and its hyper-parameters."));
  t.push_back(Enum("spec.optimizer.kind", {"sgd", "adamw"}, "adamw",
                   "sgd (with momentum) or adamw (Adam with decoupled weight decay)."));
  t.push_back(Number("spec.optimizer.lr", 0, 10, true, false, 0.001, "Learning rate."));
  t.push_back(Number("spec.optimizer.momentum", 0, 1, false, true, 0.9,
                     "Momentum of sgd; ignored by adamw."));
  {
    SpecField f;
    f.path = "spec.optimizer.betas";
    f.type = SpecFieldType::kNumberList;
    f.default_value = json::array({0.9, 0.999});
    f.min_items = 2;
    f.max_items = 2;
    f.value.minimum = 0.0;
    f.value.maximum = 1.0;
    f.value.maximum_exclusive = true;
    f.allowed = "exactly 2 numbers [beta1, beta2], each in [0, 1)";
    f.description = "adamw's decay rates of the first and second moment; ignored by sgd.";
    t.push_back(std::move(f));
  }
  t.push_back(Number("spec.optimizer.eps", 0, 1, true, false, 1e-8,
                     "adamw's epsilon added to the denominator; ignored by sgd."));
  t.push_back(Number("spec.optimizer.weightDecay", 0, 1, false, false, 0.0,
                     "Weight decay (decoupled, for adamw)."));
  t.push_back(Object("spec.optimizer.schedule", false,
                     "How the learning rate changes over the updates: an optional linear "
                     "warm-up, then constant or a cosine decay."));
  t.push_back(Enum("spec.optimizer.schedule.kind", {"constant", "cosine"}, "constant",
                   "constant: lr after the warm-up. cosine: from lr down to minLr along a half "
                   "cosine over decaySteps updates after the warm-up, then minLr."));
  t.push_back(Integer("spec.optimizer.schedule.warmupSteps", 0, 1000000000, 0,
                      "Updates of linear warm-up: update s (1-based) uses lr x s / warmupSteps "
                      "until s reaches warmupSteps; 0 means none."));
  t.push_back(Number("spec.optimizer.schedule.minLr", 0, 10, false, false, 0.0,
                     "cosine only: the final learning rate, at most lr."));
  t.push_back(Integer("spec.optimizer.schedule.decaySteps", 0, 1000000000, 0,
                      "cosine only: updates the decay lasts after the warm-up; 0 means until the "
                      "last update of training (epochs x steps per epoch at the world size "
                      "training runs at)."));
  t.push_back(Object("spec.training", false, "How long and how to train."));
  t.push_back(Integer("spec.training.epochs", 1, 100000, 5, "Passes over the training set."));
  t.push_back(Integer("spec.training.batchSize", 1, 1 << 20, 128,
                      "Samples per micro-batch per rank; the global batch is batchSize x ranks x "
                      "gradAccumulation."));
  t.push_back(Integer("spec.training.seed", 0, uint64_t{1} << 63, 1,
                      "Seed of the initial weights and of the shuffling; the same seed and "
                      "world size give the same run."));
  t.push_back(Enum("spec.training.precision", {"fp32", "tf32", "bf16"}, "fp32",
                   "Math precision of the GEMMs. tf32 and bf16 need the cuda backend: with "
                   "backend: cpu they are errors."));
  t.push_back(Integer("spec.training.gradAccumulation", 1, 1024, 1,
                      "Micro-batches of batchSize each rank sums into one update; the global "
                      "batch is batchSize x ranks x gradAccumulation."));
  t.push_back(Number("spec.training.clipGradNorm", 0, 1e6, false, false, 0.0,
                     "Scale the summed gradient down to this global L2 norm when it is larger "
                     "(as torch.nn.utils.clip_grad_norm_); 0 means no clipping."));
  t.push_back(Integer("spec.training.evalEverySteps", 0, 1000000000, 0,
                      "Evaluate data.test every this many steps as well as at each epoch's end; "
                      "0 means at epoch ends only."));
  t.push_back(Integer("spec.training.evalBatches", 0, 1000000, 0,
                      "Bound each evaluation to the first evalBatches x batchSize x ranks samples "
                      "of data.test; 0 means the whole test set."));
  t.push_back(Object("spec.checkpoint", false,
                     "When rank 0 writes checkpoints; a job that restarts resumes from its "
                     "latest."));
  t.push_back(Integer("spec.checkpoint.everySeconds", 0, 7 * 86400, 60,
                      "Checkpoint at least this often, in seconds (at most 7 days); 0 means no "
                      "time-based checkpoints. With everySteps too, whichever comes first."));
  t.push_back(Integer("spec.checkpoint.everySteps", 0, 1000000000, 0,
                      "Checkpoint every this many steps; 0 means none."));
  t.push_back(
      Integer("spec.checkpoint.keep", 1, 100, 2,
              "How many most recent checkpoints are kept (an audited job also keeps the ones its "
              "rollback rule may need: docs/audits.md \"Consequences\")."));
  t.push_back(Boolean("spec.checkpoint.keepAfterEnd", false,
                      "Keep the checkpoints after the job ends, until deleted (shoal checkpoints "
                      "rm); by default the scheduler deletes them checkpointRetention (3 days by "
                      "default) after the end. Kept ones count against the account's quota."));
  t.push_back(Object("spec.limits", false, "Bounds on the job's run time and restarts."));
  {
    SpecField f;
    f.path = "spec.limits.maxRuntime";
    f.type = SpecFieldType::kDuration;
    f.value.minimum = 1;
    f.value.maximum = 365 * 86400;
    f.value.pattern = kDurationPattern;
    f.default_value = "2h";
    f.allowed =
        "a duration like 90s, 30m, 2h, 1h30m, 1d or an integer number of seconds, in 1s..365d";
    f.description =
        "Longest the job may run, summed over its attempts; past it the job fails. Duration "
        "parts are d, h, m and s, largest first, each at most once. The canonical JSON carries "
        "it as a duration string.";
    t.push_back(std::move(f));
  }
  t.push_back(Integer("spec.limits.maxRetries", 0, 100, 3,
                      "How many times the job is restarted after a retryable failure (a lost "
                      "worker or a failed rank) before it fails."));
  t.push_back(Object("spec.output", false,
                     "What the scheduler keeps of a job that succeeds, beyond its checkpoints."));
  {
    SpecField f = Path("spec.output.model", false, 0,
                       "Publish the final weights in the model library when the job succeeds, "
                       "as model OWNER/NAME (the job owner's account), as shoal models publish "
                       "would. The card records the spec, the pinned datasets and the final "
                       "metrics. The job view shows the published version (output.published) or "
                       "why publishing failed (output.error). \"\" means none.");
    f.value.max_length = 63;
    f.value.pattern = "^$|^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$";
    f.allowed =
        "\"\" or a DNS label: 1..63 characters of a-z, 0-9 and '-', starting and ending "
        "with a letter or digit";
    t.push_back(std::move(f));
  }
  {
    SpecField f = Path("spec.output.version", false, 0,
                       "The version to publish as; \"\" means the next integer version. Publishing "
                       "fails (output.error) when the model already has this version.");
    f.value.max_length = 64;
    f.allowed = "\"\" or 1..64 of A-Z a-z 0-9 . _ - starting with a letter or digit, not latest";
    t.push_back(std::move(f));
  }
  t.push_back(Enum("spec.output.visibility", {"auto", "public", "private"}, "auto",
                   "Visibility of the published model: auto makes it private when the job reads "
                   "a private dataset or model, public otherwise."));
  {
    SpecField f =
        Path("spec.output.license", false, 0, "SPDX license identifier for the model card.");
    f.value.max_length = 128;
    f.allowed = "a string of 0..128 bytes";
    t.push_back(std::move(f));
  }
  {
    SpecField f = Path("spec.output.description", false, 0, "The model card's description.");
    f.value.max_length = 16384;
    f.allowed = "a string of 0..16384 bytes";
    t.push_back(std::move(f));
  }
  return t;
}

std::string_view ParentOf(std::string_view path) {
  const size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? std::string_view() : path.substr(0, dot);
}

std::string_view LeafOf(std::string_view path) {
  const size_t dot = path.rfind('.');
  return dot == std::string_view::npos ? path : path.substr(dot + 1);
}

// The schema of one scalar value under `rule`, for an integer, number or string.
void AddValueRule(const SpecValueRule& rule, json* schema) {
  if (rule.minimum)
    (*schema)[rule.minimum_exclusive ? "exclusiveMinimum" : "minimum"] = *rule.minimum;
  if (rule.maximum)
    (*schema)[rule.maximum_exclusive ? "exclusiveMaximum" : "maximum"] = *rule.maximum;
  if (rule.min_length) (*schema)["minLength"] = *rule.min_length;
  if (rule.max_length) (*schema)["maxLength"] = *rule.max_length;
  if (!rule.pattern.empty()) (*schema)["pattern"] = rule.pattern;
}

json FieldSchema(const SpecField& f) {
  json s = json::object();
  switch (f.type) {
    case SpecFieldType::kObject: {
      s["type"] = "object";
      json properties = json::object();
      json required = json::array();
      for (const SpecField* child : SpecFieldChildren(f.path)) {
        const std::string name(LeafOf(child->path));
        properties[name] = FieldSchema(*child);
        if (child->required) required.push_back(name);
      }
      s["properties"] = std::move(properties);
      if (!required.empty()) s["required"] = std::move(required);
      s["additionalProperties"] = false;
      break;
    }
    case SpecFieldType::kStringMap: {
      s["type"] = "object";
      if (f.max_items) s["maxProperties"] = *f.max_items;
      s["propertyNames"] = {{"minLength", 1}, {"maxLength", f.value.max_length.value_or(0)}};
      // A YAML value written as 2 or true is kept as text; JSON numbers and booleans likewise.
      json value = {{"type", {"string", "number", "boolean"}}};
      AddValueRule(f.value, &value);
      s["additionalProperties"] = std::move(value);
      break;
    }
    case SpecFieldType::kString:
      s["type"] = "string";
      if (f.enum_values.size() == 1) {
        s["const"] = f.enum_values[0];
      } else if (!f.enum_values.empty()) {
        s["enum"] = f.enum_values;
      }
      AddValueRule(f.value, &s);
      break;
    case SpecFieldType::kInteger:
      s["type"] = "integer";
      AddValueRule(f.value, &s);
      break;
    case SpecFieldType::kNumber:
      s["type"] = "number";
      AddValueRule(f.value, &s);
      break;
    case SpecFieldType::kBoolean:
      s["type"] = "boolean";
      break;
    case SpecFieldType::kIntegerList:
    case SpecFieldType::kNumberList:
    case SpecFieldType::kStringList: {
      s["type"] = "array";
      json items = {{"type", f.type == SpecFieldType::kIntegerList  ? "integer"
                             : f.type == SpecFieldType::kNumberList ? "number"
                                                                    : "string"}};
      AddValueRule(f.value, &items);
      s["items"] = std::move(items);
      if (f.min_items) s["minItems"] = *f.min_items;
      if (f.max_items) s["maxItems"] = *f.max_items;
      break;
    }
    case SpecFieldType::kIntegerListOrInteger: {
      json items = {{"type", "integer"}};
      AddValueRule(f.value, &items);
      json list = {{"type", "array"}, {"items", std::move(items)}};
      if (f.min_items) list["minItems"] = *f.min_items;
      if (f.max_items) list["maxItems"] = *f.max_items;
      json number = {{"type", "integer"}};
      AddValueRule(f.integer_alternative, &number);
      s["oneOf"] = {std::move(list), std::move(number)};
      break;
    }
    case SpecFieldType::kIntegerOrName: {
      json number = {{"type", "integer"}};
      AddValueRule(f.value, &number);
      s["oneOf"] = {{{"type", "string"}, {"enum", f.enum_values}}, std::move(number)};
      break;
    }
    case SpecFieldType::kDuration: {
      // The schema checks the spelling; the 1s..365d bound on a duration string is the
      // validator's (a regular expression cannot sum the parts).
      json seconds = {{"type", "integer"}};
      SpecValueRule bounds;
      bounds.minimum = f.value.minimum;
      bounds.maximum = f.value.maximum;
      AddValueRule(bounds, &seconds);
      s["oneOf"] = {{{"type", "string"}, {"pattern", f.value.pattern}, {"minLength", 1}},
                    std::move(seconds)};
      break;
    }
  }
  s["description"] = f.description;
  if (f.default_value) s["default"] = *f.default_value;
  return s;
}

std::string Indent(const std::string& paragraph, size_t width) {
  // Wraps at word boundaries to `width` columns, each line indented by four spaces.
  std::string out;
  std::string line;
  size_t start = 0;
  while (start < paragraph.size()) {
    size_t end = paragraph.find(' ', start);
    if (end == std::string::npos) end = paragraph.size();
    const std::string word = paragraph.substr(start, end - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += "    " + line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    start = end + 1;
  }
  if (!line.empty()) out += "    " + line + "\n";
  return out;
}

}  // namespace

const char* ToString(SpecFieldType type) {
  switch (type) {
    case SpecFieldType::kObject:
      return "object";
    case SpecFieldType::kStringMap:
      return "map[string]string";
    case SpecFieldType::kString:
      return "string";
    case SpecFieldType::kInteger:
      return "integer";
    case SpecFieldType::kNumber:
      return "number";
    case SpecFieldType::kBoolean:
      return "boolean";
    case SpecFieldType::kIntegerList:
      return "[]integer";
    case SpecFieldType::kNumberList:
      return "[]number";
    case SpecFieldType::kStringList:
      return "[]string";
    case SpecFieldType::kIntegerOrName:
      return "integer|string";
    case SpecFieldType::kDuration:
      return "duration";
    case SpecFieldType::kIntegerListOrInteger:
      return "[]integer|integer";
  }
  return "invalid";
}

const std::vector<SpecField>& SpecFields() {
  static const std::vector<SpecField>* const table = new std::vector<SpecField>(BuildTable());
  return *table;
}

const SpecField* FindSpecField(std::string_view path) {
  for (const SpecField& f : SpecFields()) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

std::vector<const SpecField*> SpecFieldChildren(std::string_view path) {
  std::vector<const SpecField*> children;
  for (const SpecField& f : SpecFields()) {
    if (!f.path.empty() && ParentOf(f.path) == path) children.push_back(&f);
  }
  return children;
}

json JobSpecJsonSchema() {
  json schema = FieldSchema(SpecFields().front());
  json out = {{"$schema", "https://json-schema.org/draft/2020-12/schema"},
              {"title", "shoal/v1 TrainingJob"}};
  out.update(schema);
  return out;
}

Result<std::string> ExplainSpecField(std::string_view path) {
  const SpecField* field = nullptr;
  if (path.empty() || path == "TrainingJob") {
    field = &SpecFields().front();
  } else {
    field = FindSpecField(path);
    if (!field) field = FindSpecField("spec." + std::string(path));
  }
  if (!field) {
    std::vector<std::string> paths;
    for (const SpecField& f : SpecFields()) {
      if (f.path.empty()) continue;
      paths.push_back(f.path);
      if (f.path.starts_with("spec.")) paths.push_back(f.path.substr(5));
    }
    const std::vector<std::string_view> candidates(paths.begin(), paths.end());
    std::string message = "no field \"" + std::string(path) + "\" in a TrainingJob";
    if (std::string_view hint = SuggestSimilar(path, candidates); !hint.empty()) {
      message += " (did you mean \"" + std::string(hint) + "\"?)";
    }
    return NotFound(message + "; explaining \"spec\" lists its fields");
  }
  const SpecField& f = *field;
  std::string out;
  out += "FIELD:    " + (f.path.empty() ? std::string("TrainingJob") : f.path) + "\n";
  out += "TYPE:     " + std::string(ToString(f.type)) + "\n";
  if (f.default_value) {
    out += "DEFAULT:  " + f.default_value->dump() + "\n";
  } else if (f.path == "spec.workers.max") {
    out += "DEFAULT:  the value of spec.workers.min\n";
  }
  if (!f.allowed.empty()) out += "ALLOWED:  " + f.allowed + "\n";
  out += std::string("REQUIRED: ") + (f.required ? "yes" : "no") + "\n";
  out += "\nDESCRIPTION:\n" + Indent(f.description, 92);
  const std::vector<const SpecField*> children = SpecFieldChildren(f.path);
  if (f.type == SpecFieldType::kObject && !children.empty()) {
    size_t width = 0;
    for (const SpecField* c : children) width = std::max(width, LeafOf(c->path).size());
    out += "\nFIELDS:\n";
    for (const SpecField* c : children) {
      std::string name(LeafOf(c->path));
      name.resize(width, ' ');
      out += "    " + name + "  <" + ToString(c->type) + ">" + (c->required ? "  -required-" : "") +
             "\n";
    }
  }
  return out;
}

}  // namespace shoal

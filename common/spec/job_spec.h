// The `shoal/v1 TrainingJob` job spec: typed model, YAML/JSON parser and validator, canonical JSON.
//
// A job spec is what a job owner writes in job.yaml (see docs/job-spec.md and configs/jobs/*.yaml):
//
//   apiVersion: shoal/v1
//   kind: TrainingJob
//   metadata: {name: fashion-mlp}
//   spec:
//     model: {layers: [784, 256, 128, 10]}
//     data: {train: /usr/share/datasets/fashion-mnist/train}
//
// Every field not written takes the default documented next to it below. The CLI and the scheduler
// run the same ParseJobSpec, so a spec accepted by one is accepted by the other. Unknown fields,
// duplicate fields, wrong types and out-of-range values are errors, each reported with the file,
// line, column and dotted field path. A field written as null (`epochs:` or `epochs: ~`) counts as
// not written. Quoted scalars are strings: `epochs: "5"` is an error, not 5.
//
// All functions here are thread-safe (they share no state) and never throw.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/spec/enums.h"  // Backend, Activation, LossKind, DataFormat, OptimizerKind, Precision
#include "common/status.h"

namespace shoal {

// The YAML/JSON spelling of each value, e.g. ToString(LossKind::kCrossEntropy) == "cross_entropy".
// Returns a static string; "invalid" for a value outside the enum.
const char* ToString(Backend value);
const char* ToString(Activation value);
const char* ToString(LossKind value);
const char* ToString(DataFormat value);
const char* ToString(OptimizerKind value);
const char* ToString(Precision value);

// Largest job spec accepted, in bytes (ParseJobSpec and LoadJobSpecFile).
inline constexpr size_t kMaxJobSpecBytes = size_t{1} << 20;
// Most errors one parse reports; past it the last error says how many more there were.
inline constexpr size_t kMaxReportedSpecErrors = 50;
// 1..63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit.
bool IsDnsLabel(std::string_view s);

// Largest model accepted: MlpParameterCount(layers) <= 2^31.
inline constexpr int64_t kMaxMlpParameters = int64_t{1} << 31;

// One training job. Below, "DNS label" means 1..63 characters of a-z, 0-9 and '-', starting and
// ending with a letter or digit; lengths are in bytes of UTF-8.
struct JobSpec {
  struct Metadata {
    std::string name;                 // required; DNS label
    std::string project = "default";  // DNS label; the accounting bucket for usage
    // At most 64 entries; keys 1..253 bytes, values 0..253 bytes; values must be scalars
    // (`version: 2` is the string "2").
    std::map<std::string, std::string> labels;
    bool operator==(const Metadata&) const = default;
  };
  struct Workers {
    // Gang size: the job starts only with at least `min` ranks and may grow to `max`.
    int min = 1;  // 1..4096
    int max = 1;  // min..4096; when only `min` is written, max = min
    bool operator==(const Workers&) const = default;
  };
  struct Resources {
    Backend backend = Backend::kAuto;
    // YAML gpusPerWorker: 0..16; one rank per GPU. 0 (no GPU) is only valid with backend cpu.
    int gpus_per_worker = 1;
    // YAML gpuTypes: any of these GPU models, e.g. [H100, A100]; empty = any. At most 64 entries,
    // each 1..128 bytes.
    std::vector<std::string> gpu_types;
    double min_gpu_memory_gib = 0;  // YAML minGpuMemoryGiB: 0..4096 (0 = no requirement)
    bool operator==(const Resources&) const = default;
  };
  struct Model {
    std::string kind = "mlp";  // "mlp" (a multilayer perceptron) or "gpt" (a GPT-2-style decoder)
    // kind mlp: required. Layer widths from inputs to outputs: 2..1024 entries, each 1..1048576,
    // and MlpParameterCount(layers) <= kMaxMlpParameters. With cross_entropy the last (the
    // number of classes) is >= 2. Empty for gpt.
    std::vector<int> layers;
    Activation activation = Activation::kRelu;  // kind mlp only
    LossKind loss = LossKind::kCrossEntropy;    // kind mlp only
    // Optional; "" = the seed's random weights. The weights to start from: a registry URI
    // shoal://models/ACCOUNT/NAME[@V][/PATH] (PATH defaults to model.safetensors) or a local
    // safetensors file (under the worker's data roots, like data.train); at most 4096 bytes. The
    // file's tensors must have this model's names and shapes (the trainer checks).
    std::string init;
    // kind gpt: all required (0 for mlp). YAML layers is then an integer (the blocks);
    // vocabSize 2..65536 (token shards hold uint16), contextLength 1..16384, heads 1..256,
    // embedDim 1..8192 and divisible by heads; GptParameterCount <= kMaxMlpParameters.
    int blocks = 0;
    int vocab_size = 0;
    int context_length = 0;
    int heads = 0;
    int embed_dim = 0;
    bool is_gpt() const { return kind == "gpt"; }
    bool operator==(const Model&) const = default;
  };
  struct Data {
    std::string train;  // required; non-empty path or prefix, at most 4096 bytes
    std::string test;   // optional; "" = no test set; at most 4096 bytes
    DataFormat format = DataFormat::kAuto;
    bool normalize = true;  // normalize the features before training (true or false)
    bool shuffle = true;    // reshuffle the training set every epoch (true or false)
    bool operator==(const Data&) const = default;
  };
  struct Optimizer {
    OptimizerKind kind = OptimizerKind::kAdamW;
    double lr = 0.001;      // finite, in (0, 10]
    double momentum = 0.9;  // [0, 1); used by sgd
    // YAML `betas: [beta1, beta2]` (exactly two numbers); used by adamw.
    double beta1 = 0.9;         // [0, 1)
    double beta2 = 0.999;       // [0, 1)
    double eps = 1e-8;          // (0, 1]; used by adamw
    double weight_decay = 0.0;  // YAML weightDecay: [0, 1]
    // YAML schedule: the learning rate of update s (1-based) is lr * s / warmupSteps while
    // s <= warmupSteps; after that `lr` (kind constant) or, for kind cosine, a cosine decay from
    // lr to minLr over the next decaySteps updates (0 = until the end of training), then minLr.
    struct Schedule {
      std::string kind = "constant";  // "constant" or "cosine"
      int warmup_steps = 0;           // YAML warmupSteps: 0..10^9 (0 = no warm-up)
      double min_lr = 0;              // YAML minLr: [0, lr]; cosine only
      int decay_steps = 0;            // YAML decaySteps: 0..10^9; cosine only
      bool operator==(const Schedule&) const = default;
    };
    Schedule schedule;
    bool operator==(const Optimizer&) const = default;
  };
  struct Training {
    int epochs = 5;        // 1..100000
    int batch_size = 128;  // YAML batchSize: 1..1048576, per rank (global = batchSize x ranks)
    uint64_t seed = 1;     // 0..2^63
    Precision precision = Precision::kFp32;  // tf32 and bf16 are errors with backend cpu
    // YAML gradAccumulation: 1..1024 micro-batches of batchSize per rank summed into one update,
    // so the global batch is batchSize x ranks x gradAccumulation.
    int grad_accumulation = 1;
    // YAML clipGradNorm: [0, 10^6]; > 0 scales the summed gradient down to this global L2 norm
    // when it is larger (torch.nn.utils.clip_grad_norm_); 0 = no clipping.
    double clip_grad_norm = 0;
    // YAML evalEverySteps: 0..10^9; > 0 evaluates data.test every this many steps as well as at
    // each epoch's end; 0 = at epoch ends only.
    int eval_every_steps = 0;
    // YAML evalBatches: 0..10^6; > 0 bounds each evaluation to the first evalBatches x batchSize
    // x ranks samples of data.test; 0 = the whole test set.
    int eval_batches = 0;
    bool operator==(const Training&) const = default;
  };
  struct Checkpoint {
    int every_seconds = 60;  // YAML everySeconds: 0..604800 (7 days); 0 = no periodic checkpoints
    int every_steps = 0;     // YAML everySteps: 0..10^9; 0 = none; with both, whichever comes first
    int keep = 2;            // 1..100 most recent checkpoints kept
    // YAML keepAfterEnd: true keeps the checkpoints once the job has ended, until deleted (they
    // count against the account's checkpoint quota); false (default) lets the scheduler delete
    // them after its checkpointRetention.
    bool keep_after_end = false;
    bool operator==(const Checkpoint&) const = default;
  };
  struct Limits {
    // YAML maxRuntime: a duration ("90s", "30m", "2h", "1h30m", "1d"; see common/duration.h) or an
    // integer number of seconds; 1 s .. 365 d. JSON carries it as a duration string.
    int64_t max_runtime_seconds = 7200;
    int max_retries = 3;  // YAML maxRetries: 0..100 restarts after failures
    bool operator==(const Limits&) const = default;
  };

  // YAML output: what the scheduler keeps of a job that succeeds, beyond its checkpoints.
  struct Output {
    // YAML model: a DNS label, or "" (none): on success the final weights are published as model
    // OWNER/NAME of the model library, as `shoal models publish` would.
    std::string model;
    // YAML version: the version to publish as (1..64 of A-Z a-z 0-9 . _ -, not "latest"); ""
    // = the next integer version.
    std::string version;
    // YAML visibility: "auto" (private when the job reads a private dataset or model, public
    // otherwise), "public" or "private".
    std::string visibility = "auto";
    std::string license;      // SPDX identifier for the model card, at most 128 bytes
    std::string description;  // the model card's description, at most 16384 bytes
    bool operator==(const Output&) const = default;
  };

  std::string api_version = "shoal/v1";  // YAML apiVersion: required, exactly "shoal/v1"
  std::string kind = "TrainingJob";      // required, exactly "TrainingJob"
  Metadata metadata;                     // required (for metadata.name)
  // Everything below is under `spec:` in YAML.
  std::string queue = "default";  // DNS label
  int priority = 500;             // "low"=250, "normal"=500, "high"=750, or an integer 0..1000
  Workers workers;
  Resources resources;
  Model model;
  Data data;
  Optimizer optimizer;
  Training training;
  Checkpoint checkpoint;
  Limits limits;
  Output output;

  bool operator==(const JobSpec&) const = default;
};

// One problem found in a spec.
struct SpecError {
  std::string file;     // as given to the parser
  int line = 0;         // 1-based; 0 when unknown
  int column = 0;       // 1-based; 0 when unknown
  std::string field;    // dotted path, e.g. "spec.workers.min" or "spec.model.layers[1]"; "" for a
                        // YAML syntax error, an empty document or a document that is not a map
  std::string message;  // what was found and what is allowed, e.g. "found -1, expected an integer
                        // in 1..4096"
  // "file:line:column: field: message"; the ":line:column" part is left out when the line is
  // unknown and the "field: " part when the field is "".
  std::string ToString() const;
  bool operator==(const SpecError&) const = default;
};

// Parses and validates one YAML (or JSON, which is YAML) document. On success returns the spec,
// with every field not written set to its default.
// On failure returns InvalidArgument whose message is every error's ToString() joined by '\n',
// and, when `errors` is non-null, appends the structured errors to it (in file order, the first
// being the most useful; at most kMaxReportedSpecErrors). Text over kMaxJobSpecBytes, malformed
// YAML, an empty document, several documents and a document that is not a map are each reported as
// one error with field "". Never throws; safe to call from any thread.
Result<JobSpec> ParseJobSpec(std::string_view text, std::string_view filename = "<input>",
                             std::vector<SpecError>* errors = nullptr);

// Reads `path` then ParseJobSpec(contents, path, errors). Returns NotFound if `path` does not
// exist, InvalidArgument if it is larger than kMaxJobSpecBytes, is a directory or cannot be read
// (those three do not append to `errors`), else what ParseJobSpec returns.
// Never throws; safe to call from any thread.
Result<JobSpec> LoadJobSpecFile(const std::string& path, std::vector<SpecError>* errors = nullptr);

// Canonical JSON of `spec`: camelCase keys, the same shape as the YAML (`spec.optimizer.betas` is
// [beta1, beta2], `spec.limits.maxRuntime` a duration string like "2h", `spec.priority` an
// integer), every field present with its effective value. For a valid spec,
// ParseJobSpec(JobSpecToJson(spec).dump()) gives back an equal spec. Never throws.
nlohmann::json JobSpecToJson(const JobSpec& spec);

// Total trainable parameters of an MLP with these layer widths: the sum over consecutive pairs of
// in * out weights + out biases. Returns 0 for fewer than 2 layers; a negative width counts as 0;
// saturates at INT64_MAX instead of overflowing.
int64_t MlpParameterCount(const std::vector<int>& layers);

// Trainable parameters of the spec's model, whichever its kind (a gpt's as models/gpt/gpt.h lays
// them out).
int64_t ModelParameterCount(const JobSpec::Model& model);

// Floating-point operations of one training sample's forward and backward pass (the numerator
// of MFU): 6 x weights for an mlp (2 forward, 4 backward per multiply-add); for a gpt, per token
// 6 x the parameters other than the position embeddings plus attention's 12 x blocks x C x T
// (PaLM's estimate, as nanoGPT and llm.c count it), times the T tokens of a window.
double ModelFlopsPerSample(const JobSpec::Model& model);

}  // namespace shoal

#include "worker/train/checkpoint.h"

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include "common/audit/state_digest.h"
#include "common/file_util.h"
#include "common/safetensors.h"
#include "models/model.h"

namespace shoal {
namespace {

constexpr char kFormat[] = "shoal-checkpoint/1";

std::string Exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

// The model's shape as checkpoints record it: an mlp's widths "784,256,10"; a gpt's
// "gpt:layers=L,vocabSize=V,contextLength=T,heads=H,embedDim=C".
std::string LayersText(const JobSpec& spec) {
  const JobSpec::Model& m = spec.model;
  if (m.is_gpt()) {
    return "gpt:layers=" + std::to_string(m.blocks) + ",vocabSize=" + std::to_string(m.vocab_size) +
           ",contextLength=" + std::to_string(m.context_length) +
           ",heads=" + std::to_string(m.heads) + ",embedDim=" + std::to_string(m.embed_dim);
  }
  std::string s;
  for (int w : m.layers) s += (s.empty() ? "" : ",") + std::to_string(w);
  return s;
}

// The optimizer buffers' name prefixes for state_a and state_b ("" = unused).
std::pair<std::string, std::string> OptimizerPrefixes(const JobSpec& spec) {
  if (spec.optimizer.kind == OptimizerKind::kAdamW) {
    return {"optimizer.exp_avg.", "optimizer.exp_avg_sq."};
  }
  return {"optimizer.momentum_buffer.", ""};
}

// Every parameter tensor of the spec's model (none for an invalid model, which Train refuses
// before any checkpoint is read or written).
std::vector<ParamTensor> Slots(const JobSpec& spec) {
  auto model = MakeModel(spec.model);
  return model.ok() ? (*model)->Tensors() : std::vector<ParamTensor>{};
}

bool ParseI64(const std::string& s, int64_t* out) {
  char* end = nullptr;
  *out = std::strtoll(s.c_str(), &end, 10);
  return !s.empty() && *end == '\0';
}

bool ParseF64(const std::string& s, double* out) {
  char* end = nullptr;
  *out = std::strtod(s.c_str(), &end);
  return !s.empty() && *end == '\0';
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

int64_t CheckpointDataBytes(const JobSpec& spec) {
  int64_t params = 0;
  for (const ParamTensor& s : Slots(spec)) params += s.size;
  const int buffers = spec.optimizer.kind == OptimizerKind::kAdamW ? 3 : 2;
  return params * 4 * buffers;
}

namespace {

// What a checkpoint file holds: its tensors (views into ckpt's state) and metadata.
struct Content {
  std::vector<TensorView> views;
  std::map<std::string, std::string> meta;
};

Result<Content> ContentOf(const JobSpec& spec, const Checkpoint& ckpt) {
  const std::vector<ParamTensor> slots = Slots(spec);
  const int64_t n = slots.empty() ? 0 : slots.back().offset + slots.back().size;
  RETURN_IF_ERROR(CheckStateSize(ckpt.state, n));
  const auto [prefix_a, prefix_b] = OptimizerPrefixes(spec);
  Content c;
  std::vector<TensorView>& views = c.views;
  for (const ParamTensor& s : slots) views.push_back({s.name, s.shape, ckpt.state.params.data() + s.offset});
  for (const ParamTensor& s : slots) {
    views.push_back({prefix_a + s.name, s.shape, ckpt.state.state_a.data() + s.offset});
  }
  if (!prefix_b.empty()) {
    for (const ParamTensor& s : slots) {
      views.push_back({prefix_b + s.name, s.shape, ckpt.state.state_b.data() + s.offset});
    }
  }
  const TrainPosition& p = ckpt.position;
  c.meta = {
      {"format", kFormat},
      {"layers", LayersText(spec)},
      {"activation", ToString(spec.model.activation)},
      {"optimizer", ToString(spec.optimizer.kind)},
      {"seed", std::to_string(spec.training.seed)},
      {"worldSize", std::to_string(p.world_size)},
      {"step", std::to_string(p.step)},
      {"epoch", std::to_string(p.epoch)},
      {"epochSamples", std::to_string(p.epoch_samples)},
      {"epochLoss", Exact(p.epoch_loss)},
      {"epochCorrect", Exact(p.epoch_correct)},
      {"epochReduceSec", Exact(p.epoch_reduce_sec)},
      {"epochTimeSec", Exact(p.epoch_time_sec)},
      {"trainTimeSec", Exact(p.train_time_sec)},
      {"trainedSamples", std::to_string(p.trained_samples)},
  };
  return c;
}

}  // namespace

Status WriteCheckpoint(const std::string& path, const JobSpec& spec, const Checkpoint& ckpt) {
  ASSIGN_OR_RETURN(Content c, ContentOf(spec, ckpt));
  return WriteSafetensors(path, c.views, c.meta);
}

Result<std::string> CheckpointDigest(const JobSpec& spec, const Checkpoint& ckpt) {
  ASSIGN_OR_RETURN(Content c, ContentOf(spec, ckpt));
  return audit::StateDigest(c.views, c.meta);
}

Result<Checkpoint> ReadCheckpoint(const std::string& path, const JobSpec& spec, int64_t max_bytes) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFileLimited(path, max_bytes));
  auto indexed = IndexSafetensors(bytes);
  if (!indexed.ok()) return InvalidArgument(path + ": " + indexed.status().message());
  const SafetensorsIndex& file = *indexed;
  auto meta = [&](const char* key) -> std::string {
    auto it = file.metadata.find(key);
    return it == file.metadata.end() ? std::string() : it->second;
  };
  auto bad = [&](const std::string& why) { return InvalidArgument(path + ": " + why); };
  if (meta("format") != kFormat) {
    return bad("not a shoal checkpoint (metadata format \"" + meta("format") + "\", expected \"" +
               kFormat + "\")");
  }
  const std::pair<const char*, std::string> must_match[] = {
      {"layers", LayersText(spec)},
      {"activation", ToString(spec.model.activation)},
      {"optimizer", ToString(spec.optimizer.kind)},
      {"seed", std::to_string(spec.training.seed)},
  };
  for (const auto& [key, want] : must_match) {
    if (meta(key) != want) {
      return bad(std::string("written for ") + key + " " + meta(key) + ", but this job has " + want);
    }
  }
  Checkpoint out;
  TrainPosition& p = out.position;
  int64_t epoch = 0, world = 0;
  const bool ok =
      ParseI64(meta("step"), &p.step) && ParseI64(meta("epoch"), &epoch) &&
      ParseI64(meta("epochSamples"), &p.epoch_samples) && ParseI64(meta("worldSize"), &world) &&
      ParseF64(meta("epochLoss"), &p.epoch_loss) && ParseF64(meta("epochCorrect"), &p.epoch_correct) &&
      ParseF64(meta("epochReduceSec"), &p.epoch_reduce_sec) &&
      ParseF64(meta("epochTimeSec"), &p.epoch_time_sec) &&
      ParseF64(meta("trainTimeSec"), &p.train_time_sec) &&
      ParseI64(meta("trainedSamples"), &p.trained_samples);
  if (!ok || p.step < 0 || epoch < 1 || epoch > spec.training.epochs + 1 || p.epoch_samples < 0 ||
      world < 1 || world > (1 << 20) || p.trained_samples < 0) {
    return bad("its position metadata (step, epoch, epochSamples, worldSize, ...) is malformed");
  }
  p.epoch = static_cast<int>(epoch);
  p.world_size = static_cast<int>(world);
  const std::vector<ParamTensor> slots = Slots(spec);
  const int64_t n = slots.empty() ? 0 : slots.back().offset + slots.back().size;
  const auto [prefix_a, prefix_b] = OptimizerPrefixes(spec);
  out.state.params.assign(n, 0.f);
  out.state.state_a.assign(n, 0.f);
  out.state.state_b.assign(n, 0.f);
  size_t used = 0;
  for (const auto& [prefix, buffer] :
       {std::pair{std::string(), &out.state.params}, {prefix_a, &out.state.state_a},
        {prefix_b, &out.state.state_b}}) {
    if (buffer == &out.state.state_b && prefix_b.empty()) continue;
    for (const ParamTensor& s : slots) {
      auto it = file.entries.find(prefix + s.name);
      if (it == file.entries.end()) return bad("tensor " + prefix + s.name + " is missing");
      if (it->second.shape != s.shape) return bad("tensor " + prefix + s.name + " has the wrong shape");
      // Shapes match, so the byte range holds exactly s.size floats (IndexSafetensors checked).
      std::memcpy(buffer->data() + s.offset, bytes.data() + file.data_begin + it->second.begin,
                  static_cast<size_t>(s.size) * 4);
      ++used;
    }
  }
  if (used != file.entries.size()) {
    return bad(std::to_string(file.entries.size() - used) + " tensors this model does not have");
  }
  return out;
}

Result<ModelWeights> ReadModelWeights(const std::string& path, const JobSpec& spec) {
  auto bad = [](const std::string& why) { return InvalidArgument("model.init: " + why); };
  const std::vector<ParamTensor> slots = Slots(spec);
  const int64_t n = slots.empty() ? 0 : slots.back().offset + slots.back().size;
  // The largest file this model comes in: a checkpoint with AdamW's two buffers, plus a header.
  const int64_t max_bytes = n * 4 * 3 + (int64_t{16} << 20);
  const std::string layers =
      spec.model.is_gpt()
          ? "(" + LayersText(spec) + ")"
          : "(layers: " + ShapeText({spec.model.layers.begin(), spec.model.layers.end()}) + ")";
  auto bytes = ReadFileLimited(path, max_bytes);
  if (!bytes.ok()) {
    const Status& st = bytes.status();
    if (st.code() == StatusCode::kInvalidArgument &&
        st.message().find(" bytes, more than ") != std::string::npos) {
      return bad(st.message() + ": larger than any checkpoint of this spec's model " + layers +
                 " can be, so it holds another model");
    }
    return Status(st.code(), "model.init: " + st.message());
  }
  auto indexed = IndexSafetensors(*bytes);
  if (!indexed.ok()) {
    return bad(path + " is not a safetensors file shoal can read: " + indexed.status().message());
  }
  const SafetensorsIndex& file = *indexed;
  ModelWeights out;
  out.params.assign(static_cast<size_t>(n), 0.f);
  for (const ParamTensor& s : slots) {
    auto it = file.entries.find(s.name);
    if (it == file.entries.end()) {
      return bad("tensor " + s.name + " " + ShapeText(s.shape) + " of this spec's model " + layers +
                 " is missing from " + path);
    }
    if (it->second.shape != s.shape) {
      return bad("tensor " + s.name + " is " + ShapeText(it->second.shape) + " in the model, " +
                 ShapeText(s.shape) + " in this spec's model " + layers);
    }
    // Shapes match, so the byte range holds exactly s.size floats (IndexSafetensors checked).
    std::memcpy(out.params.data() + s.offset, bytes->data() + file.data_begin + it->second.begin,
                static_cast<size_t>(s.size) * 4);
    ++out.tensors;
  }
  // Every file tensor is now either one of the out.tensors loaded, another layers.* one (a model
  // with more layers: refused, not silently cut), or something else (ignored).
  std::set<std::string> loaded;
  for (const ParamTensor& s : slots) loaded.insert(s.name);
  for (const auto& [name, entry] : file.entries) {
    if (loaded.count(name) > 0) continue;
    // A model's own tensors (an mlp's layers.*, a gpt's h.* blocks) that this spec lacks mean a
    // larger model; anything else (optimizer state) is ignored.
    if (!name.starts_with("layers.") && !name.starts_with("h.")) {
      ++out.ignored;
      continue;
    }
    return bad("tensor " + name + " " + ShapeText(entry.shape) +
               " of the model is not in this spec's model " + layers);
  }
  return out;
}

}  // namespace shoal

#include "worker/train/trainer.h"

#include <chrono>
#include <cmath>
#include <iomanip>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <random>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "common/wire/trainer_report.h"
#include "kernels/cpu/reduce.h"
#include "worker/train/checkpoint.h"
#include "worker/train/engines/engine_factory.h"
#include "data/dataset.h"

namespace shoal {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// The epoch's sample order, identical on every rank: Fisher-Yates driven by a 64-bit Mersenne
// twister with a plain modulo (std::shuffle's distribution is implementation-defined).
std::vector<int64_t> EpochOrder(int64_t n, uint64_t seed, int epoch, bool shuffle) {
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (!shuffle) return order;
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) + 1);
  for (int64_t i = n - 1; i > 0; --i) {
    int64_t j = static_cast<int64_t>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(order[i], order[j]);
  }
  return order;
}

// A report for shoal-worker as an "@shoal {json}" line, or, for a person running shoal-train,
// a readable line for the reports that no other line already covers (checkpoints, the result;
// progress is the per-epoch line).
void Report(std::ostream& out, bool json, const nlohmann::json& j) {
  if (json) {
    out << wire::ReportLine(j) << std::endl;
    return;
  }
  const std::string type = j.value("type", "");
  if (type == "checkpoint") {
    out << "checkpoint at step " << j["step"].get<int64_t>() << ": " << j["path"].get<std::string>()
        << " (" << j["bytes"].get<int64_t>() << " bytes)" << std::endl;
  } else if (type == "result") {
    std::ostringstream line;  // not `out`, whose number format the caller owns
    line << std::fixed << std::setprecision(4) << "rank " << j["rank"].get<int>() << " "
         << (j["stopped"].get<bool>() ? "stopped" : "done") << " after "
         << j["steps"].get<int64_t>() << " steps: test acc " << j["testAccuracy"].get<double>()
         << ", parameter checksum " << j["paramChecksum"].get<std::string>();
    out << line.str() << std::endl;
  }
}

Status LoadData(const JobSpec& spec, Dataset* train, Dataset* test) {
  ASSIGN_OR_RETURN(*train, LoadDataset(spec.data.train, spec.data.format));
  if (!spec.data.test.empty()) {
    ASSIGN_OR_RETURN(*test, LoadDataset(spec.data.test, spec.data.format));
  }
  const int in = spec.model.layers.front(), classes = spec.model.layers.back();
  for (const Dataset* d : {train, test}) {
    if (d->size == 0 && d == test) continue;
    const char* which = d == train ? "data.train" : "data.test";
    if (d->dim != in) {
      return InvalidArgument(std::string(which) + " has " + std::to_string(d->dim) +
                             " features per sample but model.layers[0] is " + std::to_string(in));
    }
    if (d->num_classes > classes) {
      return InvalidArgument(std::string(which) + " has labels up to " +
                             std::to_string(d->num_classes - 1) + " but the model has only " +
                             std::to_string(classes) + " outputs");
    }
  }
  if (spec.data.normalize) {
    FeatureStats stats = ComputeStats(*train);
    ApplyNormalization(stats, train);
    if (test->size > 0) ApplyNormalization(stats, test);
  }
  return Status::Ok();
}

// Test loss and accuracy, each rank evaluating a contiguous shard and the sums all-reduced.
Status Evaluate(StepEngine& engine, const Dataset& test, Collective& coll, double* loss,
                double* accuracy) {
  const int64_t per_rank = (test.size + coll.size() - 1) / coll.size();
  const int64_t begin = std::min<int64_t>(test.size, per_rank * coll.rank());
  const int64_t end = std::min<int64_t>(test.size, begin + per_rank);
  double sums[2] = {0, 0};  // loss sum, correct
  constexpr int64_t kChunk = 1024;
  for (int64_t i = begin; i < end; i += kChunk) {
    int n = static_cast<int>(std::min(kChunk, end - i));
    double loss_sum = 0;
    int64_t correct = 0;
    RETURN_IF_ERROR(engine.Evaluate(test.features.data() + i * test.dim,
                                    test.labels.data() + i, n, &loss_sum, &correct));
    sums[0] += loss_sum;
    sums[1] += static_cast<double>(correct);
  }
  RETURN_IF_ERROR(coll.AllReduceSum(sums, 2));
  *loss = sums[0] / static_cast<double>(test.size);
  *accuracy = sums[1] / static_cast<double>(test.size);
  return Status::Ok();
}


// Rank 0's checkpoint writer: ckpt-<step>.safetensors in the directory, the newest `keep` kept.
class Checkpointer {
 public:
  Checkpointer(const JobSpec& spec, const TrainerOptions& options, int rank)
      : spec_(spec),
        dir_(rank == 0 ? options.checkpoint_dir : ""),
        json_(options.progress_json),
        last_(Clock::now()) {}

  bool enabled() const { return !dir_.empty(); }
  int64_t last_step() const { return last_step_; }

  // Whether the periodic schedule asks for one after `step`.
  bool Due(int64_t step) const {
    if (!enabled()) return false;
    const auto& c = spec_.checkpoint;
    if (c.every_steps > 0 && step % c.every_steps == 0) return true;
    return c.every_seconds > 0 && Seconds(last_, Clock::now()) >= c.every_seconds;
  }

  Status Write(StepEngine& engine, const TrainPosition& position, std::ostream& out) {
    if (!enabled()) return Status::Ok();
    const auto t0 = Clock::now();
    Checkpoint ckpt;
    ckpt.position = position;
    ASSIGN_OR_RETURN(ckpt.state, engine.SaveState());
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    char name[64];
    std::snprintf(name, sizeof(name), "ckpt-%012lld.safetensors",
                  static_cast<long long>(position.step));
    const std::string path = std::filesystem::absolute(std::filesystem::path(dir_) / name).string();
    RETURN_IF_ERROR(WriteCheckpoint(path, spec_, ckpt));
    last_ = Clock::now();
    last_step_ = position.step;
    const auto bytes = std::filesystem::file_size(path, ec);
    Prune();
    Report(out, json_,
           wire::ToJson(wire::CheckpointReport{.path = path,
                                               .step = position.step,
                                               .epoch = position.epoch,
                                               .bytes = ec ? 0 : static_cast<int64_t>(bytes),
                                               .seconds = Seconds(t0, last_)}));
    return Status::Ok();
  }

 private:
  void Prune() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_, ec)) {
      const std::string n = e.path().filename().string();
      if (n.rfind("ckpt-", 0) == 0 && n.size() > 12 &&
          n.compare(n.size() - 12, 12, ".safetensors") == 0) {
        names.push_back(n);
      }
    }
    std::sort(names.begin(), names.end());  // zero-padded steps: oldest first
    for (size_t i = 0; i + spec_.checkpoint.keep < names.size(); ++i) {
      std::filesystem::remove(std::filesystem::path(dir_) / names[i], ec);
    }
  }

  const JobSpec& spec_;
  std::string dir_;
  bool json_;
  Clock::time_point last_;
  int64_t last_step_ = -1;
};

bool StopRequested(const TrainerOptions& options) {
  return options.stop_requested != nullptr && options.stop_requested->load();
}

}  // namespace

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk: return kTrainOk;
    case StatusCode::kInvalidArgument:
    case StatusCode::kNotFound: return kTrainBadInput;
    case StatusCode::kAborted:
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded: return kTrainPeerFailed;
    default: return kTrainError;
  }
}

Result<Backend> ResolveBackend(const JobSpec& spec, Collective& coll,
                               const TrainerOptions& options, std::ostream& out) {
  const Backend asked = spec.resources.backend;
  if (asked == Backend::kCpu) return Backend::kCpu;
  std::string why = "this shoal-train was built without CUDA";
  const bool built = static_cast<bool>(options.make_cuda_engine);
  bool usable = built && options.cuda_usable && options.cuda_usable(&why);
  if (asked == Backend::kCuda) {
    if (!built) return InvalidArgument("resources.backend cuda: " + why);
    return Backend::kCuda;  // a missing device is reported by the engine with CUDA's reason
  }
  // auto: cuda only if every rank can, so that all ranks run the same collectives.
  double ranks_with_gpu = usable ? 1 : 0;
  RETURN_IF_ERROR(coll.AllReduceSum(&ranks_with_gpu, 1));
  const bool all = ranks_with_gpu == static_cast<double>(coll.size());
  if (coll.rank() == 0) {
    if (all) {
      out << "backend auto: cuda" << std::endl;
    } else if (usable || ranks_with_gpu > 0) {
      out << "backend auto: cpu (" << ranks_with_gpu << " of " << coll.size()
          << " ranks have a usable GPU)" << std::endl;
    } else {
      out << "backend auto: cpu (" << why << ")" << std::endl;
    }
  }
  return all ? Backend::kCuda : Backend::kCpu;
}

Result<TrainResult> Train(const JobSpec& spec, Collective& coll, const TrainerOptions& options,
                          std::ostream& out) {
  const auto t_start = Clock::now();
  const int rank = coll.rank(), world = coll.size();
  ASSIGN_OR_RETURN(Backend backend, ResolveBackend(spec, coll, options, out));

  Dataset train, test;
  RETURN_IF_ERROR(LoadData(spec, &train, &test));
  const int64_t batch = spec.training.batch_size;
  const int64_t global_batch = batch * world;
  const int64_t steps_per_epoch = train.size / global_batch;
  if (steps_per_epoch == 0) {
    return InvalidArgument("data.train has " + std::to_string(train.size) +
                           " samples, fewer than one global batch (" +
                           std::to_string(global_batch) + " = batchSize x " +
                           std::to_string(world) + " ranks)");
  }

  // A resume checkpoint is read before the engine exists: reading holds the file and its parsed
  // copy at once (24 B per parameter), and the engine's buffers (16 B per parameter) come only
  // after the file is freed, so the peak stays within common/memory_estimate.h's 28 B.
  std::optional<Checkpoint> resume;
  if (!options.resume_from.empty()) {
    ASSIGN_OR_RETURN(
        resume, ReadCheckpoint(options.resume_from, spec, CheckpointDataBytes(spec) + (16 << 20)));
  }
  EngineConfig engine_config{&spec, std::max(1, options.threads), options.bucket_bytes,
                             options.device, options.timeout_sec};
  ASSIGN_OR_RETURN(std::unique_ptr<StepEngine> engine,
                   MakeEngine(backend, engine_config, coll, options.make_cuda_engine));
  out << "rank " << rank << "/" << world << " on " << engine->Describe() << ": " << train.size
      << " train / " << test.size << " test samples, dim " << train.dim << ", "
      << steps_per_epoch << " steps per epoch, global batch " << global_batch << std::endl;
  std::vector<float> xb(batch * train.dim);
  std::vector<int32_t> yb(batch);
  const float grad_scale = 1.0f / static_cast<float>(global_batch);

  TrainResult result;
  // Where training stands; restored from a checkpoint when resuming.
  TrainPosition pos;
  pos.world_size = world;
  if (resume) {
    const Checkpoint& ckpt = *resume;
    RETURN_IF_ERROR(engine->LoadState(ckpt.state));
    pos = ckpt.position;
    result.resumed_step = pos.step;
    if (rank == 0) {
      out << "resumed from " << options.resume_from << ": step " << pos.step << ", epoch "
          << pos.epoch << ", " << pos.epoch_samples << " samples into it"
          << (pos.world_size != world ? " (written by " + std::to_string(pos.world_size) +
                                            " ranks: the data position is rounded to this "
                                            "world's global batch)"
                                      : "")
          << std::endl;
    }
    if (pos.world_size != world) {
      pos.epoch_samples = pos.epoch_samples / global_batch * global_batch;
      pos.world_size = world;
    }
    resume.reset();  // the engine holds the state now
  }
  Checkpointer checkpointer(spec, options, rank);
  int64_t& step = pos.step;
  auto last_report = Clock::now();
  double window_loss = 0, window_correct = 0, window_samples = 0;
  const int64_t max_steps = options.max_steps;
  bool stop = false;
  for (int epoch = pos.epoch; epoch <= spec.training.epochs && !stop; ++epoch) {
    auto order = EpochOrder(train.size, spec.training.seed, epoch, spec.data.shuffle);
    if (epoch != pos.epoch) {  // a fresh epoch (the resumed one keeps its sums)
      pos.epoch = epoch;
      pos.epoch_samples = 0;
      pos.epoch_loss = pos.epoch_correct = pos.epoch_reduce_sec = pos.epoch_time_sec = 0;
    }
    // Time already spent on this epoch before a resume counts toward its rate.
    const auto epoch_start =
        Clock::now() - std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(pos.epoch_time_sec));
    auto sync_time = [&] { pos.epoch_time_sec = Seconds(epoch_start, Clock::now()); };
    for (int64_t s = pos.epoch_samples / global_batch; s < steps_per_epoch; ++s) {
      if (StopRequested(options)) {
        result.stopped = true;
        break;
      }
      const int64_t begin = s * global_batch + rank * batch;
      GatherBatch(train, order, begin, begin + batch, xb.data(), yb.data());
      auto stepped = engine->Step(xb.data(), yb.data(), static_cast<int>(batch), grad_scale,
                                  step + 1);
      if (!stepped.ok()) {
        // Told to stop and a peer already left: the last completed step is still intact.
        const StatusCode code = stepped.status().code();
        if (StopRequested(options) &&
            (code == StatusCode::kAborted || code == StatusCode::kUnavailable ||
             code == StatusCode::kDeadlineExceeded)) {
          result.stopped = true;
          break;
        }
        return stepped.status();
      }
      const StepStats& st = *stepped;
      ++step;
      pos.epoch_reduce_sec += st.reduce_sec;
      pos.epoch_loss += st.loss_sum;
      pos.epoch_correct += st.correct;
      pos.epoch_samples += global_batch;
      window_loss += st.loss_sum;
      window_correct += st.correct;
      window_samples += static_cast<double>(global_batch);
      const auto now = Clock::now();
      if (rank == 0 && Seconds(last_report, now) >= options.report_every_sec) {
        double elapsed = Seconds(epoch_start, now);
        Report(out, options.progress_json,
               wire::ToJson(wire::ProgressReport{
                   .epoch = epoch,
                   .epochs = spec.training.epochs,
                   .step = step,
                   .steps_per_epoch = steps_per_epoch,
                   .loss = window_loss / window_samples,
                   .train_accuracy = window_correct / window_samples,
                   .samples_per_sec = static_cast<double>(pos.epoch_samples) / elapsed,
                   .step_sec = elapsed * static_cast<double>(global_batch) /
                               static_cast<double>(pos.epoch_samples),
                   .all_reduce_sec = pos.epoch_reduce_sec * static_cast<double>(global_batch) /
                                     static_cast<double>(pos.epoch_samples)}));
        last_report = now;
        window_loss = window_correct = window_samples = 0;
      }
      if (checkpointer.Due(step)) {
        sync_time();
        RETURN_IF_ERROR(checkpointer.Write(*engine, pos, out));
      }
      if (max_steps > 0 && step >= max_steps) {
        stop = true;
        break;
      }
    }
    if (result.stopped) {
      // Stopped at a step boundary (or a peer left first): checkpoint what is complete.
      sync_time();
      RETURN_IF_ERROR(checkpointer.Write(*engine, pos, out));
      break;
    }
    sync_time();
    const double epoch_time = pos.epoch_time_sec;
    const int64_t epoch_samples = pos.epoch_samples;
    pos.train_time_sec += epoch_time;
    pos.trained_samples += epoch_samples;
    result.train_loss = pos.epoch_loss / static_cast<double>(epoch_samples);
    double train_acc = pos.epoch_correct / static_cast<double>(epoch_samples);
    const double steps_done = static_cast<double>(epoch_samples / global_batch);
    wire::ProgressReport report{.epoch = epoch,
                                .epochs = spec.training.epochs,
                                .step = step,
                                .steps_per_epoch = steps_per_epoch,
                                .loss = result.train_loss,
                                .train_accuracy = train_acc,
                                .samples_per_sec = static_cast<double>(epoch_samples) / epoch_time,
                                .step_sec = epoch_time / steps_done,
                                .all_reduce_sec = pos.epoch_reduce_sec / steps_done,
                                .epoch_done = true};
    std::ostringstream line;
    line << std::fixed << std::setprecision(4) << "epoch " << epoch << "/"
         << spec.training.epochs << ": train loss " << result.train_loss << " acc " << train_acc;
    if (test.size > 0) {
      RETURN_IF_ERROR(Evaluate(*engine, test, coll, &result.test_loss, &result.test_accuracy));
      report.test_loss = result.test_loss;
      report.test_accuracy = result.test_accuracy;
      line << " | test loss " << result.test_loss << " acc " << result.test_accuracy;
    }
    line << std::setprecision(0) << " | " << static_cast<double>(epoch_samples) / epoch_time
         << " samples/s | all-reduce "
         << std::setprecision(1) << 100.0 * pos.epoch_reduce_sec / epoch_time << "% of step time";
    if (const std::string note = engine->StepNote(); !note.empty()) line << " " << note;
    if (rank == 0) {
      out << line.str() << std::endl;
      Report(out, options.progress_json, wire::ToJson(report));
    }
  }
  const double train_time = pos.train_time_sec;
  const int64_t trained_samples = pos.trained_samples;
  // The trained model, so that it can be fetched from the scheduler like any checkpoint (unless
  // the last periodic one already holds it).
  if (!result.stopped && max_steps == 0 && checkpointer.last_step() != step) {
    RETURN_IF_ERROR(checkpointer.Write(*engine, pos, out));
  }
  result.steps = step;
  result.samples_per_sec = train_time > 0 ? static_cast<double>(trained_samples) / train_time : 0;
  ASSIGN_OR_RETURN(std::vector<float> params, engine->Params());
  result.param_checksum = cpu::Fnv1aChecksum(params.data(), static_cast<int64_t>(params.size()));
  result.wall_seconds = Seconds(t_start, Clock::now());
  Report(out, options.progress_json,
         wire::ToJson(wire::ResultReport{.rank = rank,
                                         .param_checksum = result.param_checksum,
                                         .test_accuracy = result.test_accuracy,
                                         .test_loss = result.test_loss,
                                         .train_loss = result.train_loss,
                                         .samples_per_sec = result.samples_per_sec,
                                         .steps = result.steps,
                                         .resumed_step = result.resumed_step,
                                         .stopped = result.stopped,
                                         .wall_sec = result.wall_seconds}));
  return result;
}

}  // namespace shoal

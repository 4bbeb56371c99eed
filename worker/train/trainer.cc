#include "worker/train/trainer.h"

#include <chrono>
#include <cmath>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>
#include <random>

#include <nlohmann/json.hpp>

#include "kernels/cpu/reduce.h"
#include "worker/train/dataset.h"

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

void Report(std::ostream& out, const nlohmann::json& j) {
  out << "@shoal " << j.dump() << std::endl;
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

  EngineConfig engine_config{&spec, std::max(1, options.threads), options.bucket_bytes,
                             options.device, options.timeout_sec};
  std::unique_ptr<StepEngine> engine;
  if (backend == Backend::kCuda) {
    ASSIGN_OR_RETURN(engine, options.make_cuda_engine(engine_config, coll));
  } else {
    ASSIGN_OR_RETURN(engine, MakeCpuEngine(engine_config, coll));
  }
  out << "rank " << rank << "/" << world << " on " << engine->Describe() << ": " << train.size
      << " train / " << test.size << " test samples, dim " << train.dim << ", "
      << steps_per_epoch << " steps per epoch, global batch " << global_batch << std::endl;
  std::vector<float> xb(batch * train.dim);
  std::vector<int32_t> yb(batch);
  const float grad_scale = 1.0f / static_cast<float>(global_batch);

  TrainResult result;
  int64_t step = 0;
  double train_time = 0;
  int64_t trained_samples = 0;
  auto last_report = Clock::now();
  double window_loss = 0, window_correct = 0, window_samples = 0;
  const int64_t max_steps = options.max_steps;
  bool stop = false;
  for (int epoch = 1; epoch <= spec.training.epochs && !stop; ++epoch) {
    auto order = EpochOrder(train.size, spec.training.seed, epoch, spec.data.shuffle);
    double epoch_loss = 0, epoch_correct = 0;
    int64_t epoch_samples = 0;
    double epoch_reduce_sec = 0;  // time inside the gradient all-reduce (waiting included)
    const auto epoch_start = Clock::now();
    for (int64_t s = 0; s < steps_per_epoch; ++s) {
      const int64_t begin = s * global_batch + rank * batch;
      GatherBatch(train, order, begin, begin + batch, xb.data(), yb.data());
      ASSIGN_OR_RETURN(StepStats st, engine->Step(xb.data(), yb.data(), static_cast<int>(batch),
                                                  grad_scale, step + 1));
      ++step;
      epoch_reduce_sec += st.reduce_sec;
      epoch_loss += st.loss_sum;
      epoch_correct += st.correct;
      epoch_samples += global_batch;
      window_loss += st.loss_sum;
      window_correct += st.correct;
      window_samples += static_cast<double>(global_batch);
      const auto now = Clock::now();
      if (rank == 0 && Seconds(last_report, now) >= options.report_every_sec) {
        double elapsed = Seconds(epoch_start, now);
        Report(out, {{"type", "progress"},
                     {"epoch", epoch},
                     {"epochs", spec.training.epochs},
                     {"step", step},
                     {"stepsPerEpoch", steps_per_epoch},
                     {"loss", window_loss / window_samples},
                     {"trainAccuracy", window_correct / window_samples},
                     {"samplesPerSec", static_cast<double>(epoch_samples) / elapsed}});
        last_report = now;
        window_loss = window_correct = window_samples = 0;
      }
      if (max_steps > 0 && step >= max_steps) {
        stop = true;
        break;
      }
    }
    const double epoch_time = Seconds(epoch_start, Clock::now());
    train_time += epoch_time;
    trained_samples += epoch_samples;
    result.train_loss = epoch_loss / static_cast<double>(epoch_samples);
    double train_acc = epoch_correct / static_cast<double>(epoch_samples);
    nlohmann::json report = {{"type", "progress"},
                             {"epoch", epoch},
                             {"epochs", spec.training.epochs},
                             {"step", step},
                             {"stepsPerEpoch", steps_per_epoch},
                             {"loss", result.train_loss},
                             {"trainAccuracy", train_acc},
                             {"samplesPerSec", static_cast<double>(epoch_samples) / epoch_time},
                             {"stepSec", epoch_time / static_cast<double>(epoch_samples / global_batch)},
                             {"allReduceSec", epoch_reduce_sec / static_cast<double>(epoch_samples / global_batch)},
                             {"epochDone", true}};
    std::ostringstream line;
    line << std::fixed << std::setprecision(4) << "epoch " << epoch << "/"
         << spec.training.epochs << ": train loss " << result.train_loss << " acc " << train_acc;
    if (test.size > 0) {
      RETURN_IF_ERROR(Evaluate(*engine, test, coll, &result.test_loss, &result.test_accuracy));
      report["testLoss"] = result.test_loss;
      report["testAccuracy"] = result.test_accuracy;
      line << " | test loss " << result.test_loss << " acc " << result.test_accuracy;
    }
    line << std::setprecision(0) << " | " << static_cast<double>(epoch_samples) / epoch_time
         << " samples/s | all-reduce "
         << std::setprecision(1) << 100.0 * epoch_reduce_sec / epoch_time << "% of step time";
    if (const std::string note = engine->StepNote(); !note.empty()) line << " " << note;
    if (rank == 0) {
      out << line.str() << std::endl;
      Report(out, report);
    }
  }
  result.steps = step;
  result.samples_per_sec = train_time > 0 ? static_cast<double>(trained_samples) / train_time : 0;
  ASSIGN_OR_RETURN(std::vector<float> params, engine->Params());
  result.param_checksum = cpu::Fnv1aChecksum(params.data(), static_cast<int64_t>(params.size()));
  result.wall_seconds = Seconds(t_start, Clock::now());
  Report(out, {{"type", "result"},
               {"rank", rank},
               {"paramChecksum", result.param_checksum},
               {"testAccuracy", result.test_accuracy},
               {"testLoss", result.test_loss},
               {"trainLoss", result.train_loss},
               {"samplesPerSec", result.samples_per_sec},
               {"steps", result.steps},
               {"wallSec", result.wall_seconds}});
  return result;
}

}  // namespace shoal

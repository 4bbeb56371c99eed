#include "worker/train/trainer.h"

#include <cblas.h>

#include <chrono>
#include <cmath>
#include <iomanip>
#include <memory>
#include <ostream>
#include <sstream>
#include <random>

#include <nlohmann/json.hpp>

#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/reduce.h"
#include "worker/train/dataset.h"
#include "worker/train/grad_reducer.h"
#include "worker/train/mlp.h"

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
Status Evaluate(Mlp& model, const std::vector<float>& params, const Dataset& test,
                Collective& coll, double* loss, double* accuracy) {
  const int64_t per_rank = (test.size + coll.size() - 1) / coll.size();
  const int64_t begin = std::min<int64_t>(test.size, per_rank * coll.rank());
  const int64_t end = std::min<int64_t>(test.size, begin + per_rank);
  double sums[2] = {0, 0};  // loss sum, correct
  constexpr int64_t kChunk = 1024;
  for (int64_t i = begin; i < end; i += kChunk) {
    int n = static_cast<int>(std::min(kChunk, end - i));
    double loss_sum = 0;
    int64_t correct = 0;
    RETURN_IF_ERROR(model.Evaluate(params.data(), test.features.data() + i * test.dim,
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

Result<TrainResult> Train(const JobSpec& spec, Collective& coll, const TrainerOptions& options,
                          std::ostream& out) {
  const auto t_start = Clock::now();
  const int rank = coll.rank(), world = coll.size();
  if (spec.resources.backend == Backend::kCuda) {
    return InvalidArgument("resources.backend cuda: this trainer has only the cpu backend so far");
  }
  if (spec.training.precision != Precision::kFp32) {
    return InvalidArgument(std::string("training.precision ") + ToString(spec.training.precision) +
                           " needs the cuda backend; the cpu backend trains in fp32");
  }
  openblas_set_num_threads(std::max(1, options.threads));

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
  out << "rank " << rank << "/" << world << ": " << train.size << " train / " << test.size
      << " test samples, dim " << train.dim << ", " << steps_per_epoch << " steps per epoch, "
      << "global batch " << global_batch << std::endl;

  MlpConfig config{spec.model.layers, spec.model.activation, spec.model.loss};
  RETURN_IF_ERROR(Mlp::ValidateConfig(config));
  Mlp model(config);
  const int64_t n_params = model.num_params();
  std::vector<float> params(n_params), state_a(n_params, 0.f), state_b(n_params, 0.f);
  model.InitParams(spec.training.seed, params.data());
  // Gradients plus two trailing slots (loss sum, correct count) so one all-reduce carries both.
  std::vector<float> grads(n_params + 2);
  std::vector<float> xb(batch * train.dim);
  std::vector<int32_t> yb(batch);
  const float grad_scale = 1.0f / static_cast<float>(global_batch);
  // Overlap needs a peer to talk to; a single rank has nothing to all-reduce.
  const int64_t bucket_floats = options.bucket_bytes / static_cast<int64_t>(sizeof(float));
  std::unique_ptr<GradReducer> reducer;
  if (world > 1 && bucket_floats > 0) {
    reducer = std::make_unique<GradReducer>(coll, n_params + 2, bucket_floats);
  }
  const auto& opt = spec.optimizer;

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
      double loss_sum = 0;
      int64_t correct = 0;
      if (reducer) {
        // Buckets are all-reduced by the reducer's thread while backward continues; the loss and
        // correct count ride in the first bucket (they are known before any gradient).
        reducer->Begin(grads.data());
        bool first = true;
        auto on_ready = [&](int64_t from) {
          if (first) {
            grads[n_params] = static_cast<float>(loss_sum);
            grads[n_params + 1] = static_cast<float>(correct);
            first = false;
          }
          reducer->Ready(from);
        };
        RETURN_IF_ERROR(model.ForwardBackward(params.data(), xb.data(), yb.data(),
                                              static_cast<int>(batch), grad_scale, grads.data(),
                                              &loss_sum, &correct, on_ready, bucket_floats));
        const auto t_reduce = Clock::now();
        RETURN_IF_ERROR(reducer->Finish());
        epoch_reduce_sec += Seconds(t_reduce, Clock::now());
      } else {
        RETURN_IF_ERROR(model.ForwardBackward(params.data(), xb.data(), yb.data(),
                                              static_cast<int>(batch), grad_scale, grads.data(),
                                              &loss_sum, &correct));
        grads[n_params] = static_cast<float>(loss_sum);
        grads[n_params + 1] = static_cast<float>(correct);
        const auto t_reduce = Clock::now();
        RETURN_IF_ERROR(coll.AllReduceSum(grads.data(), n_params + 2));
        epoch_reduce_sec += Seconds(t_reduce, Clock::now());
      }
      const double step_loss = grads[n_params] / static_cast<double>(global_batch);
      if (!std::isfinite(step_loss) || !cpu::AllFinite(grads.data(), n_params)) {
        return InvalidArgument("training diverged at step " + std::to_string(step + 1) +
                               " (loss or gradient is NaN/Inf): lower optimizer.lr");
      }
      ++step;
      if (opt.kind == OptimizerKind::kAdamW) {
        cpu::AdamWUpdate(params.data(), grads.data(), state_a.data(), state_b.data(), n_params,
                    static_cast<float>(opt.lr), static_cast<float>(opt.beta1),
                    static_cast<float>(opt.beta2), static_cast<float>(opt.eps),
                    static_cast<float>(opt.weight_decay), step);
      } else {
        cpu::SgdMomentumUpdate(params.data(), grads.data(), state_a.data(), n_params,
                          static_cast<float>(opt.lr), static_cast<float>(opt.momentum),
                          static_cast<float>(opt.weight_decay));
      }
      epoch_loss += grads[n_params];
      epoch_correct += grads[n_params + 1];
      epoch_samples += global_batch;
      window_loss += grads[n_params];
      window_correct += grads[n_params + 1];
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
      RETURN_IF_ERROR(Evaluate(model, params, test, coll, &result.test_loss, &result.test_accuracy));
      report["testLoss"] = result.test_loss;
      report["testAccuracy"] = result.test_accuracy;
      line << " | test loss " << result.test_loss << " acc " << result.test_accuracy;
    }
    line << std::setprecision(0) << " | " << static_cast<double>(epoch_samples) / epoch_time
         << " samples/s | " << (reducer ? "exposed all-reduce " : "all-reduce ")
         << std::setprecision(1) << 100.0 * epoch_reduce_sec / epoch_time << "% of step time";
    if (reducer) line << " (" << reducer->buckets_per_step() << " buckets/step)";
    if (rank == 0) {
      out << line.str() << std::endl;
      Report(out, report);
    }
  }
  result.steps = step;
  result.samples_per_sec = train_time > 0 ? static_cast<double>(trained_samples) / train_time : 0;
  result.param_checksum = cpu::Fnv1aChecksum(params.data(), n_params);
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

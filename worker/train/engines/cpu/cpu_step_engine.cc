// The cpu backend's StepEngine (engines/step_engine.h): the spec's model (models/model.h) on
// kernels/cpu, Gloo or MPI all-reduce.
#include <cblas.h>

#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/reduce.h"
#include "worker/train/engines/cpu/grad_reducer.h"
#include "models/model.h"
#include "worker/train/engines/cpu/cpu_step_engine.h"

namespace shoal {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

class CpuEngine final : public StepEngine {
 public:
  CpuEngine(const JobSpec& spec, std::unique_ptr<Model> model, int threads, int64_t bucket_floats,
            Collective& coll)
      : spec_(spec), model_(std::move(model)), coll_(coll), threads_(threads) {
    n_ = model_->num_params();
    params_.resize(n_);
    state_a_.assign(n_, 0.f);
    state_b_.assign(n_, 0.f);
    // Gradients plus two trailing slots (loss sum, correct count) so one all-reduce carries all.
    grads_.resize(n_ + 2);
    model_->InitParams(spec.training.seed, params_.data());
    // Overlap needs a peer to talk to; a single rank has nothing to all-reduce.
    if (coll.size() > 1 && bucket_floats > 0) {
      bucket_floats_ = bucket_floats;
      reducer_ = std::make_unique<GradReducer>(coll, n_ + 2, bucket_floats);
    }
  }

  std::string Describe() const override {
    return "cpu (OpenBLAS, " + std::to_string(threads_) + (threads_ == 1 ? " thread" : " threads") +
           (reducer_ ? ", bucketed all-reduce" : "") + ")";
  }
  int64_t num_params() const override { return n_; }

  Result<StepStats> Step(const float* x, const int32_t* y, int batch, float grad_scale,
                         int64_t step) override {
    StepStats stats;
    double loss_sum = 0;
    int64_t correct = 0;
    if (reducer_) {
      // Buckets are all-reduced by the reducer's thread while backward continues; the loss and
      // correct count ride in the first bucket (they are known before any gradient).
      reducer_->Begin(grads_.data());
      bool first = true;
      auto on_ready = [&](int64_t from) {
        if (first) {
          grads_[n_] = static_cast<float>(loss_sum);
          grads_[n_ + 1] = static_cast<float>(correct);
          first = false;
        }
        reducer_->Ready(from);
      };
      RETURN_IF_ERROR(model_->ForwardBackward(params_.data(), x, y, batch, grad_scale,
                                             grads_.data(), &loss_sum, &correct, on_ready,
                                             bucket_floats_));
      const auto t_reduce = Clock::now();
      RETURN_IF_ERROR(reducer_->Finish());
      stats.reduce_sec = SecondsSince(t_reduce);
    } else {
      RETURN_IF_ERROR(model_->ForwardBackward(params_.data(), x, y, batch, grad_scale,
                                             grads_.data(), &loss_sum, &correct));
      grads_[n_] = static_cast<float>(loss_sum);
      grads_[n_ + 1] = static_cast<float>(correct);
      const auto t_reduce = Clock::now();
      RETURN_IF_ERROR(coll_.AllReduceSum(grads_.data(), n_ + 2));
      stats.reduce_sec = SecondsSince(t_reduce);
    }
    stats.loss_sum = grads_[n_];
    stats.correct = grads_[n_ + 1];
    if (!std::isfinite(stats.loss_sum) || !cpu::AllFinite(grads_.data(), n_)) {
      return InvalidArgument("training diverged at step " + std::to_string(step) +
                             " (loss or gradient is NaN/Inf): lower optimizer.lr");
    }
    const auto& opt = spec_.optimizer;
    if (opt.kind == OptimizerKind::kAdamW) {
      cpu::AdamWUpdate(params_.data(), grads_.data(), state_a_.data(), state_b_.data(), n_,
                       static_cast<float>(opt.lr), static_cast<float>(opt.beta1),
                       static_cast<float>(opt.beta2), static_cast<float>(opt.eps),
                       static_cast<float>(opt.weight_decay), step);
    } else {
      cpu::SgdMomentumUpdate(params_.data(), grads_.data(), state_a_.data(), n_,
                             static_cast<float>(opt.lr), static_cast<float>(opt.momentum),
                             static_cast<float>(opt.weight_decay));
    }
    return stats;
  }

  Status Evaluate(const float* x, const int32_t* y, int n, double* loss_sum,
                  int64_t* correct) override {
    return model_->Evaluate(params_.data(), x, y, n, loss_sum, correct);
  }

  Result<std::vector<float>> Params() override { return params_; }

  Result<EngineState> SaveState() override { return EngineState{params_, state_a_, state_b_}; }

  Status LoadState(const EngineState& state) override {
    RETURN_IF_ERROR(CheckStateSize(state, n_));
    params_ = state.params;
    state_a_ = state.state_a;
    state_b_ = state.state_b;
    return Status::Ok();
  }

  std::string StepNote() const override {
    return reducer_ ? "(" + std::to_string(reducer_->buckets_per_step()) + " buckets/step)" : "";
  }

 private:
  const JobSpec& spec_;
  std::unique_ptr<Model> model_;
  Collective& coll_;
  int threads_;
  int64_t n_ = 0;
  int64_t bucket_floats_ = 0;
  std::vector<float> params_, state_a_, state_b_, grads_;
  std::unique_ptr<GradReducer> reducer_;
};

}  // namespace

Status CheckStateSize(const EngineState& state, int64_t n) {
  for (const auto* v : {&state.params, &state.state_a, &state.state_b}) {
    if (static_cast<int64_t>(v->size()) != n) {
      return InvalidArgument("training state has " + std::to_string(v->size()) +
                             " values where the model has " + std::to_string(n) + " parameters");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<StepEngine>> MakeCpuEngine(const EngineConfig& config,
                                                  Collective& collective) {
  const JobSpec& spec = *config.spec;
  if (spec.training.precision != Precision::kFp32) {
    return InvalidArgument(std::string("training.precision ") + ToString(spec.training.precision) +
                           " needs the cuda backend; the cpu backend trains in fp32");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<Model> model, MakeModel(spec.model));
  openblas_set_num_threads(std::max(1, config.threads));
  const int64_t bucket_floats = config.bucket_bytes / static_cast<int64_t>(sizeof(float));
  return std::unique_ptr<StepEngine>(new CpuEngine(spec, std::move(model),
                                                   std::max(1, config.threads), bucket_floats,
                                                   collective));
}

}  // namespace shoal

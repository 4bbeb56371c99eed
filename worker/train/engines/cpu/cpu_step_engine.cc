// The cpu backend's StepEngine (engines/step_engine.h): the spec's model (models/model.h) on
// kernels/cpu, Gloo or MPI all-reduce.
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "common/audit/commitment.h"
#include "kernels/cpu/optimizer.h"
#include "kernels/cpu/reduce.h"
#include "models/model.h"
#include "worker/train/engines/cpu/cpu_step_engine.h"
#include "worker/train/engines/cpu/grad_reducer.h"

namespace shoal {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The first row of micro-batch m.
int64_t Rows(const StepInput& in, int m) { return static_cast<int64_t>(m) * in.batch; }

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

  Result<StepStats> Step(const StepInput& in) override {
    StepStats stats;
    const int k = std::max(1, in.micro_batches);
    if (k > 1 && acc_.empty()) acc_.resize(n_);
    // Micro-batches before the last: their gradients summed into acc_, in order.
    double loss_sum = 0;  // over every micro-batch so far
    int64_t correct = 0;
    for (int m = 0; m + 1 < k; ++m) {
      double loss = 0;
      int64_t right = 0;
      float* out = m == 0 ? acc_.data() : grads_.data();
      RETURN_IF_ERROR(model_->ForwardBackward(params_.data(), in.x + Rows(in, m) * in.dim,
                                              in.y + Rows(in, m) * in.label_width, in.batch,
                                              in.grad_scale, out, &loss, &right));
      if (m > 0) cblas_saxpy(static_cast<blasint>(n_), 1.0f, grads_.data(), 1, acc_.data(), 1);
      loss_sum += loss;
      correct += right;
    }
    // The last micro-batch writes grads_, to which acc_ is added suffix by suffix as backward
    // finishes it, so the bucketed all-reduce still overlaps the last backward.
    const float* x = in.x + Rows(in, k - 1) * in.dim;
    const int32_t* y = in.y + Rows(in, k - 1) * in.label_width;
    int64_t added_from = n_;  // grads_[added_from, n_) already include acc_
    auto add_accumulated = [&](int64_t from) {
      if (k > 1 && from < added_from) {
        cblas_saxpy(static_cast<blasint>(added_from - from), 1.0f, acc_.data() + from, 1,
                    grads_.data() + from, 1);
        added_from = from;
      }
    };
    double loss = 0;
    int64_t right = 0;
    // An audited step commits to the whole local gradient before any of it is reduced, so it
    // takes the one-all-reduce path.
    if (reducer_ && in.audit == nullptr) {
      // Buckets are all-reduced by the reducer's thread while backward continues; the loss and
      // correct count ride in the first bucket (they are known before any gradient).
      reducer_->Begin(grads_.data());
      bool first = true;
      auto on_ready = [&](int64_t from) {
        add_accumulated(from);
        if (first) {
          grads_[n_] = static_cast<float>(loss_sum + loss);
          grads_[n_ + 1] = static_cast<float>(correct + right);
          first = false;
        }
        reducer_->Ready(from);
      };
      RETURN_IF_ERROR(model_->ForwardBackward(params_.data(), x, y, in.batch, in.grad_scale,
                                              grads_.data(), &loss, &right, on_ready,
                                              bucket_floats_));
      const auto t_reduce = Clock::now();
      RETURN_IF_ERROR(reducer_->Finish());
      stats.reduce_sec = SecondsSince(t_reduce);
    } else {
      RETURN_IF_ERROR(model_->ForwardBackward(params_.data(), x, y, in.batch, in.grad_scale,
                                              grads_.data(), &loss, &right));
      add_accumulated(0);
      grads_[n_] = static_cast<float>(loss_sum + loss);
      grads_[n_ + 1] = static_cast<float>(correct + right);
      // The audit's side band follows the loss and correct slots in the same all-reduce.
      const int64_t side = in.audit != nullptr ? in.audit->SideBandFloats() : 0;
      if (side > 0) {
        grads_.resize(n_ + 2 + side);
        std::fill(grads_.begin() + n_ + 2, grads_.end(), 0.f);
      }
      if (in.audit != nullptr) {
        RETURN_IF_ERROR(in.audit->Commit(in.step, grads_.data(), n_, grads_.data() + n_ + 2));
      }
      const auto t_reduce = Clock::now();
      RETURN_IF_ERROR(in.audit != nullptr ? in.audit->Reduce(grads_.data(), n_ + 2 + side)
                                          : coll_.AllReduceSum(grads_.data(), n_ + 2 + side));
      stats.reduce_sec = SecondsSince(t_reduce);
    }
    if (in.audit != nullptr)
      RETURN_IF_ERROR(in.audit->Verify(in.step, grads_.data(), grads_.data() + n_ + 2, *this));
    stats.loss_sum = grads_[n_];
    stats.correct = grads_[n_ + 1];
    if (!std::isfinite(stats.loss_sum) || !cpu::AllFinite(grads_.data(), n_)) {
      return InvalidArgument("training diverged at step " + std::to_string(in.step) +
                             " (loss or gradient is NaN/Inf): lower optimizer.lr");
    }
    // Every rank holds the same summed gradient, so the norm and the clipping agree everywhere.
    stats.grad_norm = std::sqrt(cpu::SumOfSquares(grads_.data(), n_));
    if (const float coef = ClipCoefficient(in.clip_norm, stats.grad_norm); coef < 1.0f) {
      cpu::ScaleInPlace(grads_.data(), n_, coef);
    }
    const auto& opt = spec_.optimizer;
    if (opt.kind == OptimizerKind::kAdamW) {
      cpu::AdamWUpdate(params_.data(), grads_.data(), state_a_.data(), state_b_.data(), n_, in.lr,
                       static_cast<float>(opt.beta1), static_cast<float>(opt.beta2),
                       static_cast<float>(opt.eps), static_cast<float>(opt.weight_decay), in.step);
    } else {
      cpu::SgdMomentumUpdate(params_.data(), grads_.data(), state_a_.data(), n_, in.lr,
                             static_cast<float>(opt.momentum),
                             static_cast<float>(opt.weight_decay));
    }
    return stats;
  }

  Status LocalGradient(const StepInput& in, std::vector<float>* out) override {
    // Step()'s local arithmetic in the same order: earlier micro-batches summed into `acc` one
    // after another, then added to the last one's gradient.
    const int k = std::max(1, in.micro_batches);
    out->assign(n_, 0.f);
    std::vector<float> acc(k > 1 ? n_ : 0), part(k > 2 ? n_ : 0);
    for (int m = 0; m < k; ++m) {
      float* dst = m + 1 == k ? out->data() : m == 0 ? acc.data() : part.data();
      double loss = 0;
      int64_t right = 0;
      RETURN_IF_ERROR(model_->ForwardBackward(params_.data(), in.x + Rows(in, m) * in.dim,
                                              in.y + Rows(in, m) * in.label_width, in.batch,
                                              in.grad_scale, dst, &loss, &right));
      if (m > 0 && m + 1 < k)
        cblas_saxpy(static_cast<blasint>(n_), 1.0f, part.data(), 1, acc.data(), 1);
    }
    if (k > 1) cblas_saxpy(static_cast<blasint>(n_), 1.0f, acc.data(), 1, out->data(), 1);
    return Status::Ok();
  }

  std::string ComputeConfig() const override {
    return audit::ComputeConfig("cpu", "fp32", openblas_get_corename(), threads_, 0);
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
  std::vector<float> acc_;  // the summed gradients of earlier micro-batches (gradAccumulation > 1)
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
  return std::unique_ptr<StepEngine>(new CpuEngine(
      spec, std::move(model), std::max(1, config.threads), bucket_floats, collective));
}

}  // namespace shoal

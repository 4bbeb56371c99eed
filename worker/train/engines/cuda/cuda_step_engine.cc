#include "worker/train/engines/cuda/cuda_step_engine.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <vector>

#include "common/audit/commitment.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/optimizer.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/transformer.h"
#include "models/device_array.h"
#include "models/device_model.h"
#include "models/model.h"
#include "worker/train/engines/peak_flops.h"
#ifdef SHOAL_HAVE_NCCL
#include "kernels/collectives/nccl_communicator.h"
#endif

namespace shoal {
namespace {

// Owning CUDA stream and event handles.
struct StreamHandle {
  cudaStream_t s = nullptr;
  ~StreamHandle() {
    if (s != nullptr) (void)cudaStreamDestroy(s);
  }
};
struct EventHandle {
  cudaEvent_t e = nullptr;
  EventHandle() = default;
  EventHandle(EventHandle&& o) noexcept : e(std::exchange(o.e, nullptr)) {}
  EventHandle& operator=(EventHandle&&) = delete;
  ~EventHandle() {
    if (e != nullptr) (void)cudaEventDestroy(e);
  }
};

class CudaEngine final : public StepEngine {
 public:
  static Result<std::unique_ptr<StepEngine>> Create(const EngineConfig& config, Collective& coll) {
    const JobSpec& spec = *config.spec;
    std::string why;
    const int count = CudaDeviceCount(&why);
    if (count == 0) return Unavailable("resources.backend cuda: " + why);
    if (config.device < 0 || config.device >= count) {
      return InvalidArgument("CUDA device " + std::to_string(config.device) + " requested but " +
                             std::to_string(count) + " visible");
    }
    SHOAL_CUDA_RETURN_IF_ERROR(cudaSetDevice(config.device));
    std::unique_ptr<CudaEngine> e(new CudaEngine(spec, coll));
    RETURN_IF_ERROR(e->Init(config));
    return std::unique_ptr<StepEngine>(std::move(e));
  }

  std::string Describe() const override {
    std::string s = "cuda (" + device_name_ + ", " + ToString(spec_.training.precision);
    if (coll_.size() > 1 && !HaveNccl()) {
      s += ", all-reduce on the host";
    } else if (coll_.size() > 1) {
      s += ", NCCL, buckets of " + std::to_string(bucket_floats_ * 4 >> 20) + " MiB";
    }
    return s + ")";
  }
  int64_t num_params() const override { return n_; }

  Result<StepStats> Step(const StepInput& in) override {
    const int world = coll_.size();
    StepStats stats;
    if (in.audit != nullptr || (world > 1 && !HaveNccl())) {
      RETURN_IF_ERROR(HostReducedGradient(in, &stats));
      return Update(in, stats, /*tail_on_device=*/false, compute_.s);
    }
    const int k = std::max(1, in.micro_batches);
    float* grads = grads_.get();
    double loss_total = 0;
    int64_t correct_total = 0;
    RETURN_IF_ERROR(SumEarlierMicroBatches(in, grads, acc_, &loss_total, &correct_total));
    int64_t added_from = n_;  // grads[added_from, n_) already include acc_
    auto add_accumulated = [&](int64_t from) -> Status {
      if (k == 1 || from >= added_from) return Status::Ok();
      RETURN_IF_ERROR(cuda::ResidualForward(grads + from, acc_.get() + from, added_from - from,
                                            grads + from, compute_.s));
      added_from = from;
      return Status::Ok();
    };
    int64_t sent_end = n_;  // grads[sent_end, n_) are already being all-reduced
    int buckets = 0;
    DeviceModel::GradsEnqueued on_enqueued;
#ifdef SHOAL_HAVE_NCCL
    if (world > 1) {
      on_enqueued = [&](int64_t from) -> Status {
        RETURN_IF_ERROR(add_accumulated(from));
        if (sent_end - from < bucket_floats_ || from == 0) return Status::Ok();  // 0: after FB
        RETURN_IF_ERROR(Handoff(buckets));
        RETURN_IF_ERROR(nccl_->AllReduceSumAsync(grads + from, sent_end - from, comm_.s));
        sent_end = from;
        ++buckets;
        return Status::Ok();
      };
    }
#endif
    double loss_sum = 0;
    int64_t correct = 0;
    RETURN_IF_ERROR(model_->ForwardBackward(params_.get(), d_x_.get(), d_y_.get(), in.batch,
                                            in.grad_scale, grads, &loss_sum, &correct,
                                            on_enqueued));
    if (added_from > 0 && k > 1) {
      // The model did not report the last suffix: add it and let it finish before the
      // remaining all-reduce reads it.
      RETURN_IF_ERROR(add_accumulated(0));
      SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(compute_.s));
    }
    // ForwardBackward synchronized S: backward is done. Mark it for the exposed-time measurement.
    SHOAL_CUDA_RETURN_IF_ERROR(cudaEventRecord(bwd_done_.e, compute_.s));
    float* tail = host_tail_.get();  // [loss sum, correct, non-finite flag as float]
    tail[0] = static_cast<float>(loss_total + loss_sum);
    tail[1] = static_cast<float>(correct_total + correct);
    cudaStream_t done_stream = compute_.s;
#ifdef SHOAL_HAVE_NCCL
    if (world > 1) {
      // The loss/correct sums ride with the last bucket, in the same NCCL group; C orders the
      // copy before them.
      SHOAL_CUDA_RETURN_IF_ERROR(
          cudaMemcpyAsync(grads + n_, tail, 2 * sizeof(float), cudaMemcpyHostToDevice, comm_.s));
      const NcclCommunicator::Range last[2] = {{grads, sent_end}, { grads + n_, 2 }};
      RETURN_IF_ERROR(nccl_->AllReduceSumAsync(last, comm_.s));
      ++buckets;
      SHOAL_CUDA_RETURN_IF_ERROR(cudaEventRecord(comm_done_.e, comm_.s));
      SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamWaitEvent(compute_.s, comm_done_.e, 0));
      done_stream = comm_.s;
    }
#endif
    buckets_per_step_ = buckets;
    return Update(in, stats, world > 1, done_stream);
  }

  // The rest of a step once grads_ holds the summed gradient: the divergence check, the norm,
  // clipping and the optimizer update. The loss sum and correct count are in host_tail_, or in
  // grads_[n_, n_ + 2) when `tail_on_device` (they rode in the NCCL all-reduce).
  Result<StepStats> Update(const StepInput& in, StepStats stats, bool tail_on_device,
                           cudaStream_t done_stream) {
    float* grads = grads_.get();
    float* tail = host_tail_.get();
    RETURN_IF_ERROR(cuda::AnyNonFinite(grads, n_, d_flag_.get(), compute_.s));
    // The global norm, deterministic (every rank computes the same bits, so clipping agrees).
    RETURN_IF_ERROR(cuda::SumOfSquares(grads, n_, d_sumsq_.get(), norm_scratch_.get(), compute_.s));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(host_sumsq_.get(), d_sumsq_.get(), sizeof(double),
                                               cudaMemcpyDeviceToHost, compute_.s));
    if (in.clip_norm > 0) {
      // The scale is decided on the host: one extra synchronization, only when clipping.
      RETURN_IF_ERROR(Wait(compute_.s));
      const float coef = ClipCoefficient(in.clip_norm, std::sqrt(*host_sumsq_.get()));
      if (coef < 1.0f) RETURN_IF_ERROR(cuda::ScaleInPlace(grads, n_, coef, compute_.s));
    }
    const auto& opt = spec_.optimizer;
    if (opt.kind == OptimizerKind::kAdamW) {
      RETURN_IF_ERROR(cuda::AdamWUpdate(params_.get(), grads, state_a_.get(), state_b_.get(), n_,
                                        in.lr, static_cast<float>(opt.beta1),
                                        static_cast<float>(opt.beta2), static_cast<float>(opt.eps),
                                        static_cast<float>(opt.weight_decay), in.step, compute_.s));
    } else {
      RETURN_IF_ERROR(cuda::SgdMomentumUpdate(params_.get(), grads, state_a_.get(), n_, in.lr,
                                              static_cast<float>(opt.momentum),
                                              static_cast<float>(opt.weight_decay), compute_.s));
    }
    if (tail_on_device) {
      SHOAL_CUDA_RETURN_IF_ERROR(
          cudaMemcpyAsync(tail, grads + n_, 2 * sizeof(float), cudaMemcpyDeviceToHost, compute_.s));
    }
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(host_flag_.get(), d_flag_.get(), sizeof(int32_t),
                                               cudaMemcpyDeviceToHost, compute_.s));
    RETURN_IF_ERROR(Wait(compute_.s));
    if (done_stream != compute_.s) {
      float ms = 0;
      SHOAL_CUDA_RETURN_IF_ERROR(cudaEventElapsedTime(&ms, bwd_done_.e, comm_done_.e));
      stats.reduce_sec = std::max(0.0f, ms) / 1000.0;
    }
    stats.loss_sum = tail[0];
    stats.correct = tail[1];
    stats.grad_norm = std::sqrt(*host_sumsq_.get());
    if (!std::isfinite(stats.loss_sum) || *host_flag_.get() != 0) {
      return InvalidArgument("training diverged at step " + std::to_string(in.step) +
                             " (loss or gradient is NaN/Inf): lower optimizer.lr");
    }
    return stats;
  }

  // Step()'s local gradient, the same bits (LocalSum is the order both use on the host path, and
  // the overlapped path's additions are the same elementwise sums), in buffers of its own: an
  // audit calls it between a step's all-reduce and its update, while grads_ holds the sum.
  Status LocalGradient(const StepInput& in, std::vector<float>* out) override {
    if (audit_grads_.size() == 0) RETURN_IF_ERROR(audit_grads_.Allocate(n_));
    double loss = 0;
    int64_t right = 0;
    RETURN_IF_ERROR(LocalSum(in, audit_grads_.get(), audit_acc_, &loss, &right));
    out->resize(n_);
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(out->data(), audit_grads_.get(), n_ * sizeof(float),
                                               cudaMemcpyDeviceToHost, compute_.s));
    return Wait(compute_.s);
  }

  // Bit-identical gradients need the same kernels with the same tiles: the device (its name and
  // compute capability), its SM count (the tensor-core GEMM picks its tile by it) and precision.
  std::string ComputeConfig() const override {
    return audit::ComputeConfig("cuda", ToString(spec_.training.precision), kernel_config_, 1, 0);
  }

  Status Evaluate(const float* x, const int32_t* y, int n, double* loss_sum,
                  int64_t* correct) override {
    RETURN_IF_ERROR(StageBatch(x, y, n));
    return model_->Evaluate(params_.get(), d_x_.get(), d_y_.get(), n, loss_sum, correct);
  }

  Result<std::vector<float>> Params() override {
    std::vector<float> out(n_);
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(out.data(), params_.get(), n_ * sizeof(float),
                                               cudaMemcpyDeviceToHost, compute_.s));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(compute_.s));
    return out;
  }

  Result<EngineState> SaveState() override {
    EngineState out;
    for (auto [dst, src] : {std::pair{&out.params, params_.get()},
                            {&out.state_a, state_a_.get()},
                            {&out.state_b, state_b_.get()}}) {
      dst->resize(n_);
      SHOAL_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst->data(), src, n_ * sizeof(float),
                                                 cudaMemcpyDeviceToHost, compute_.s));
    }
    SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(compute_.s));
    return out;
  }

  Status LoadState(const EngineState& state) override {
    RETURN_IF_ERROR(CheckStateSize(state, n_));
    for (auto [dst, src] : {std::pair{params_.get(), &state.params},
                            {state_a_.get(), &state.state_a},
                            {state_b_.get(), &state.state_b}}) {
      SHOAL_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(dst, src->data(), n_ * sizeof(float),
                                                 cudaMemcpyHostToDevice, compute_.s));
    }
    SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(compute_.s));
    return Status::Ok();
  }

  double PeakFlops() const override { return PeakFlopsOf(device_name_, spec_.training.precision); }

  std::string StepNote() const override {
    if (coll_.size() == 1) return "";
    if (!HaveNccl()) return "(all-reduce on the host)";
    return "(" + std::to_string(buckets_per_step_) + " NCCL buckets/step)";
  }

 private:
  CudaEngine(const JobSpec& spec, Collective& coll) : spec_(spec), coll_(coll) {}

  Status Init(const EngineConfig& config) {
    cudaDeviceProp prop{};
    SHOAL_CUDA_RETURN_IF_ERROR(cudaGetDeviceProperties(&prop, config.device));
    device_name_ = prop.name;
    // At most 64 characters in all travel in the audit's side band (audit_session.cc).
    kernel_config_ = device_name_.substr(0, 32) + " sm" + std::to_string(prop.major) +
                     std::to_string(prop.minor) + "x" + std::to_string(prop.multiProcessorCount);
    SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&compute_.s, cudaStreamNonBlocking));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&comm_.s, cudaStreamNonBlocking));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaEventCreate(&bwd_done_.e));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaEventCreate(&comm_done_.e));
    ASSIGN_OR_RETURN(model_, MakeDeviceModel(spec_.model, spec_.training.precision, compute_.s));
    ASSIGN_OR_RETURN(std::unique_ptr<Model> host_model, MakeModel(spec_.model));
    n_ = model_->num_params();
    const int64_t bytes = config.bucket_bytes > 0 ? config.bucket_bytes : kDefaultNcclBucketBytes;
    bucket_floats_ = std::max<int64_t>(1, bytes / static_cast<int64_t>(sizeof(float)));

    // Same initial parameters as the cpu backend (and every other rank): the CPU model's.
    std::vector<float> init(n_);
    host_model->InitParams(spec_.training.seed, init.data());
    RETURN_IF_ERROR(params_.Allocate(n_));
    RETURN_IF_ERROR(grads_.Allocate(n_ + 2));  // + loss sum, correct count
    RETURN_IF_ERROR(state_a_.Allocate(n_));
    RETURN_IF_ERROR(state_b_.Allocate(n_));
    RETURN_IF_ERROR(d_flag_.Allocate(1));
    RETURN_IF_ERROR(host_tail_.Allocate(2));
    RETURN_IF_ERROR(host_flag_.Allocate(1));
    RETURN_IF_ERROR(d_sumsq_.Allocate(1));
    RETURN_IF_ERROR(norm_scratch_.Allocate(cuda::kSumOfSquaresScratch));
    RETURN_IF_ERROR(host_sumsq_.Allocate(1));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(params_.get(), init.data(), n_ * sizeof(float),
                                               cudaMemcpyHostToDevice, compute_.s));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(state_a_.get(), 0, n_ * sizeof(float), compute_.s));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMemsetAsync(state_b_.get(), 0, n_ * sizeof(float), compute_.s));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(compute_.s));

    if (coll_.size() > 1 && !config.reduce_on_host) {
#ifdef SHOAL_HAVE_NCCL
      NcclOptions options;
      options.timeout =
          std::chrono::milliseconds(static_cast<int64_t>(std::max(1.0, config.timeout_sec) * 1000));
      ASSIGN_OR_RETURN(nccl_, NcclCommunicator::Create(coll_, options));
#else
      return Unavailable("the cuda backend with " + std::to_string(coll_.size()) +
                         " ranks needs NCCL, and this shoal-train was built without it");
#endif
    }
    return Status::Ok();
  }

  bool HaveNccl() const {
#ifdef SHOAL_HAVE_NCCL
    return nccl_ != nullptr;
#else
    return false;
#endif
  }

  // Micro-batches before the last: their gradients summed into `acc`, in order (the same order,
  // and so the same bits, as the cpu engine's), `scratch` holding each after the first; their
  // losses and correct counts added to *loss_sum and *correct. Then stages the last micro-batch.
  Status SumEarlierMicroBatches(const StepInput& in, float* scratch, DeviceArray<float>& acc,
                                double* loss_sum, int64_t* correct) {
    const int k = std::max(1, in.micro_batches);
    if (k > 1 && acc.size() == 0) RETURN_IF_ERROR(acc.Allocate(n_));
    for (int m = 0; m + 1 < k; ++m) {
      const int64_t row = static_cast<int64_t>(m) * in.batch;
      RETURN_IF_ERROR(StageBatch(in.x + row * in.dim, in.y + row * in.label_width, in.batch));
      double loss = 0;
      int64_t right = 0;
      RETURN_IF_ERROR(model_->ForwardBackward(params_.get(), d_x_.get(), d_y_.get(), in.batch,
                                              in.grad_scale, m == 0 ? acc.get() : scratch, &loss,
                                              &right));
      if (m > 0) {
        RETURN_IF_ERROR(cuda::ResidualForward(acc.get(), scratch, n_, acc.get(), compute_.s));
      }
      *loss_sum += loss;
      *correct += right;
    }
    const int64_t last_row = static_cast<int64_t>(k - 1) * in.batch;
    return StageBatch(in.x + last_row * in.dim, in.y + last_row * in.label_width, in.batch);
  }

  // Every micro-batch's gradient of `in` summed into `out` on the device, as Step()'s plain path
  // sums them (SumEarlierMicroBatches, then the last one's gradient plus `acc`; the plain path
  // adds `acc` bucket by bucket, the same elementwise sums). ForwardBackward synchronizes the
  // compute stream; the last addition is queued on it.
  Status LocalSum(const StepInput& in, float* out, DeviceArray<float>& acc, double* loss_sum,
                  int64_t* correct) {
    RETURN_IF_ERROR(SumEarlierMicroBatches(in, out, acc, loss_sum, correct));
    double loss = 0;
    int64_t right = 0;
    RETURN_IF_ERROR(model_->ForwardBackward(params_.get(), d_x_.get(), d_y_.get(), in.batch,
                                            in.grad_scale, out, &loss, &right));
    *loss_sum += loss;
    *correct += right;
    if (in.micro_batches > 1) {
      RETURN_IF_ERROR(cuda::ResidualForward(out, acc.get(), n_, out, compute_.s));
    }
    return Status::Ok();
  }

  // The host path of a step, taken by every audited step and by multi-rank jobs without NCCL
  // (EngineConfig::reduce_on_host): the local gradient is copied to the host, committed to by the
  // step's audit, all-reduced there (through the audit, which may reduce transparently) and
  // copied back; then the audit verifies the step. No overlap of backward and all-reduce, and
  // two gradient copies across PCIe: the price of auditing a cuda rank with the host-side
  // protocol (docs/audits.md "GPU ranks").
  Status HostReducedGradient(const StepInput& in, StepStats* stats) {
    float* grads = grads_.get();
    double loss = 0;
    int64_t correct = 0;
    RETURN_IF_ERROR(LocalSum(in, grads, acc_, &loss, &correct));
    const int64_t side = in.audit != nullptr ? in.audit->SideBandFloats() : 0;
    const int64_t count = n_ + 2 + side;
    if (static_cast<int64_t>(host_grads_.size()) < count) {
      RETURN_IF_ERROR(Wait(compute_.s));
      RETURN_IF_ERROR(host_grads_.Allocate(static_cast<size_t>(count)));
    }
    float* host = host_grads_.get();
    SHOAL_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(host, grads, n_ * sizeof(float), cudaMemcpyDeviceToHost, compute_.s));
    RETURN_IF_ERROR(Wait(compute_.s));
    host[n_] = static_cast<float>(loss);
    host[n_ + 1] = static_cast<float>(correct);
    std::fill(host + n_ + 2, host + count, 0.f);
    if (in.audit != nullptr) RETURN_IF_ERROR(in.audit->Commit(in.step, host, n_, host + n_ + 2));
    const auto t_reduce = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(in.audit != nullptr ? in.audit->Reduce(host, count)
                                        : coll_.AllReduceSum(host, count));
    stats->reduce_sec =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_reduce).count();
    SHOAL_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(grads, host, n_ * sizeof(float), cudaMemcpyHostToDevice, compute_.s));
    host_tail_.get()[0] = host[n_];
    host_tail_.get()[1] = host[n_ + 1];
    // Verify may recompute ranks' gradients (LocalGradient, on this stream after the copy).
    if (in.audit != nullptr) {
      RETURN_IF_ERROR(in.audit->Verify(in.step, host, host + n_ + 2, *this));
    }
    return Status::Ok();
  }

  // Copies rows to the device through pinned staging (growing it to the largest n seen). A gpt
  // row is a window of contextLength token ids with as many labels (Model::label_width()).
  Status StageBatch(const float* x, const int32_t* y, int n) {
    const bool gpt = spec_.model.is_gpt();
    const size_t dim =
        static_cast<size_t>(gpt ? spec_.model.context_length : spec_.model.layers.front());
    const size_t width = gpt ? static_cast<size_t>(spec_.model.context_length) : 1;
    const size_t rows = static_cast<size_t>(std::max(n, 0));
    if (rows > staged_rows_) {
      RETURN_IF_ERROR(Wait(compute_.s));  // the old buffers may still be read by the last step
      RETURN_IF_ERROR(host_x_.Allocate(rows * dim));
      RETURN_IF_ERROR(host_y_.Allocate(rows * width));
      RETURN_IF_ERROR(d_x_.Allocate(rows * dim));
      RETURN_IF_ERROR(d_y_.Allocate(rows * width));
      staged_rows_ = rows;
    }
    if (rows == 0) return Status::Ok();
    std::memcpy(host_x_.get(), x, rows * dim * sizeof(float));
    std::memcpy(host_y_.get(), y, rows * width * sizeof(int32_t));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(
        d_x_.get(), host_x_.get(), rows * dim * sizeof(float), cudaMemcpyHostToDevice, compute_.s));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(d_y_.get(), host_y_.get(),
                                               rows * width * sizeof(int32_t),
                                               cudaMemcpyHostToDevice, compute_.s));
    return Status::Ok();
  }

  // Event handoff S -> C for bucket `i`: C runs the bucket's all-reduce only after S has produced
  // it. One event per bucket index, created on first use.
  Status Handoff(int i) {
    while (static_cast<int>(bucket_events_.size()) <= i) {
      EventHandle ev;
      SHOAL_CUDA_RETURN_IF_ERROR(cudaEventCreateWithFlags(&ev.e, cudaEventDisableTiming));
      bucket_events_.push_back(std::move(ev));
    }
    SHOAL_CUDA_RETURN_IF_ERROR(cudaEventRecord(bucket_events_[i].e, compute_.s));
    SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamWaitEvent(comm_.s, bucket_events_[i].e, 0));
    return Status::Ok();
  }

  // Waits for a stream; with NCCL, by polling its errors under the communicator's timeout.
  Status Wait(cudaStream_t stream) {
#ifdef SHOAL_HAVE_NCCL
    if (nccl_) return nccl_->Synchronize(stream);
#endif
    SHOAL_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream));
    return Status::Ok();
  }

  const JobSpec& spec_;
  Collective& coll_;
  std::string device_name_;
  std::string kernel_config_;  // ComputeConfig's kernel part
  int64_t n_ = 0;
  int64_t bucket_floats_ = 0;
  int buckets_per_step_ = 0;
  // Declaration order is destruction order reversed: buffers and the model go before the streams
  // they were used on, the communicator last of all.
#ifdef SHOAL_HAVE_NCCL
  std::unique_ptr<NcclCommunicator> nccl_;
#endif
  StreamHandle compute_, comm_;
  EventHandle bwd_done_, comm_done_;
  std::vector<EventHandle> bucket_events_;
  std::unique_ptr<DeviceModel> model_;
  DeviceArray<float> params_, grads_, state_a_, state_b_, d_x_;
  DeviceArray<int32_t> d_y_, d_flag_;
  PinnedArray<float> host_x_, host_tail_;
  PinnedArray<int32_t> host_y_, host_flag_;
  DeviceArray<float> acc_;  // the summed gradients of earlier micro-batches (gradAccumulation > 1)
  DeviceArray<float> audit_grads_, audit_acc_;  // LocalGradient's own (grads_ holds the sum then)
  PinnedArray<float> host_grads_;  // the host path's gradient, loss, correct and audit side band
  DeviceArray<double> d_sumsq_, norm_scratch_;  // the gradient's squared norm and its partials
  PinnedArray<double> host_sumsq_;
  size_t staged_rows_ = 0;
};

}  // namespace

int CudaDeviceCount(std::string* why) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    if (why != nullptr) *why = std::string("no usable CUDA device: ") + cudaGetErrorString(e);
    (void)cudaGetLastError();  // do not leave the error sticky for later calls
    return 0;
  }
  if (count == 0 && why != nullptr) *why = "no CUDA device visible (CUDA_VISIBLE_DEVICES?)";
  return count;
}

Result<std::unique_ptr<StepEngine>> MakeCudaEngine(const EngineConfig& config,
                                                   Collective& collective) {
  return CudaEngine::Create(config, collective);
}

}  // namespace shoal

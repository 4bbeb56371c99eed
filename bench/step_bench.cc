// shoal-step-bench: the cuda backend's training step against the sum of its kernels, on one GPU
// (docs/design.md §6; issue 3's "training step's time against the sum of its kernels").
//
// For the demo MLP (784-256-128-10, ReLU, softmax cross-entropy, AdamW) at several batch sizes
// and each precision it reports, as medians of --iters:
//   kernels: every launch of one step (forward GEMM + bias/activation per layer, the loss,
//            backward bias-grad + dW GEMM + dX GEMM per layer, the AdamW update), each timed alone
//            with CUDA events and summed — what the step would cost with zero overhead;
//   step:    GpuMlp::ForwardBackward + AdamW as the trainer runs them, host wall clock including
//            launches and the step's one synchronization;
//   engine:  CudaEngine::Step, i.e. also the batch's host-to-device copy and the optimizer's
//            non-finite check, as shoal-train runs it (one rank).
// Writes JSON (--out, default bench/out/step.json) and prints a Markdown table. Without a CUDA
// device it says so and exits 0.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/flags.h"
#include "common/spec/job_spec.h"
#include "kernels/collectives/collective.h"
#include "kernels/cuda/bias_activation.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/optimizer.h"
#include "kernels/cuda/softmax_cross_entropy.h"
#include "models/device_array.h"
#include "models/mlp/gpu_mlp.h"
#include "worker/train/engines/cuda/cuda_step_engine.h"

using namespace shoal;

namespace {

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median device milliseconds of fn (which enqueues on `stream`), after 3 warm-up runs.
double DeviceMs(cudaStream_t stream, int iters, const std::function<Status()>& fn) {
  cudaEvent_t a, b;
  cudaEventCreate(&a);
  cudaEventCreate(&b);
  for (int i = 0; i < 3; ++i) Check(fn(), "warm-up");
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    cudaEventRecord(a, stream);
    Check(fn(), "kernel");
    cudaEventRecord(b, stream);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    t.push_back(ms);
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  return Median(t);
}

// Median host milliseconds of fn (which must finish its own work), after 3 warm-up runs.
double HostMs(int iters, const std::function<Status()>& fn) {
  for (int i = 0; i < 3; ++i) Check(fn(), "warm-up");
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    const auto start = std::chrono::steady_clock::now();
    Check(fn(), "step");
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());
  }
  return Median(t);
}

DeviceArray<float> Upload(const std::vector<float>& host) {
  DeviceArray<float> d;
  Check(d.Allocate(host.size()), "alloc");
  cudaMemcpy(d.get(), host.data(), host.size() * sizeof(float), cudaMemcpyHostToDevice);
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path = "bench/out/step.json";
  int iters = 50;
  CLI::App app(
      "shoal-step-bench: the cuda backend's training step against the sum of its kernels, on one "
      "GPU; Markdown table on stdout, JSON at --out.");
  flags::Configure(app, "shoal-step-bench");
  app.add_option("--out", out_path, "the JSON results")->type_name("PATH");
  // As before the shared flags, a count below 1 means 1.
  app.add_option("--iters", iters, "timed steps per cell, the median reported (< 1 means 1)")
      ->type_name("N");
  if (std::optional<int> code = flags::Parse(app, argc, argv)) return *code;
  iters = std::max(1, iters);
  std::string why;
  if (CudaDeviceCount(&why) == 0) {
    std::printf("no CUDA device (%s): nothing to benchmark\n", why.c_str());
    return 0;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  cudaStream_t stream;
  cudaStreamCreate(&stream);

  const std::vector<int> layers = {784, 256, 128, 10};
  const MlpConfig config{layers, Activation::kRelu, LossKind::kCrossEntropy};
  nlohmann::json rows = nlohmann::json::array();
  for (const Precision precision : {Precision::kFp32, Precision::kTf32, Precision::kBf16}) {
    for (const int batch : {128, 1024, 8192}) {
      auto mlp_or = GpuMlp::Create(config, precision, stream);
      Check(mlp_or.status(), "GpuMlp::Create");
      GpuMlp& mlp = **mlp_or;
      const int64_t n = mlp.num_params();
      std::vector<float> host_params(n);
      Mlp(config).InitParams(1, host_params.data());
      std::mt19937 rng(7);
      std::uniform_real_distribution<float> u(0.f, 1.f);
      std::vector<float> host_x(static_cast<size_t>(batch) * layers[0]);
      for (float& v : host_x) v = u(rng);
      std::vector<int32_t> host_y(batch);
      for (int i = 0; i < batch; ++i) host_y[i] = i % 10;
      DeviceArray<float> params = Upload(host_params), x = Upload(host_x), grads, m, v, scratch;
      Check(grads.Allocate(n), "alloc");
      Check(m.Allocate(n), "alloc");
      Check(v.Allocate(n), "alloc");
      cudaMemset(m.get(), 0, n * sizeof(float));
      cudaMemset(v.get(), 0, n * sizeof(float));
      DeviceArray<int32_t> y;
      Check(y.Allocate(batch), "alloc");
      cudaMemcpy(y.get(), host_y.data(), batch * sizeof(int32_t), cudaMemcpyHostToDevice);
      // Activations and gradients for the kernel-by-kernel replay: widest layer x batch, twice.
      DeviceArray<float> act_a, act_b, dz;
      DeviceArray<double> scalars;
      for (auto* a : {&act_a, &act_b, &dz})
        Check(a->Allocate(static_cast<size_t>(batch) * 784), "alloc");
      Check(scalars.Allocate(2), "alloc");
      int64_t step = 0;

      // Kernel by kernel, the same launches GpuMlp makes (gpu_mlp.cc), each timed alone.
      double kernels_ms = 0;
      const float* p = params.get();
      for (int l = 0; l + 1 < static_cast<int>(layers.size()); ++l) {
        const int in = layers[l], out = layers[l + 1];
        const float* w = p + mlp.weight_offset(l);
        const float* b = p + mlp.bias_offset(l);
        const float* h = l == 0 ? x.get() : act_a.get();
        const bool last = l + 2 == static_cast<int>(layers.size());
        kernels_ms += DeviceMs(stream, iters, [&] {
          return cuda::Gemm(precision, false, true, batch, out, in, 1.0f, h, in, w, in, 0.0f,
                            act_b.get(), out, stream);
        });
        kernels_ms += DeviceMs(stream, iters, [&] {
          return last ? cuda::BiasForward(act_b.get(), b, batch, out, act_b.get(), stream)
                      : cuda::BiasActivationForward(act_b.get(), b, batch, out, Activation::kRelu,
                                                    dz.get(), act_b.get(), stream);
        });
        // Backward of layer l: bias grad (fused with the activation's backward when hidden),
        // dW = dz^T h, and dX = dz W for every layer but the first.
        kernels_ms += DeviceMs(stream, iters, [&] {
          return last ? cuda::BiasGrad(dz.get(), batch, out, grads.get() + mlp.bias_offset(l),
                                       stream)
                      : cuda::ActivationBackwardBiasGrad(dz.get(), act_b.get(), batch, out,
                                                         Activation::kRelu, dz.get(),
                                                         grads.get() + mlp.bias_offset(l), stream);
        });
        kernels_ms += DeviceMs(stream, iters, [&] {
          return cuda::Gemm(precision, true, false, out, in, batch, 1.0f, dz.get(), out, h, in,
                            0.0f, grads.get() + mlp.weight_offset(l), in, stream);
        });
        if (l > 0) {
          kernels_ms += DeviceMs(stream, iters, [&] {
            return cuda::Gemm(precision, false, false, batch, in, out, 1.0f, dz.get(), out, w, in,
                              0.0f, act_a.get(), in, stream);
          });
        }
      }
      kernels_ms += DeviceMs(stream, iters, [&] {
        return cuda::SoftmaxCrossEntropy(act_b.get(), y.get(), batch, 10, 1.0f / batch, dz.get(),
                                         scalars.get(),
                                         reinterpret_cast<int64_t*>(scalars.get() + 1), stream);
      });
      kernels_ms += DeviceMs(stream, iters, [&] {
        return cuda::AdamWUpdate(params.get(), grads.get(), m.get(), v.get(), n, 1e-3f, 0.9f,
                                 0.999f, 1e-8f, 0.0f, ++step, stream);
      });

      // The step as the trainer runs it.
      const double step_ms = HostMs(iters, [&]() -> Status {
        double loss = 0;
        int64_t correct = 0;
        RETURN_IF_ERROR(mlp.ForwardBackward(params.get(), x.get(), y.get(), batch, 1.0f / batch,
                                            grads.get(), &loss, &correct));
        RETURN_IF_ERROR(cuda::AdamWUpdate(params.get(), grads.get(), m.get(), v.get(), n, 1e-3f,
                                          0.9f, 0.999f, 1e-8f, 0.0f, ++step, stream));
        return cudaStreamSynchronize(stream) == cudaSuccess ? Status::Ok()
                                                            : Internal("sync failed");
      });

      // And through CudaEngine (host batch in, as shoal-train).
      JobSpec spec;
      spec.model.layers = layers;
      spec.training.precision = precision;
      spec.training.seed = 1;
      spec.optimizer.kind = OptimizerKind::kAdamW;
      auto single = MakeSingleRankCollective();
      EngineConfig ec{&spec};
      auto engine = MakeCudaEngine(ec, *single);
      Check(engine.status(), "MakeCudaEngine");
      int64_t engine_step = 0;
      const double engine_ms = HostMs(iters, [&]() -> Status {
        StepInput in;
        in.x = host_x.data();
        in.y = host_y.data();
        in.batch = batch;
        in.dim = layers.front();
        in.grad_scale = 1.0f / static_cast<float>(batch);
        in.step = ++engine_step;
        in.lr = static_cast<float>(spec.optimizer.lr);
        return (*engine)->Step(in).status();
      });

      rows.push_back({{"precision", ToString(precision)},
                      {"batch", batch},
                      {"kernels_ms", kernels_ms},
                      {"step_ms", step_ms},
                      {"engine_ms", engine_ms},
                      {"step_over_kernels", step_ms / kernels_ms},
                      {"samples_per_sec", batch / (engine_ms / 1000.0)}});
    }
  }
  cudaStreamDestroy(stream);

  std::filesystem::path path(out_path);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << nlohmann::json{{"gpu", prop.name}, {"iters", iters}, {"rows", rows}}.dump(
                             2)
                      << "\n";
  std::printf(
      "\n## shoal-step-bench on %s: demo MLP step vs the sum of its kernels (median of %d)\n\n",
      prop.name, iters);
  std::printf(
      "| precision | batch | kernels (ms) | step (ms) | step / kernels | engine step (ms) | "
      "samples/s |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& r : rows) {
    std::printf("| %s | %d | %.3f | %.3f | %.2f | %.3f | %.0f |\n",
                r["precision"].get<std::string>().c_str(), r["batch"].get<int>(),
                r["kernels_ms"].get<double>(), r["step_ms"].get<double>(),
                r["step_over_kernels"].get<double>(), r["engine_ms"].get<double>(),
                r["samples_per_sec"].get<double>());
  }
  std::printf("\nwrote %s\n", out_path.c_str());
  return 0;
}

// shoal-gpu-gpt-bench: one rank's GPT training step on one GPU (models/gpt/gpu_gpt.h forward +
// backward, then cuda::AdamWUpdate over the flat buffer), as tokens per second and model TFLOP/s,
// the GPU counterpart of shoal-gpt-bench. Model FLOPs per token are llm.c's 6 * params +
// 12 * layers * embedDim * T (the attention matmuls counted in full, not causally halved); no MFU
// is printed, as the card's peak is not known here. Prints one JSON object on stdout.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/flags.h"
#include "kernels/cuda/optimizer.h"
#include "models/device_array.h"
#include "models/gpt/gpu_gpt.h"

using namespace shoal;

namespace {

int Fail(const Status& st) {
  std::fprintf(stderr, "%s\n", st.ToString().c_str());
  return 1;
}

template <typename T>
Status Upload(DeviceArray<T>& d, const std::vector<T>& host) {
  RETURN_IF_ERROR(d.Allocate(host.size()));
  SHOAL_CUDA_RETURN_IF_ERROR(
      cudaMemcpy(d.get(), host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice));
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  GptConfig config;
  int batch = 8, iters = 10, warmup = 2;
  std::string precision_name = "fp32";
  CLI::App app("shoal-gpu-gpt-bench: one rank's GPT training step on one GPU; JSON on stdout.");
  flags::Configure(app, "shoal-gpu-gpt-bench");
  app.add_option("--vocab", config.vocab_size, "vocabulary size")->type_name("N");
  app.add_option("--context", config.context_length, "tokens per sequence (T)")->type_name("N");
  app.add_option("--layers", config.layers, "blocks")->type_name("N");
  app.add_option("--heads", config.heads, "attention heads")->type_name("N");
  app.add_option("--embed", config.embed_dim, "channels (C)")->type_name("N");
  app.add_option("--batch", batch, "sequences per step (B)")->type_name("N");
  app.add_option("--iters", iters, "timed steps")->type_name("N");
  app.add_option("--warmup", warmup, "untimed steps first")->type_name("N");
  app.add_option("--precision", precision_name, "GEMM precision")
      ->check(CLI::IsMember({"fp32", "tf32", "bf16"}));
  if (std::optional<int> code = flags::Parse(app, argc, argv)) return *code;
  const Precision precision = precision_name == "bf16"   ? Precision::kBf16
                              : precision_name == "tf32" ? Precision::kTf32
                                                         : Precision::kFp32;
  iters = std::max(1, iters);

  auto layout = Gpt::Make(config);
  if (!layout.ok()) return Fail(layout.status());
  cudaStream_t stream = nullptr;
  if (cudaStreamCreate(&stream) != cudaSuccess) {
    std::fprintf(stderr, "no usable CUDA device\n");
    return 2;
  }
  auto made = GpuGpt::Create(config, precision, stream);
  if (!made.ok()) return Fail(made.status());
  GpuGpt& gpt = **made;
  const int64_t n = gpt.num_params();
  const int T = config.context_length;
  std::vector<float> params(n);
  (*layout)->InitParams(1, params.data());
  std::mt19937 rng(2);
  std::vector<int32_t> tokens(static_cast<size_t>(batch) * T), targets(tokens.size());
  for (auto& t : tokens) t = static_cast<int32_t>(rng() % config.vocab_size);
  for (auto& t : targets) t = static_cast<int32_t>(rng() % config.vocab_size);
  DeviceArray<float> d_params, d_grads, d_m, d_v;
  DeviceArray<int32_t> d_tokens, d_targets;
  for (DeviceArray<float>* d : {&d_grads, &d_m, &d_v}) {
    if (Status st = Upload(*d, std::vector<float>(n, 0.0f)); !st.ok()) return Fail(st);
  }
  for (Status st :
       {Upload(d_params, params), Upload(d_tokens, tokens), Upload(d_targets, targets)}) {
    if (!st.ok()) return Fail(st);
  }

  std::vector<double> ms;
  double loss = 0;
  for (int i = 0; i < warmup + iters; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    double loss_sum = 0;
    int64_t correct = 0;
    // ForwardBackwardTokens ends with a stream sync; the AdamW launch is synced below.
    Status st = gpt.ForwardBackwardTokens(d_params.get(), d_tokens.get(), d_targets.get(), batch, T,
                                          1.0f / static_cast<float>(batch * T), d_grads.get(),
                                          &loss_sum, &correct);
    if (!st.ok()) return Fail(st);
    st = cuda::AdamWUpdate(d_params.get(), d_grads.get(), d_m.get(), d_v.get(), n, 3e-4f, 0.9f,
                           0.95f, 1e-8f, 0.1f, i + 1, stream);
    if (!st.ok()) return Fail(st);
    if (cudaStreamSynchronize(stream) != cudaSuccess) return Fail(Internal("AdamW step failed"));
    const double elapsed =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    if (i >= warmup) ms.push_back(elapsed);
    loss = loss_sum / (batch * T);
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  const double median = sorted[sorted.size() / 2];
  const double tokens_per_sec = batch * T / (median / 1000.0);
  const double flops_per_token =
      6.0 * static_cast<double>(n) + 12.0 * config.layers * config.embed_dim * T;
  cudaDeviceProp prop{};
  (void)cudaGetDeviceProperties(&prop, 0);
  nlohmann::json out = {{"impl", "shoal-cuda"},
                        {"device", prop.name},
                        {"precision", precision_name},
                        {"params", n},
                        {"vocab", config.vocab_size},
                        {"context", T},
                        {"layers", config.layers},
                        {"heads", config.heads},
                        {"embed", config.embed_dim},
                        {"batch", batch},
                        {"step_ms", ms},
                        {"median_ms", median},
                        {"tokens_per_sec", tokens_per_sec},
                        {"model_tflops", flops_per_token * tokens_per_sec / 1e12},
                        {"last_loss", loss}};
  std::printf("%s\n", out.dump().c_str());
  (void)cudaStreamDestroy(stream);
  return 0;
}

// shoal-kernels-bench: the CUDA operators' speed as ratios measured side by side in one run
// (docs/design.md §6): GEMM GFLOP/s as a % of cuBLAS with the matching math mode (the only place
// cuBLAS is used), and the fused / element-wise kernels' GB/s as a % of a device-to-device
// cudaMemcpyAsync moving the same bytes. Each timing is the median of --iters cudaEvent-timed runs
// after warm-up. Writes JSON (--out, default bench/out/kernels.json) and prints a Markdown table.
// Without a CUDA device it prints "no CUDA device" and exits 0.
//
// Flags (common/flags.h; --help lists them): --out PATH, --iters N (default 15), --quick.
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/flags.h"
#include "kernels/cuda/bias_activation.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/optimizer.h"
#include "kernels/cuda/reduce.h"
#include "kernels/cuda/softmax_cross_entropy.h"

namespace {

using shoal::Precision;

constexpr Precision kFp32 = Precision::kFp32;
constexpr Precision kTf32 = Precision::kTf32;
constexpr Precision kBf16 = Precision::kBf16;
constexpr shoal::Activation kGelu = shoal::Activation::kGelu;

const char* PrecisionName(Precision p) {
  return p == kFp32 ? "fp32" : p == kTf32 ? "tf32" : "bf16";
}

#define BENCH_CHECK(expr)                                                                      \
  do {                                                                                         \
    const cudaError_t e = (expr);                                                              \
    if (e != cudaSuccess) {                                                                    \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #expr, cudaGetErrorString(e)); \
      std::exit(1);                                                                            \
    }                                                                                          \
  } while (0)

struct Options {
  std::string out = "bench/out/kernels.json";
  int iters = 15;
  bool quick = false;
};

// Median milliseconds of `iters` runs of fn on `stream`, after 3 warm-up runs. Returns -1 when fn
// reports failure.
double MedianMs(cudaStream_t stream, int iters, const std::function<bool()>& fn) {
  for (int i = 0; i < 3; ++i) {
    if (!fn()) return -1.0;
  }
  cudaEvent_t start, stop;
  BENCH_CHECK(cudaEventCreate(&start));
  BENCH_CHECK(cudaEventCreate(&stop));
  std::vector<float> times;
  for (int i = 0; i < iters; ++i) {
    BENCH_CHECK(cudaEventRecord(start, stream));
    if (!fn()) return -1.0;
    BENCH_CHECK(cudaEventRecord(stop, stream));
    BENCH_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    BENCH_CHECK(cudaEventElapsedTime(&ms, start, stop));
    times.push_back(ms);
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

float* DeviceRandom(size_t n, unsigned seed) {
  std::vector<float> host(n);
  unsigned s = seed;
  for (float& x : host) {
    s = s * 1664525u + 1013904223u;
    x = static_cast<float>((s >> 8) & 0xffff) / 65536.0f - 0.5f + 1e-3f;
  }
  float* d = nullptr;
  BENCH_CHECK(cudaMalloc(&d, n * sizeof(float)));
  BENCH_CHECK(cudaMemcpy(d, host.data(), n * sizeof(float), cudaMemcpyHostToDevice));
  return d;
}

__global__ void ToBf16(const float* in, __nv_bfloat16* out, size_t n) {
  for (size_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    out[i] = __float2bfloat16_rn(in[i]);
  }
}

struct GemmShape {
  const char* name;
  bool ta, tb;
  int m, n, k;
};

nlohmann::json BenchGemm(const GemmShape& g, Precision p, const Options& opt, cublasHandle_t blas,
                         cudaStream_t stream) {
  const size_t a_n = static_cast<size_t>(g.m) * g.k, b_n = static_cast<size_t>(g.k) * g.n;
  const int lda = g.ta ? g.m : g.k, ldb = g.tb ? g.k : g.n, ldc = g.n;
  float* a = DeviceRandom(a_n, 1);
  float* b = DeviceRandom(b_n, 2);
  float* c = DeviceRandom(static_cast<size_t>(g.m) * g.n, 3);
  __nv_bfloat16 *a16 = nullptr, *b16 = nullptr;
  if (p == kBf16) {  // cuBLAS takes bf16 operands; converted once, outside the timing
    BENCH_CHECK(cudaMalloc(&a16, a_n * sizeof(__nv_bfloat16)));
    BENCH_CHECK(cudaMalloc(&b16, b_n * sizeof(__nv_bfloat16)));
    ToBf16<<<1024, 256, 0, stream>>>(a, a16, a_n);
    ToBf16<<<1024, 256, 0, stream>>>(b, b16, b_n);
  }
  const float alpha = 1.0f, beta = 0.0f;
  const double ours = MedianMs(stream, opt.iters, [&] {
    return shoal::cuda::Gemm(p, g.ta, g.tb, g.m, g.n, g.k, alpha, a, lda, b, ldb, beta, c, ldc,
                             stream)
        .ok();
  });
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  const cublasOperation_t op_a = g.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = g.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasComputeType_t compute =
      p == kTf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const cudaDataType_t in_type = p == kBf16 ? CUDA_R_16BF : CUDA_R_32F;
  const void* ca = p == kBf16 ? static_cast<const void*>(a16) : a;
  const void* cb = p == kBf16 ? static_cast<const void*>(b16) : b;
  const double ref = MedianMs(stream, opt.iters, [&] {
    return cublasGemmEx(blas, op_b, op_a, g.n, g.m, g.k, &alpha, cb, in_type, ldb, ca, in_type,
                        lda, &beta, c, CUDA_R_32F, ldc, compute, CUBLAS_GEMM_DEFAULT) ==
           CUBLAS_STATUS_SUCCESS;
  });
  const double flops = 2.0 * g.m * g.n * static_cast<double>(g.k);
  nlohmann::json row = {{"op", "gemm"},     {"shape", g.name}, {"precision", PrecisionName(p)},
                        {"m", g.m},         {"n", g.n},        {"k", g.k},
                        {"trans_a", g.ta},  {"trans_b", g.tb}, {"ours_ms", ours},
                        {"cublas_ms", ref}};
  if (ours > 0 && ref > 0) {
    row["ours_gflops"] = flops / ours / 1e6;
    row["cublas_gflops"] = flops / ref / 1e6;
    row["pct_of_reference"] = 100.0 * ref / ours;
  }
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  cudaFree(a16);
  cudaFree(b16);
  return row;
}

// Times `fn`, which moves `bytes` (reads + writes), against cudaMemcpyAsync of bytes / 2 (a copy
// reads and writes every byte, so it moves the same total).
nlohmann::json BenchMemory(const char* name, double bytes, const Options& opt, cudaStream_t stream,
                           const std::function<bool()>& fn) {
  const size_t copy_bytes = static_cast<size_t>(bytes / 2);
  void *src = nullptr, *dst = nullptr;
  BENCH_CHECK(cudaMalloc(&src, copy_bytes));
  BENCH_CHECK(cudaMalloc(&dst, copy_bytes));
  BENCH_CHECK(cudaMemset(src, 1, copy_bytes));
  const double ours = MedianMs(stream, opt.iters, fn);
  const double ref = MedianMs(stream, opt.iters, [&] {
    return cudaMemcpyAsync(dst, src, copy_bytes, cudaMemcpyDeviceToDevice, stream) == cudaSuccess;
  });
  cudaFree(src);
  cudaFree(dst);
  nlohmann::json row = {{"op", name}, {"bytes", bytes}, {"ours_ms", ours}, {"memcpy_ms", ref}};
  if (ours > 0 && ref > 0) {
    row["ours_gbps"] = bytes / ours / 1e6;
    row["memcpy_gbps"] = bytes / ref / 1e6;
    row["pct_of_reference"] = 100.0 * ref / ours;
  }
  return row;
}

std::vector<nlohmann::json> MemoryBenches(const Options& opt, cudaStream_t stream) {
  std::vector<nlohmann::json> rows;
  const int64_t n = int64_t{1} << 26;  // 64 Mi floats, 256 MiB per buffer
  float* p = DeviceRandom(n, 4);
  float* g = DeviceRandom(n, 5);
  float* s1 = DeviceRandom(n, 6);
  float* s2 = DeviceRandom(n, 7);
  BENCH_CHECK(cudaMemset(s1, 0, n * sizeof(float)));
  BENCH_CHECK(cudaMemset(s2, 0, n * sizeof(float)));
  int32_t* flag = nullptr;
  double* dsum = nullptr;
  int64_t* correct = nullptr;
  int32_t* labels = nullptr;
  BENCH_CHECK(cudaMalloc(&flag, sizeof(int32_t)));
  BENCH_CHECK(cudaMalloc(&dsum, sizeof(double)));
  BENCH_CHECK(cudaMalloc(&correct, sizeof(int64_t)));
  const double f = sizeof(float);
  rows.push_back(BenchMemory("scale_in_place", 2 * f * n, opt, stream, [&] {
    return shoal::cuda::ScaleInPlace(g, n, 1.0f, stream).ok();
  }));
  rows.push_back(BenchMemory("any_non_finite", f * n, opt, stream, [&] {
    return shoal::cuda::AnyNonFinite(g, n, flag, stream).ok();
  }));
  rows.push_back(BenchMemory("sgd_momentum", 5 * f * n, opt, stream, [&] {
    return shoal::cuda::SgdMomentumUpdate(p, g, s1, n, 1e-6f, 0.9f, 0.0f, stream).ok();
  }));
  rows.push_back(BenchMemory("adamw", 7 * f * n, opt, stream, [&] {
    return shoal::cuda::AdamWUpdate(p, g, s1, s2, n, 1e-6f, 0.9f, 0.999f, 1e-8f, 0.0f, 1, stream)
        .ok();
  }));
  const int rows_m = 16384, cols = 4096;  // 64 Mi elements
  rows.push_back(BenchMemory("bias_gelu_forward", 3 * f * rows_m * cols, opt, stream, [&] {
    return shoal::cuda::BiasActivationForward(g, s2, rows_m, cols, kGelu, s1,
                                              p, stream)
        .ok();
  }));
  rows.push_back(BenchMemory("gelu_backward_bias_grad", 3 * f * rows_m * cols, opt, stream, [&] {
    return shoal::cuda::ActivationBackwardBiasGrad(g, s1, rows_m, cols, kGelu,
                                                   p, s2, stream)
        .ok();
  }));
  const int xent_m = 65536, xent_c = 1000;
  std::vector<int32_t> host_labels(xent_m);
  for (int i = 0; i < xent_m; ++i) host_labels[i] = (i * 7919) % xent_c;
  BENCH_CHECK(cudaMalloc(&labels, xent_m * sizeof(int32_t)));
  BENCH_CHECK(cudaMemcpy(labels, host_labels.data(), xent_m * sizeof(int32_t),
                         cudaMemcpyHostToDevice));
  rows.push_back(BenchMemory("softmax_xent_1000", 2 * f * xent_m * xent_c, opt, stream, [&] {
    return shoal::cuda::SoftmaxCrossEntropy(g, labels, xent_m, xent_c, 1.0f / xent_m, p, dsum,
                                            correct, stream)
        .ok();
  }));
  for (void* ptr : std::initializer_list<void*>{p, g, s1, s2, flag, dsum, correct, labels}) {
    cudaFree(ptr);
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  CLI::App app(
      "shoal-kernels-bench: the CUDA operators' speed as ratios measured side by side: GEMM as a % "
      "of cuBLAS, the other kernels as a % of a device-to-device copy of the same bytes.");
  shoal::flags::Configure(app, "shoal-kernels-bench");
  app.add_option("--out", opt.out, "the JSON results")->type_name("PATH");
  // As before the shared flags, a count below 1 means 1.
  app.add_option("--iters", opt.iters, "timed runs per kernel, the median reported (< 1 means 1)")
      ->type_name("N");
  app.add_flag("--quick", opt.quick, "skip the 8192^3 GEMMs");
  if (std::optional<int> code = shoal::flags::Parse(app, argc, argv)) return *code;
  opt.iters = std::max(1, opt.iters);
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    std::printf("no CUDA device (%s): nothing to benchmark\n",
                err != cudaSuccess ? cudaGetErrorString(err) : "0 devices");
    return 0;
  }
  cudaDeviceProp prop{};
  BENCH_CHECK(cudaGetDeviceProperties(&prop, 0));
  cudaStream_t stream;
  BENCH_CHECK(cudaStreamCreate(&stream));
  cublasHandle_t blas;
  if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS) {
    std::fprintf(stderr, "cublasCreate failed\n");
    return 1;
  }
  cublasSetStream(blas, stream);

  // The MLP's products (batch 128, layers 784 -> 256 -> 128 -> 10) and large square ones.
  std::vector<GemmShape> shapes = {
      {"mlp fwd 128x784->256", false, true, 128, 256, 784},
      {"mlp dX 128x256->784", false, false, 128, 784, 256},
      {"mlp dW 256x784 (k=128)", true, false, 256, 784, 128},
      {"mlp fwd 128x256->128", false, true, 128, 128, 256},
      {"4096^3", false, false, 4096, 4096, 4096},
  };
  if (!opt.quick) shapes.push_back({"8192^3", false, false, 8192, 8192, 8192});

  nlohmann::json out = {{"machine",
                         {{"gpu", prop.name},
                          {"sms", prop.multiProcessorCount},
                          {"compute_capability",
                           std::to_string(prop.major) + "." + std::to_string(prop.minor)}}},
                        {"iters", opt.iters}};
  out["gemm"] = nlohmann::json::array();
  for (const Precision p : {kFp32, kTf32, kBf16}) {
    for (const GemmShape& g : shapes) out["gemm"].push_back(BenchGemm(g, p, opt, blas, stream));
  }
  out["memory"] = MemoryBenches(opt, stream);
  cublasDestroy(blas);
  cudaStreamDestroy(stream);

  std::filesystem::path path(opt.out);
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << out.dump(2) << "\n";

  std::printf("\n## shoal-kernels-bench on %s (%d SMs), median of %d\n\n", prop.name,
              prop.multiProcessorCount, opt.iters);
  std::printf("| GEMM | precision | ours GFLOP/s | cuBLAS GFLOP/s | %% of cuBLAS |\n");
  std::printf("|---|---|---:|---:|---:|\n");
  for (const auto& r : out["gemm"]) {
    std::printf("| %s | %s | %.0f | %.0f | %.1f |\n", r["shape"].get<std::string>().c_str(),
                r["precision"].get<std::string>().c_str(), r.value("ours_gflops", -1.0),
                r.value("cublas_gflops", -1.0), r.value("pct_of_reference", -1.0));
  }
  std::printf("\n| kernel | ours GB/s | D2D memcpy GB/s | %% of memcpy |\n|---|---:|---:|---:|\n");
  for (const auto& r : out["memory"]) {
    std::printf("| %s | %.0f | %.0f | %.1f |\n", r["op"].get<std::string>().c_str(),
                r.value("ours_gbps", -1.0), r.value("memcpy_gbps", -1.0),
                r.value("pct_of_reference", -1.0));
  }
  std::printf("\nwrote %s\n", opt.out.c_str());
  return 0;
}

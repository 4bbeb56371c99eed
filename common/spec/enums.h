// The job spec's enumerations, with no dependencies: what kernels and engines take (a precision,
// an activation) without pulling in the spec's parser, YAML or JSON (common/spec/job_spec.h includes
// this and adds their spellings and the parser). nvcc compiles this header in every .cu file.
#pragma once

namespace shoal {

// Compute backend of the ranks.
enum class Backend {
  kAuto,  // "auto": cuda on a worker with GPUs, else cpu
  kCuda,  // "cuda": hand-written CUDA kernels + NCCL
  kCpu,   // "cpu": OpenBLAS + Gloo
};
enum class Activation { kRelu, kGelu, kTanh };      // "relu" | "gelu" | "tanh"
enum class LossKind { kCrossEntropy, kMse };        // "cross_entropy" (softmax) | "mse"
// "auto" (by file name; token shards for model.kind gpt) | "idx" | "npy" | "csv" | "tokens"
// (llm.c token shards, data/token_shards.h)
enum class DataFormat { kAuto, kIdx, kNpy, kCsv, kTokens };
enum class OptimizerKind { kSgd, kAdamW };          // "sgd" (with momentum) | "adamw"
enum class Precision { kFp32, kTf32, kBf16 };       // "fp32" | "tf32" | "bf16" (tf32/bf16: cuda)

}  // namespace shoal

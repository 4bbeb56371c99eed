#!/usr/bin/env bash
# Packs the GPU tests and benchmarks, built here, with the shared libraries a bare GPU machine
# lacks, for GPU machines that cannot build shoal themselves (no -dev packages, no network), and
# runs them there with tests/gpu/run-bundle. This is how the 2026-11-30 H200 results were made.
#   tests/gpu/bundle.sh [BUILD_DIR] [OUT_DIR]     (defaults: build, build-bundle)
# The bundle excludes libcuda (the driver's), libnccl (the GPU machine's, e.g. from a PyTorch
# install) and libcublas (needed only by shoal-kernels-bench; found on the machine if present).
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
out="${2:-build-bundle}"
cmake --build "$build" -j "$(nproc)" --target gpu_kernels_test gpu_transformer_test gpu_mlp_test \
  gpu_gpt_test cuda_engine_test gpu_audit_test shoal-step-bench shoal-kernels-bench \
  shoal-gpu-gpt-bench shoal-audit-bench
rm -rf "$out" && mkdir -p "$out/bin" "$out/lib"
for b in tests/gpu/gpu_kernels_test tests/gpu/gpu_transformer_test tests/gpu/gpu_mlp_test \
         tests/gpu/gpu_gpt_test tests/gpu/cuda_engine_test tests/gpu/gpu_audit_test \
         bench/shoal-step-bench bench/shoal-kernels-bench bench/shoal-gpu-gpt-bench \
         bench/shoal-audit-bench; do
  cp "$build/$b" "$out/bin/"
done
# gpu_gpt_test's PyTorch fixture (run-bundle points SHOAL_GPT_FIXTURE at it).
mkdir -p "$out/data"
cp tests/data/gpt/tiny_gpt.safetensors "$out/data/"
strip "$out"/bin/*
for b in "$out"/bin/*; do ldd "$b" | awk '/=> \//{print $3}'; done | sort -u |
  grep -vE '/lib(c|m|pthread|dl|rt)\.so|ld-linux|libgcc_s|libstdc\+\+|libcuda\.so|libnccl|libcublas' |
  xargs -I{} cp -L {} "$out/lib/"
cp tests/gpu/run-bundle tests/gpu/audit-bench.sh "$out/"
du -sh "$out"
echo "bundle: $out — run on the GPU machine: bash $out/run-bundle \$OUT"

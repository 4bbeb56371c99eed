#!/usr/bin/env bash
# Packs what the demo job on one GPU needs — shoal-scheduler, shoal-worker, shoal-train, shoal,
# their shared libraries (not libcuda/libnccl: the GPU machine's own) and a 10k-image
# Fashion-MNIST subset with the test set, under 64 MiB — for a GPU machine that cannot build
# shoal. There: `bash build-gpudemo/run-demo-bundle OUT` starts a scheduler and a GPU worker,
# submits configs/jobs/fashion-mnist-gpu.yaml (cuda backend) and waits for it.
#   tests/gpu/demo-bundle.sh [BUILD_DIR] [OUT_DIR]     (defaults: build, build-gpudemo)
set -euo pipefail
cd "$(dirname "$0")/../.."
build="${1:-build}"
out="${2:-build-gpudemo}"
cmake --build "$build" -j "$(nproc)" --target shoal-scheduler shoal-worker shoal-train shoal
rm -rf "$out" && mkdir -p "$out/bin" "$out/lib" "$out/data"
cp "$build/scheduler/shoal-scheduler" "$build/worker/shoal-worker" "$build/worker/shoal-train" \
   "$build/cli/shoal" "$out/bin/"
strip "$out"/bin/*
for b in "$out"/bin/*; do ldd "$b" | awk '/=> \//{print $3}'; done | sort -u |
  grep -vE '/lib(c|m|pthread|dl|rt)\.so|ld-linux|libgcc_s|libstdc\+\+|libcuda\.so|libnccl' |
  xargs -I{} cp -L {} "$out/lib/"
python3 - "$out/data" <<'PY'
import gzip, struct, sys
src, dst, n = "/usr/share/datasets/fashion-mnist/", sys.argv[1] + "/", 10000
with gzip.open(src + "train-images-idx3-ubyte.gz") as f: img = f.read()
with gzip.open(src + "train-labels-idx1-ubyte.gz") as f: lab = f.read()
magic, _, r, c = struct.unpack(">IIII", img[:16])
with gzip.open(dst + "train10k-images-idx3-ubyte.gz", "wb", compresslevel=9) as f:
    f.write(struct.pack(">IIII", magic, n, r, c) + img[16:16 + n * r * c])
magic, _ = struct.unpack(">II", lab[:8])
with gzip.open(dst + "train10k-labels-idx1-ubyte.gz", "wb", compresslevel=9) as f:
    f.write(struct.pack(">II", magic, n) + lab[8:8 + n])
PY
cp /usr/share/datasets/fashion-mnist/t10k-* "$out/data/"
sed "s|/usr/share/datasets/fashion-mnist/train|DATA/train10k|; s|/usr/share/datasets/fashion-mnist/t10k|DATA/t10k|" \
  configs/jobs/fashion-mnist-gpu.yaml > "$out/data/job.yaml"
cp configs/scheduler.yaml "$out/data/"
cp tests/gpu/run-demo-bundle "$out/"
du -sh "$out"

#!/usr/bin/env bash
# Audits of cuda ranks measured on one GPU (docs/audits.md "GPU ranks"): their cost on the MLP and
# the GPT, honest runs (no accusation expected), a cheater's detection, and how far cpu and cuda
# gradients drift apart at each precision (the sketch tolerance's margin across hardware).
#   tests/gpu/audit-bench.sh SHOAL_AUDIT_BENCH LOG_DIR     (JSON lines on stdout)
# Used by tests/gpu/run and tests/gpu/run-bundle.
set -uo pipefail
bench="$1"
dir="$2"
mkdir -p "$dir"
rc=0
for model in mlp gpt; do
  timeout 150 "$bench" --backend cuda --model "$model" --overhead --rate 0.02 --max-steps 300 \
    --repeats 3 || rc=1
done
timeout 120 "$bench" --backend cuda --detect none --trials 10 --rate 0.3 --max-steps 100 || rc=1
timeout 120 "$bench" --backend cuda --detect zero --trials 10 --rate 0.1 --max-steps 300 || rc=1
timeout 60 "$bench" --gradients-out "$dir/grad-cpu.jsonl" --batches 200 || rc=1
for p in fp32 tf32 bf16; do
  { timeout 60 "$bench" --backend cuda --precision "$p" --gradients-out "$dir/grad-cuda-$p.jsonl" \
      --batches 200 &&
    echo "cpu vs cuda $p:" &&
    timeout 60 "$bench" --compare "$dir/grad-cpu.jsonl" "$dir/grad-cuda-$p.jsonl"; } || rc=1
done
exit $rc

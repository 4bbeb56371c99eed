#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (Clang, ASan + UBSan) into ./build-fuzz (or
# $SHOAL_FUZZ_BUILD_DIR) and runs each for SECONDS_PER_TARGET seconds (default 60) on a copy of
# its checked-in corpus, up to $SHOAL_FUZZ_JOBS targets at a time (default: the number of CPUs).
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# Prints each target's executions and whether it found anything, then a summary table; exits
# non-zero if any target crashed, leaked, hit UB, ran out of memory or hung. Logs, the grown corpus
# and any crashing input are left in <build dir>/fuzz-out/<target>/ (reproduce a finding with
# `<build dir>/tests/fuzz/<target> <input>`). SHOAL_FUZZ_STRICT=1 makes api_fuzzer abort on a
# handler exception instead of answering 500 as HttpServer does. SHOAL_FUZZ_OPT=0 builds at -O0:
# 2.5x faster to build, 2-8x fewer executions a second (for short runs).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 2
fi
all_targets=(job_spec_fuzzer safetensors_fuzzer dataset_fuzzer token_shard_fuzzer manifest_fuzzer
  api_fuzzer)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

build_dir="${SHOAL_FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${SHOAL_FUZZ_JOBS:-$(nproc)}"
out_root="$build_dir/fuzz-out"

bash scripts/install-deps.sh
start=$(date +%s)
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DSHOAL_FUZZ=ON -DSHOAL_WITH_CUDA=OFF \
  -DSHOAL_BUILD_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug -DSHOAL_FUZZ_OPT="${SHOAL_FUZZ_OPT:-1}" | grep -E "Error|error" || true
cmake --build "$build_dir" -j "${SHOAL_BUILD_JOBS:-$(nproc)}" --target "${targets[@]}"
built=$(date +%s)

# Runs one target; writes its log and a one-line result file under $out_root/<target>/.
run_target() {
  local t=$1
  local dir="$out_root/$t"
  rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -r "tests/fuzz/corpus/$t/." "$dir/corpus/"
  local dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=("-dict=tests/fuzz/$t.dict")
  local rc=0
  # The outer timeout only guards against a hung libFuzzer; -timeout catches slow inputs.
  timeout -k 10 $((seconds + 120)) "$build_dir/tests/fuzz/$t" "$dir/corpus" "${dict[@]}" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" >"$dir/log" 2>&1 || rc=$?
  local execs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log" | tail -1)
  [ -z "$execs" ] && execs=$(grep -oE '^#[0-9]+' "$dir/log" | tail -1 | tr -d '#')
  local artifact result
  artifact=$(find "$dir/artifacts" -type f | head -1)
  if [ "$rc" -eq 0 ] && [ -z "$artifact" ]; then
    result=ok
  else
    local kind=crash
    grep -q "ERROR: LeakSanitizer" "$dir/log" && kind=leak
    grep -q "runtime error:" "$dir/log" && kind=UB
    grep -q "ERROR: libFuzzer: timeout" "$dir/log" && kind=timeout
    grep -q "ERROR: libFuzzer: out-of-memory" "$dir/log" && kind=oom
    [ "$rc" -eq 124 ] && kind=hung
    result="FAILED ($kind, exit $rc${artifact:+, input $artifact})"
  fi
  local corpus
  corpus=$(find "$dir/corpus" -type f | wc -l)
  printf '%s\t%s\t%s\t%s\n' "$t" "${execs:-0}" "$corpus" "$result" >"$dir/result"
  printf 'fuzz: %-20s %10s execs  %s\n' "$t" "${execs:-0}" "$result"
}

echo "fuzz: ${#targets[@]} targets, ${seconds}s each, $jobs at a time"
running=0
for t in "${targets[@]}"; do
  run_target "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=0
echo
printf '%-20s %12s %8s  %s\n' target execs corpus result
for t in "${targets[@]}"; do
  if [ ! -f "$out_root/$t/result" ]; then
    printf '%-20s %12s %8s  %s\n' "$t" - - "FAILED (no result)"
    failed=1
    continue
  fi
  IFS=$'\t' read -r name execs corpus result <"$out_root/$t/result"
  printf '%-20s %12s %8s  %s\n' "$name" "$execs" "$corpus" "$result"
  [ "$result" = ok ] || failed=1
done
end=$(date +%s)
echo "fuzz: build $((built - start))s, fuzzing $((end - built))s; logs in $out_root/<target>/log"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED: see the logs; reproduce with $build_dir/tests/fuzz/<target> <input>" >&2
  exit 1
fi

#!/usr/bin/env bash
# The main job, end to end on this machine: installs what is missing, builds, starts a scheduler
# and two CPU workers on 127.0.0.1 with a temporary state dir, submits the Fashion-MNIST MLP
# (configs/jobs/fashion-mnist-mlp.yaml, 2 ranks, Gloo all-reduce), follows it to the end, prints
# the final test accuracy, and stops everything it started.
#   scripts/demo.sh [JOB.yaml]
# Environment: SHOAL_DEMO_WORKERS (default 2) workers to start; SHOAL_SKIP_DEPS=1 skips the
# package check (offline GPU machines, tests/gpu/run); SHOAL_BUILD_DIR / SHOAL_BUILD_TYPE as in
# scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
job="${1:-configs/jobs/fashion-mnist-mlp.yaml}"

[ "${SHOAL_SKIP_DEPS:-0}" = 1 ] || bash scripts/install-deps.sh
bash scripts/build.sh --target shoal-scheduler shoal-worker shoal-train shoal
bin="$repo/${SHOAL_BUILD_DIR:-build}"

state="$(mktemp -d /tmp/shoal-demo-XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

echo "== starting shoal-scheduler (state in $state)"
"$bin/scheduler/shoal-scheduler" --config configs/scheduler.yaml --port 0 --state-dir "$state/db" \
  >"$state/scheduler.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$state/db/scheduler.addr" ] && break; sleep 0.1; done
[ -s "$state/db/scheduler.addr" ] || { cat "$state/scheduler.log"; echo "scheduler did not start"; exit 1; }
export SHOAL_SCHEDULER="$(cat "$state/db/scheduler.addr")"
echo "   listening on $SHOAL_SCHEDULER"

# Workers sharing this machine (two by default): one rank each, cores split between them. Each
# reports the GPUs it finds; a cuda job's rank gets one of them.
workers="${SHOAL_DEMO_WORKERS:-2}"
threads=$(( $(nproc) / workers )); [ "$threads" -ge 1 ] || threads=1
for n in $(seq "$workers"); do
  "$bin/worker/shoal-worker" --name "worker-$n" --threads-per-rank "$threads" \
    --work-dir "$state/worker-$n" >"$state/worker-$n.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 100); do
  [ "$("$bin/cli/shoal" workers -o json 2>/dev/null | grep -c '"state": "alive"')" -ge "$workers" ] && break
  sleep 0.1
done
"$bin/cli/shoal" workers

echo "== submitting $job"
start=$(date +%s)
set +e
"$bin/cli/shoal" submit "$job" --follow
rc=$?
set -e
echo "== finished in $(( $(date +%s) - start ))s (exit $rc)"
"$bin/cli/shoal" list --all
if [ "$rc" -ne 0 ]; then
  echo "-- scheduler log (tail)"; tail -20 "$state/scheduler.log"
  for n in $(seq "$workers"); do echo "-- worker-$n log (tail)"; tail -20 "$state/worker-$n.log"; done
fi
exit "$rc"

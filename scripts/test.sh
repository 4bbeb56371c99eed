#!/usr/bin/env bash
# Installs what is missing, builds everything (CUDA targets too when nvcc exists), and runs the
# whole CTest suite: unit tests, then integration tests with real processes on 127.0.0.1; then
# runs the fuzz targets (scripts/fuzz.sh 60).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
(cd "${SHOAL_BUILD_DIR:-build}" && ctest --output-on-failure --timeout 300 "$@")
# libFuzzer targets (tests/fuzz): 60 s each, ASan + UBSan; fails on any crash, leak, UB or hang.
# SHOAL_FUZZ_SECONDS sets the time per target; 0 skips them.
fuzz_seconds="${SHOAL_FUZZ_SECONDS:-60}"
if [ "$fuzz_seconds" != 0 ]; then
  bash scripts/fuzz.sh "$fuzz_seconds"
fi

#!/usr/bin/env bash
# Installs what is missing, builds everything (CUDA targets too when nvcc exists), and runs the
# whole CTest suite: unit tests, then integration tests with real processes on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
cd "${SHOAL_BUILD_DIR:-build}"
ctest --output-on-failure --timeout 300 "$@"

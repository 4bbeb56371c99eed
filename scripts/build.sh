#!/usr/bin/env bash
# Configures and builds shoal into ./build (or $SHOAL_BUILD_DIR). Extra arguments are passed to
# `cmake --build` (e.g. --target shoal-scheduler).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${SHOAL_BUILD_DIR:-build}"
jobs="${SHOAL_BUILD_JOBS:-$(nproc)}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${SHOAL_BUILD_TYPE:-RelWithDebInfo}" | grep -E "shoal:|Error|error" || true
cmake --build "$build_dir" -j "$jobs" "$@"

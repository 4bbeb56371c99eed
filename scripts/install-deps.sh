#!/usr/bin/env bash
# Installs the Debian packages that shoal's build, demo and tests need. Idempotent: packages that
# are already installed are skipped, so re-running it is cheap and safe.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git ca-certificates
  libyaml-cpp-dev libboost-dev libboost-system-dev nlohmann-json3-dev libsqlite3-dev sqlite3
  libcli11-dev
  libopenblas-dev libgloo-dev libopenmpi-dev openmpi-bin
  libgtest-dev libgmock-dev
  dataset-fashion-mnist
  fortunes fortunes-zh  # text for `shoal tokenize` demos (docs/text-data.md)
  zlib1g-dev libssl-dev procps python3 python3-numpy
  clang libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

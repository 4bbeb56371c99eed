#!/usr/bin/env bash
# Runs the first ```sh block under a README heading, as written, the way a newcomer would paste it:
#   tests/readme/run_block.sh README.md "## Using it by hand" BUILD_DIR
# in a fresh directory that has the repository's configs/ and scripts/ and the given build dir as
# build/, with HOME there too (so ~/.config/shoal is the test's own). The one line it does not run
# is `bash scripts/build.sh` (CTest has just built BUILD_DIR). Every command must succeed
# (set -e, pipefail); the block may start background processes, which are killed at the end.
# Bounded by SHOAL_README_TIMEOUT seconds (default 240). Exits 0 when the block ran through, and
# kills whatever it left running either way.
set -euo pipefail
readme="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
heading="$2"
build="$(cd "$3" && pwd)"
repo="$(dirname "$readme")"

block="$(awk -v h="$heading" '
  $0 == h { found = 1; next }
  found && /^## / { exit }
  found && !inblock && /^```sh$/ { inblock = 1; next }
  inblock && /^```$/ { exit }
  inblock { print }
' "$readme")"
if [ -z "$block" ]; then
  echo "run_block: no \`\`\`sh block under \"$heading\" in $readme" >&2
  exit 1
fi

work="$(mktemp -d /tmp/shoal-readme-XXXXXX)"
ln -s "$repo/configs" "$work/configs"
ln -s "$repo/scripts" "$work/scripts"
ln -s "$build" "$work/build"
mkdir -p "$work/home"

# The README's scheduler listens on the configured port: it must be free, or the block would talk
# to someone else's scheduler.
port="$(awk '$1 == "port:" { print $2 }' "$repo/configs/scheduler.yaml")"
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "run_block: port $port is in use; stop what listens there first" >&2
  exit 1
fi

script="$work/block.sh"
{
  echo 'set -euo pipefail'
  echo 'set -x'
  # Kill what the block started in the background, however it ends.
  echo 'trap '"'"'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true'"'"' EXIT'
  printf '%s\n' "$block" | grep -v '^bash scripts/build.sh'
} > "$script"

echo "run_block: running the block of \"$heading\" in $work"
# Its own session (setsid), so that whatever it leaves running can be killed as one group.
(cd "$work" && exec env -u SHOAL_TOKEN -u SHOAL_TOKEN_FILE -u SHOAL_SCHEDULER -u SHOAL_CA_FILE \
   -u SHOAL_CONTEXT HOME="$work/home" setsid bash "$script") &
pid=$!
deadline=$((SECONDS + ${SHOAL_README_TIMEOUT:-240}))
while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 1; done
timed_out=0
if kill -0 "$pid" 2>/dev/null; then
  timed_out=1
  echo "run_block: still running after ${SHOAL_README_TIMEOUT:-240} s; killing it" >&2
fi
kill -KILL -- "-$pid" 2>/dev/null || true
status=0
wait "$pid" || status=$?
if [ "$timed_out" = 1 ] || [ "$status" -ne 0 ]; then
  echo "run_block: the block failed (exit $status); its files are in $work" >&2
  exit 1
fi
rm -rf "$work"
echo "run_block: ok"

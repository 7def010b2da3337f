#!/usr/bin/env bash
# `make bench`: release build, a fresh local stack (timing a cold and a warm `make up`), then
# bench.py's measurements. Leaves the stack running; `make down` stops it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/infra/local/common.sh"
cd "$ROOT"

export PROFILE=release
make --no-print-directory install build

echo "bench: stopping any running stack, then a cold 'make up'" >&2
make --no-print-directory down
timed_up() { # tenths of a second `make up` takes
  local started
  started=$(date +%s%N)
  make --no-print-directory up >/dev/null
  echo $((($(date +%s%N) - started) / 100000000))
}
cold=$(timed_up)
warm=$(timed_up)
printf '{"coldSeconds": %d.%d, "warmSeconds": %d.%d}\n' $((cold / 10)) $((cold % 10)) $((warm / 10)) $((warm % 10)) \
  >"$STATE_DIR/bench-make-up.json"

"$VENV/bin/python" "$ROOT/bench/bench.py"

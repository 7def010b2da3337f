#!/usr/bin/env bash
# `make test`: the crates' own tests, then the tests that need the stack (marked #[ignore] so a
# plain `cargo test` runs without it) against LocalStack. Reuses a running stack; otherwise
# brings one up and stops it at the end, whatever the outcome.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

echo "test: unit tests" >&2
cargo test --workspace

if healthy && localstack_pid >/dev/null; then
  echo "test: reusing the running stack" >&2
  reused=1
  make --no-print-directory up >/dev/null
else
  trap '"$LOCAL_DIR/stop.sh"' EXIT
  make --no-print-directory up
fi

echo "test: stack tests against LocalStack at $ENDPOINT" >&2
cargo test --workspace -- --ignored

# The demo needs the fresh demo websites of a stack this run brought up.
if [[ -z ${reused:-} ]]; then
  echo "test: make demo" >&2
  make --no-print-directory demo
fi

# After the demo: the conformance test submits real requests on the first demo customer's
# websites (and withdraws them afterwards), which must not compete with the demo.
echo "test: API conformance (schemathesis, infra/openapi.yaml)" >&2
infra/local/conformance.sh

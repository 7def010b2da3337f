#!/usr/bin/env bash
# The web console in a real browser: Playwright (pinned in tests/console/package-lock.json)
# drives Debian's Chromium (`install.sh console`) through tests/console/console.spec.js against
# the running local stack, with customers of its own (`icp-seed console`). The run takes its
# screenshots into .local/console-screenshots/, so that a test run leaves the tree as it was;
# CONSOLE_SCREENSHOTS=docs/console takes the README's. Needs a running stack (`make up`).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE_DIR=${CARGO_PROFILE_DIR:-debug}

"$LOCAL_DIR/install.sh" console
[[ -f $STATE_DIR/demo.json ]] || { echo "console_test.sh: the stack is not up (make up)" >&2; exit 1; }

fixture="$STATE_DIR/console-fixture.json"
ICP_LOCAL_ROOT="$ROOT" "$TARGET_DIR/$PROFILE_DIR/icp-seed" console 3 >"$fixture.new"
mv "$fixture.new" "$fixture"
# Its people sign in on the local provider's login page: register them there.
"$VENV/bin/python" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["accounts"]))' "$fixture" |
  node "$LOCAL_DIR/oidc/accounts.mjs" add

screenshots=$(realpath -m "${CONSOLE_SCREENSHOTS:-$STATE_DIR/console-screenshots}")
cd tests/console
CONSOLE_SCREENSHOTS="$screenshots" CONSOLE_FIXTURE="$fixture" CONSOLE_RESULTS="$STATE_DIR/console-results" \
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 node_modules/.bin/playwright test

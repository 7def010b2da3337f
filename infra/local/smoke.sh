#!/usr/bin/env bash
# Proves the local stack on this machine: install (quick when done), start, DynamoDB, Lambda
# (sync, concurrent, error, timeout, crash, logs), Step Functions, stop. Stops LocalStack at the
# end, even one that was running before. See smoke/smoke.py.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"$LOCAL_DIR/install.sh"
exec "$VENV/bin/python" "$LOCAL_DIR/smoke/smoke.py"

#!/usr/bin/env bash
# `make demo`: runs demo.py against this clone's running stack.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
healthy && [[ -f $STATE_DIR/demo.json ]] || { echo "demo: the stack is not up: run 'make up' first" >&2; exit 1; }
exec "$VENV/bin/python" "$LOCAL_DIR/demo.py" "$STATE_DIR/demo.json"

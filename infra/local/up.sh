#!/usr/bin/env bash
# `make up` after install and build: start LocalStack (or reuse this clone's), deploy, seed,
# and show where to start.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

"$LOCAL_DIR/start.sh"
"$LOCAL_DIR/deploy.sh"
"$VENV/bin/python" - "$STATE_DIR/demo.json" <<'PY'
import json, sys
demo = json.load(open(sys.argv[1]))
c = demo["customers"][0]
print(f"""
The ICP filing stack is up.
  API:        {demo['apiUrl']}
  Console:    {demo['consoleUrl']}
  Demo data:  {sys.argv[1]} (customers, tokens, license passwords, reviewer token)
  Stop it:    make down        Logs: make logs

Try it:
  curl -s -H "Authorization: Bearer {c['token']}" \\
    {demo['apiUrl']}/websites
""")
PY

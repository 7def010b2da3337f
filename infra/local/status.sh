#!/usr/bin/env bash
# Tells whether this clone's LocalStack runs and is healthy (exit 0), else exit 1; lists the
# processes of ours (LocalStack, DynamoDB Local, Lambda bootstraps) and where the logs are.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

if pid=$(localstack_pid); then
  if healthy; then
    echo "LocalStack: running, healthy (pid $pid) at $ENDPOINT"
    curl -fsS --noproxy '*' --max-time 2 "$ENDPOINT/_localstack/health" |
      "$VENV/bin/python" -c 'import json,sys; s=json.load(sys.stdin)["services"]; print("services:", ", ".join(f"{k}={v}" for k,v in sorted(s.items()) if v != "disabled"))'
    status=0
  else
    echo "LocalStack: running (pid $pid) but NOT healthy"
    status=1
  fi
else
  echo "LocalStack: not running"
  status=1
fi
pids=$(our_pids)
if [[ -n $pids ]]; then
  echo "processes:"
  # shellcheck disable=SC2086
  ps -o pid=,pgid=,rss=,args= -p "$(echo $pids | tr ' ' ,)" | cut -c 1-160
fi
echo "logs: $LS_LOG, Lambda functions: $LAMBDA_LOG_DIR/<function>.log"
exit "$status"

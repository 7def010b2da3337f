#!/usr/bin/env bash
# Stops everything start.sh and oidc.sh started for this clone (LocalStack, DynamoDB Local's java,
# every Lambda bootstrap, the OIDC provider), waits until none remains and 4566 is free, and
# deletes the LocalStack and OIDC state (signing key, users) so the next start is fresh. Exits 0
# if nothing was running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

GRACE=${STOP_GRACE:-20}  # seconds LocalStack gets to shut down by itself before SIGKILL

ls_pid=$(localstack_pid || true)
if [[ -z $ls_pid && -z $(our_pids) ]]; then
  rm -rf "$LS_ROOT" "$PID_FILE" "$OIDC_DIR" "$OIDC_PID_FILE"
  echo "stop.sh: nothing running"
  exit 0
fi

# SIGTERM first: LocalStack then stops DynamoDB Local and its Lambda environments itself.
if [[ -n $ls_pid ]]; then
  kill -TERM "$ls_pid" 2>/dev/null || true
  for ((i = 0; i < GRACE * 10; i++)); do
    alive "$ls_pid" || break
    sleep 0.1
  done
fi

# Whatever remains (everything, if LocalStack had died): SIGKILL each marked process and the
# process groups they lead (LocalStack's, each bootstrap's), so unmarked descendants go too.
for ((i = 0; i < 50; i++)); do
  pids=$(our_pids)
  [[ -z $pids ]] && break
  for pid in $pids; do
    pgid=$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ') || true
    if [[ $pgid == "$pid" ]]; then kill -KILL -- "-$pid" 2>/dev/null || true; fi
    kill -KILL "$pid" 2>/dev/null || true
  done
  sleep 0.2
done
if [[ -n $(our_pids) ]]; then
  echo "stop.sh: processes still running after SIGKILL: $(our_pids | tr '\n' ' ')" >&2
  exit 1
fi

if [[ -n $ls_pid ]]; then
  for ((i = 0; i < 100; i++)); do
    port_in_use || break
    sleep 0.1
  done
  if port_in_use; then
    echo "stop.sh: $GATEWAY_HOST:$GATEWAY_PORT still in use after stopping LocalStack" >&2
    exit 1
  fi
fi

rm -rf "$LS_ROOT" "$PID_FILE" "$OIDC_DIR" "$OIDC_PID_FILE"
echo "stop.sh: stopped"

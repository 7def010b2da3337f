#!/usr/bin/env bash
# The functions' logs: one file per function, written by the local Lambda executor.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

shopt -s nullglob
files=("$LAMBDA_LOG_DIR"/*.log)
((${#files[@]})) || { echo "no function logs yet in $LAMBDA_LOG_DIR (is the stack up? 'make up')"; exit 0; }
if [[ ${LOGS_FOLLOW:-1} == 1 ]]; then
  exec tail -n 50 -F "${files[@]}"
fi
tail -n 200 "${files[@]}"

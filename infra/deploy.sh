#!/usr/bin/env bash
# `make deploy`: builds every function in infra/template.yaml with `cargo lambda build` for
# provided.al2023 (zig links against the image's glibc), validates the template and deploys it
# with `sam deploy`. Nothing account-specific lives in the repo: the account and region come from
# the standard AWS environment (AWS_PROFILE, AWS_REGION, ...), the rest from the settings below.
#
# Settings (environment variables):
#   SENDER_EMAIL, REVIEWER_EMAILS   required: the SES sender; the reviewers' addresses (comma-separated)
#   AUTHORITY_URL                   required: the authority's submission intake (https://...)
#   PROVIDER_IP_RANGES              required: the provider's address blocks (CIDR, comma-separated);
#                                   a change of access to an IP outside them is refused
#   STAGE=prod  STACK_NAME=icp-filing-$STAGE  ARCH=arm64 (or x86_64)
#   ALARM_EMAIL  FIRST_REVIEW_DEADLINE_SECONDS  AUTHORITY_DEADLINE_SECONDS  REJECTED_EXPIRY_SECONDS
#   ROUND_FIRST_WAIT_SECONDS  ROUND_MAX_WAIT_SECONDS  WAITING_ROUNDS_ALARM_THRESHOLD  API_RATE_LIMIT  API_BURST_LIMIT
#   LOG_RETENTION_DAYS  FUNCTION_RESERVED_CONCURRENCY       optional template parameters
#   OIDC_ISSUER  OIDC_CLIENT_ID  OIDC_AUDIENCES  OIDC_JWKS_URL  OIDC_ROLE_CLAIM  OIDC_ENTITY_CLAIM
#   OIDC_SCOPE                      sign-in at an existing OpenID Connect provider; without
#                                   OIDC_ISSUER the stack creates its own Cognito user pool
#   USER_POOL_DOMAIN_PREFIX         that user pool's login domain prefix
#   API_SERVER_ERROR_RATE  API_LATENCY_P99_MS                the API's alarms' thresholds
#   DEPLOY_YES=1                    apply the change set without asking (CI); otherwise
#                                   `sam deploy` shows it and asks before applying
#   CARGO_PROFILE=release           the cargo profile the artifacts are built with
#   DEPLOY_PACKAGE_ONLY=1           stop after `sam package` to ARTIFACT_BUCKET (what `make test`
#                                   runs against LocalStack's S3: everything but the deploy itself)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/local/common.sh"

STAGE=${STAGE:-prod}
STACK_NAME=${STACK_NAME:-icp-filing-$STAGE}
ARCH=${ARCH:-arm64}
CARGO_PROFILE=${CARGO_PROFILE:-release}
PACKAGE_ONLY=${DEPLOY_PACKAGE_ONLY:-0}
CARGO_LAMBDA_VENV="$ICP_CACHE/cargo-lambda-venv"
SAM_VENV="$ICP_CACHE/sam-venv"
TEMPLATE="$ROOT/infra/template.yaml"
OUT_DIR="$ROOT/target/deploy"

fail() { echo "deploy.sh: $*" >&2; exit 1; }
case $ARCH in
  arm64) arch_flag=--arm64 ;;
  x86_64) arch_flag=--x86-64 ;;
  *) fail "ARCH must be arm64 or x86_64, not '$ARCH'" ;;
esac
if [[ $PACKAGE_ONLY == 1 ]]; then
  [[ -n ${ARTIFACT_BUCKET:-} ]] || fail "DEPLOY_PACKAGE_ONLY=1 needs ARTIFACT_BUCKET"
else
  for setting in SENDER_EMAIL REVIEWER_EMAILS AUTHORITY_URL PROVIDER_IP_RANGES; do
    [[ -n ${!setting:-} ]] || fail "$setting is required (see the top of infra/deploy.sh or README.md)"
  done
  [[ $AUTHORITY_URL == https://* ]] || fail "AUTHORITY_URL must be an https:// URL"
fi

"$ROOT/infra/local/install.sh" deploy

# Before building or changing anything: whose account would this change?
if [[ $PACKAGE_ONLY != 1 ]]; then
  account=$(aws_account "$SAM_VENV/bin/python") || fail "$account"
  echo "deploy: to account $account, stack $STACK_NAME" >&2
fi

# The functions are the template's code directories (CodeUri ../target/lambda/<name>/); cargo
# lambda writes each binary there as `bootstrap`, which is what SAM zips.
mapfile -t functions < <(grep -o 'target/lambda/[a-z0-9-]*' "$TEMPLATE" | sort -u | cut -d/ -f3)
packages=()
for fn in "${functions[@]}"; do packages+=(--package "$fn"); done
echo "deploy: building ${#functions[@]} functions for provided.al2023 ($ARCH, $CARGO_PROFILE)" >&2
PATH="$CARGO_LAMBDA_VENV/bin:$PATH" cargo lambda build "$arch_flag" --profile "$CARGO_PROFILE" \
  --lambda-dir "$ROOT/target/lambda" "${packages[@]}"
for fn in "${functions[@]}"; do
  [[ -x $ROOT/target/lambda/$fn/bootstrap ]] || fail "cargo lambda built no target/lambda/$fn/bootstrap"
done

sam() { "$SAM_VENV/bin/sam" "$@"; }
export SAM_CLI_TELEMETRY=0
echo "deploy: validating the template" >&2
region=${AWS_REGION:-${AWS_DEFAULT_REGION:-}}
region_flag=(${region:+--region "$region"})
sam validate --lint --template-file "$TEMPLATE" --region "${region:-us-east-1}"

mkdir -p "$OUT_DIR"
if [[ $PACKAGE_ONLY == 1 ]]; then
  echo "deploy: packaging to s3://$ARTIFACT_BUCKET" >&2
  sam package "${region_flag[@]}" --template-file "$TEMPLATE" --s3-bucket "$ARTIFACT_BUCKET" --s3-prefix "$STACK_NAME" \
    --output-template-file "$OUT_DIR/packaged.yaml"
  exit 0
fi

overrides=(
  "Stage=$STAGE" "Architecture=$ARCH" "SenderEmail=$SENDER_EMAIL" "ReviewerEmails=$REVIEWER_EMAILS"
  "AuthorityUrl=$AUTHORITY_URL" "ProviderIpRanges=$PROVIDER_IP_RANGES"
)
optional() { [[ -z ${!1:-} ]] || overrides+=("$2=${!1}"); }
optional ALARM_EMAIL AlarmEmail
optional FIRST_REVIEW_DEADLINE_SECONDS FirstReviewDeadlineSeconds
optional AUTHORITY_DEADLINE_SECONDS AuthorityDeadlineSeconds
optional REJECTED_EXPIRY_SECONDS RejectedExpirySeconds
optional ROUND_FIRST_WAIT_SECONDS RoundFirstWaitSeconds
optional ROUND_MAX_WAIT_SECONDS RoundMaxWaitSeconds
optional WAITING_ROUNDS_ALARM_THRESHOLD WaitingRoundsAlarmThreshold
optional API_RATE_LIMIT ApiRateLimit
optional API_BURST_LIMIT ApiBurstLimit
optional LOG_RETENTION_DAYS LogRetentionDays
optional FUNCTION_RESERVED_CONCURRENCY FunctionReservedConcurrency
optional OIDC_ISSUER OidcIssuer
optional OIDC_CLIENT_ID OidcClientId
optional OIDC_AUDIENCES OidcAudiences
optional OIDC_JWKS_URL OidcJwksUrl
optional OIDC_ROLE_CLAIM OidcRoleClaim
optional OIDC_ENTITY_CLAIM OidcEntityClaim
optional OIDC_SCOPE OidcScope
optional USER_POOL_DOMAIN_PREFIX UserPoolDomainPrefix
optional API_SERVER_ERROR_RATE ApiServerErrorRate
optional API_LATENCY_P99_MS ApiLatencyP99Ms

# The change set is shown, and applied only once the operator says yes (DEPLOY_YES=1: at once).
confirm=(--confirm-changeset)
[[ ${DEPLOY_YES:-0} == 1 ]] && confirm=(--no-confirm-changeset)
echo "deploy: deploying stack $STACK_NAME" >&2
# infra/samconfig.toml's `default` environment: capabilities, the artifact bucket, no failure
# on an empty change set; the stack's name and parameters come from the settings above.
sam deploy --config-file "$ROOT/infra/samconfig.toml" --config-env default "${region_flag[@]}" \
  --template-file "$TEMPLATE" --stack-name "$STACK_NAME" "${confirm[@]}" \
  --parameter-overrides "${overrides[@]}"

# The working-day calendar's years (infra/calendar/cn-working-days.json) into the stack's table.
calendar_table=$("$SAM_VENV/bin/python" - "$STACK_NAME" ${region:+"$region"} <<'PY'
import sys, boto3
cfn = boto3.client("cloudformation", region_name=sys.argv[2] if len(sys.argv) > 2 else None)
outputs = cfn.describe_stacks(StackName=sys.argv[1])["Stacks"][0]["Outputs"]
print(next(o["OutputValue"] for o in outputs if o["OutputKey"] == "CalendarTableName"))
PY
)
"$SAM_VENV/bin/python" "$ROOT/infra/calendar/load.py" --table "$calendar_table" ${region:+--region "$region"}

#!/usr/bin/env bash
# The API conformance test: schemathesis (pinned by `install.sh conformance`) drives the running
# local API from its description, infra/openapi.yaml, and holds every answer to it: the status is
# one the operation documents, the body matches that response's schema (error codes included),
# the content type is the documented one, the documented headers (x-request-id, Retry-After) are
# there, and nothing is a 5xx. Needs a running stack (`make up`); reads `.local/demo.json`.
#
# Three passes, each bounded (examples per operation, steps per scenario, a time limit):
# - customer: the customer routes with the first demo customer's token. Schemathesis reuses the
#   ids it reads in answers, so it submits, reads, resubmits and withdraws real requests on that
#   customer's websites. So that this cannot wedge the demo customer, a generated license
#   password that passes validation is swapped for the real one (see the hooks below), and after
#   both passes every request left open is withdrawn (the websites are free again); the test
#   fails if a wrong password reached verification all the same.
# - reviewer: the reviewer routes with the reviewer token (its queue then holds the customer
#   pass's requests), without reusing ids from answers and without stateful scenarios, so no
#   real request is ever decided: an approved one could no longer be withdrawn and would hold its
#   website until the authority's deadline.
# - operator: the re-drive route with the operator token, on generated ids only.
# Described but not fuzzed: POST /authority/callbacks (without the HMAC secret every call ends at
# the 401; with it the fuzzer would be deciding real requests) and the simulator's local-only
# /authority-sim routes (they sign and send real callbacks).
#
# CONFORMANCE_EXAMPLES (default 15) sets the examples per operation, CONFORMANCE_SEED a seed.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$ROOT"

SCHEMATHESIS_VENV="$ICP_CACHE/schemathesis-venv" # install.sh names the same venv
SPEC="$ROOT/infra/openapi.yaml"
DEMO="$STATE_DIR/demo.json"
EXAMPLES=${CONFORMANCE_EXAMPLES:-15}
PASS_TIME_LIMIT=90 # seconds per pass, a safety net: a pass takes 10 to 30 s
CHECKS=not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance,response_headers_conformance

"$LOCAL_DIR/install.sh" conformance
PYTHON="$SCHEMATHESIS_VENV/bin/python"
[[ -f $DEMO ]] || { echo "conformance.sh: $DEMO is missing: the stack is not up (make up)" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The API's address and the demo credentials, from demo.json, into the environment (the
# schemathesis configs below name them as ${...}, so no token is on a command line).
# demo_field KEY...: the value at that path in demo.json (a number indexes a list).
demo_field() {
  "$PYTHON" -c 'import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2:]:
    value = value[int(key) if key.isdigit() else key]
print(value)' "$DEMO" "$@"
}
API_URL=$(demo_field apiUrl)
export ICP_CONFORMANCE_CUSTOMER_TOKEN ICP_CONFORMANCE_PASSWORD ICP_CONFORMANCE_REVIEWER_TOKEN \
  ICP_CONFORMANCE_OPERATOR_TOKEN
ICP_CONFORMANCE_CUSTOMER_TOKEN=$(demo_field customers 0 token)
ICP_CONFORMANCE_PASSWORD=$(demo_field customers 0 licensePassword)
ICP_CONFORMANCE_REVIEWER_TOKEN=$(demo_field reviewerToken)
ICP_CONFORMANCE_OPERATOR_TOKEN=$(demo_field operatorToken)

# The demo customer's requests, through the API: `before` prints the time and the ids of its
# open requests; `cleanup FILE` (FILE: what `before` printed) withdraws every open request not
# listed there (retrying while one is still being verified), and fails if one stays open or if a
# license password was rejected since that time.
requests_helper() {
  "$PYTHON" - "$API_URL" "$@" <<'PY'
import datetime, json, os, sys, time, urllib.error, urllib.request

api, action = sys.argv[1], sys.argv[2]
token = os.environ["ICP_CONFORMANCE_CUSTOMER_TOKEN"]
WITHDRAWABLE = {"submitted", "password_rejected", "pending_first_review", "first_review_rejected"}
OPEN = WITHDRAWABLE | {"forwarded_to_authority", "approved"}

def call(method, path):
    req = urllib.request.Request(api + path, method=method, data=b"" if method == "POST" else None)
    req.add_header("authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")
    except OSError as e:
        sys.exit(f"conformance.sh: {method} {api}{path}: {e} (is the stack up? make up)")

def requests():
    status, body = call("GET", "/requests")
    if status != 200:
        sys.exit(f"conformance.sh: GET /requests answered {status}: {body}")
    return body["requests"]

def open_requests():
    return {r["requestId"]: r["status"] for r in requests() if r["status"] in OPEN}

if action == "before":
    print(datetime.datetime.now(datetime.timezone.utc).isoformat(), *open_requests())
    sys.exit(0)

start, *before = open(sys.argv[3]).read().split()
start = datetime.datetime.fromisoformat(start)
deadline = time.monotonic() + 60
while True:
    left = {i: s for i, s in open_requests().items() if i not in before}
    if not left:
        break
    if time.monotonic() > deadline:
        sys.exit(f"conformance.sh: requests the run opened are still open: {left}")
    for request_id, status in left.items():
        if status in WITHDRAWABLE:
            answer, body = call("POST", f"/requests/{request_id}/withdraw")
            print(f"conformance: withdrew {request_id} ({status}): {answer}", file=sys.stderr)
    time.sleep(1)
rejected = [r["requestId"] for r in requests() for h in r["history"]
            if h["status"] == "password_rejected" and datetime.datetime.fromisoformat(h["at"]) >= start]
if rejected:
    sys.exit(f"conformance.sh: a wrong license password reached verification ({rejected}): "
             "the demo customer is that much closer to its lock (5 in a row)")
PY
}

# Hooks for both passes (the configs below load them).
# - before_call: a license password that passes validation (1 to 128 characters) becomes the
#   demo customer's real one before the call goes out, and the calls schemathesis derives from it
#   (probes, retries) inherit that. Wrong ones would be rejected, and 5 in a row lock the entity
#   for 30 minutes. Empty, overlong and mistyped passwords still go out and must meet their 400.
# - filter_failure: LocalStack's API Gateway (not our functions) fails with a plain-text 500
#   "Error in apigateway invocation: list index out of range" on `Content-Type:
#   multipart/form-data` without a boundary, before any function runs (API Gateway on AWS passes
#   the body on, and the functions answer 415 or ignore it). Only that very answer is excused: it
#   never carries our x-request-id.
cat >"$WORK/hooks.py" <<'PY'
import os

import schemathesis

PASSWORD = os.environ["ICP_CONFORMANCE_PASSWORD"]
WITH_PASSWORD = {("POST", "/requests"), ("POST", "/requests/{requestId}/resubmit")}


@schemathesis.hook
def before_call(context, case, kwargs):
    if (case.method.upper(), case.operation.path) not in WITH_PASSWORD or not isinstance(case.body, dict):
        return
    password = case.body.get("licensePassword")
    if isinstance(password, str) and 1 <= len(password) <= 128:
        case.body["licensePassword"] = PASSWORD


@schemathesis.hook
def filter_failure(context, failure, case, response):
    localstack_gateway_crash = (
        response.status_code == 500
        and "x-request-id" not in response.headers
        and response.content.startswith(b"Error in apigateway invocation")
        and (case.headers or {}).get("Content-Type", "").startswith("multipart/form-data")
    )
    return not localstack_gateway_crash
PY

# One schemathesis pass. $1: name, $2: its config (TOML), then schemathesis options.
run_pass() {
  local name=$1 config=$2 start=$SECONDS
  shift 2
  printf 'hooks = "%s"\n%s\n' "$WORK/hooks.py" "$config" >"$WORK/$name.toml"
  echo "conformance: $name pass" >&2
  # From $WORK, so whatever schemathesis caches stays out of the clone.
  if (cd "$WORK" && timeout --kill-after=10 "$PASS_TIME_LIMIT" \
    "$SCHEMATHESIS_VENV/bin/schemathesis" --config-file "$WORK/$name.toml" --no-color run "$SPEC" \
    --url "$API_URL" --checks "$CHECKS" --max-examples "$EXAMPLES" --continue-on-failure \
    --request-timeout 30 --generation-database none ${CONFORMANCE_SEED:+--seed "$CONFORMANCE_SEED"} "$@"); then
    echo "conformance: $name pass: ok ($((SECONDS - start))s)" >&2
  else
    local rc=$?
    ((rc == 124 || rc == 137)) && echo "conformance: $name pass: stopped after ${PASS_TIME_LIMIT}s" >&2
    echo "conformance: $name pass: FAILED ($((SECONDS - start))s)" >&2
    failed+=("$name")
  fi
}

failed=()
requests_helper before >"$WORK/open-before"

# The configs name ${...} on purpose: schemathesis fills them in from the environment.
# shellcheck disable=SC2016
run_pass customer '
[auth.openapi.bearerAuth]
bearer = "${ICP_CONFORMANCE_CUSTOMER_TOKEN}"

[phases.stateful]
max-steps = 6
' --include-path-regex '^/(websites|requests|entity)'

# The reviewer's and the operator's passes reuse no id from answers, in any phase (the examples
# phase would otherwise send the spec's approve example to a queued request), and run no
# stateful scenario: no real request is decided or re-driven.
NO_REUSE='
[phases.examples.extra-data-sources]
responses = false

[phases.coverage.extra-data-sources]
responses = false

[phases.fuzzing.extra-data-sources]
responses = false

[phases.stateful]
enabled = false
'

# shellcheck disable=SC2016
run_pass reviewer '
[auth.openapi.bearerAuth]
bearer = "${ICP_CONFORMANCE_REVIEWER_TOKEN}"
'"$NO_REUSE" --include-path-regex '^/reviews'

# The operator's re-drive, on generated ids only (none is a parked approval: 404 or 409).
# shellcheck disable=SC2016
run_pass operator '
[auth.openapi.bearerAuth]
bearer = "${ICP_CONFORMANCE_OPERATOR_TOKEN}"
'"$NO_REUSE" --include-path-regex '^/operations'

# After the passes, so that the reviewer's queue held the customer pass's requests.
requests_helper cleanup "$WORK/open-before" || failed+=("cleanup")
if ((${#failed[@]})); then
  echo "conformance: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "conformance: the API conforms to infra/openapi.yaml" >&2

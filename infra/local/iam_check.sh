#!/usr/bin/env bash
# The IAM check (run by test.sh after the stack's tests): every AWS call the functions made,
# as the executor recorded it, evaluated against the policies of the function's role as the
# stack deployed them (iam_check/check.mjs). Fails on any call AWS would deny. Then proves it
# can fail: without verify-password's UpdateItem on the Entities table, exactly those calls
# must be named as denied.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
fail() { echo "iam_check.sh: $*" >&2; exit 1; }

[[ -s $AWS_CALL_LOG ]] || fail "no AWS calls recorded in $AWS_CALL_LOG (is the executor's recorder installed?)"
policies="$STATE_DIR/role-policies.json"
"$VENV/bin/python" "$LOCAL_DIR/iam_check/role_policies.py" "$AWS_CALL_LOG" "$ENDPOINT" >"$policies"
export IAM_CHECK_MODULES="$IAM_CHECK_DIR/node_modules"
node "$LOCAL_DIR/iam_check/check.mjs" "$AWS_CALL_LOG" "$policies"
node "$LOCAL_DIR/iam_check/check.mjs" "$AWS_CALL_LOG" "$policies" \
  --without verify-password dynamodb:UpdateItem EntitiesTable

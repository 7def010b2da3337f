#!/usr/bin/env bash
# `make destroy`: deletes the stack `make deploy` made, once the operator has seen what goes and
# said yes. The data tables (entities, websites, requests, idempotency records, notifications,
# the calendar) are kept: the template retains them, and a new deploy starts beside them (load
# them back with the import, or delete them by hand). DELETE_DATA=1 deletes them too, once the
# stack is gone. DESTROY_YES=1 does not ask (CI). STAGE and STACK_NAME as for make deploy; the
# account and region from the standard AWS environment.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/local/common.sh"

STAGE=${STAGE:-prod}
STACK_NAME=${STACK_NAME:-icp-filing-$STAGE}
SAM_VENV="$ICP_CACHE/sam-venv"

fail() { echo "destroy.sh: $*" >&2; exit 1; }

"$ROOT/infra/local/install.sh" deploy
account=$(aws_account "$SAM_VENV/bin/python") || fail "$account"

DELETE_DATA=${DELETE_DATA:-0} DESTROY_YES=${DESTROY_YES:-0} \
  "$SAM_VENV/bin/python" - "$STACK_NAME" "$account" <<'PY'
import os, sys, boto3

stack, account = sys.argv[1], sys.argv[2]
cfn, dynamodb = boto3.client("cloudformation"), boto3.client("dynamodb")
try:
    resources = cfn.describe_stack_resources(StackName=stack)["StackResources"]
except cfn.exceptions.ClientError as e:
    sys.exit(f"destroy.sh: no stack {stack} in account {account}: {e}")
tables = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::DynamoDB::Table"]
delete_data = os.environ["DELETE_DATA"] == "1"
print(f"destroy: stack {stack} in account {account}: {len(resources)} resources go")
print(f"destroy: its data tables are {'DELETED too' if delete_data else 'kept'}: {', '.join(tables)}")
if os.environ["DESTROY_YES"] != "1":
    if input(f"Delete stack {stack}? Type its name to go on: ").strip() != stack:
        sys.exit("destroy.sh: nothing was changed")
cfn.delete_stack(StackName=stack)
cfn.get_waiter("stack_delete_complete").wait(StackName=stack, WaiterConfig={"Delay": 10, "MaxAttempts": 180})
print(f"destroy: stack {stack} deleted")
if delete_data:
    for table in tables:
        try:
            dynamodb.delete_table(TableName=table)
            print(f"destroy: table {table} deleted")
        except dynamodb.exceptions.ResourceNotFoundException:
            pass
PY

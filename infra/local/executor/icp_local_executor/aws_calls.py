"""Records the AWS calls the stack's functions make, as IAM would authorize them.

LocalStack's community edition enforces no IAM. So that `make test` can hold each function to
its role's policy as AWS would, every call a function makes through the gateway is written, as
one JSON line per call, to ``$ICP_AWS_CALL_LOG``: the function, its role, the operation, and the
IAM requests it amounts to (action, resource ARN, the condition keys known from the call).
``infra/local/iam_check`` evaluates them against the deployed roles' policies.

A call is the function's when it is signed with the access key LocalStack gave that function's
execution environment (the executor registers each one). Only names and ARNs are kept: never
item contents, messages, tokens or secrets.
"""

import json
import logging
import os
import threading

from localstack.aws import handlers
from localstack.aws.api import CommonServiceException
from localstack.runtime import hooks

LOG = logging.getLogger(__name__)

# Access key id -> (function name, role ARN), registered by the executor per environment.
_callers: dict[str, tuple[str, str]] = {}
_write_lock = threading.Lock()

# LocalStack's service names whose IAM prefix differs.
_IAM_PREFIX = {"stepfunctions": "states"}

# DynamoDB transaction parts and the action IAM checks for each.
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


def register_caller(access_key_id: str, function_name: str, role_arn: str) -> None:
    _callers[access_key_id] = (function_name, role_arn)


def _access_key(headers) -> str | None:
    authorization = headers.get("Authorization") or ""
    marker = "Credential="
    if marker not in authorization:
        return None
    return authorization.split(marker, 1)[1].split("/", 1)[0]


def iam_requests(service: str, operation: str, params: dict, response: dict, region: str,
                 account: str) -> list[dict]:
    """The IAM requests a call amounts to: [{action, resource, context}]; "*" where the action
    takes no resource (the checker knows which from the IAM reference)."""
    prefix = _IAM_PREFIX.get(service, service)

    def request(action: str, resource: str, context: dict | None = None) -> dict:
        return {"action": f"{prefix}:{action}", "resource": resource, "context": context or {}}

    if service == "dynamodb":
        def table(name: str, index: str | None = None) -> str:
            arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
            return f"{arn}/index/{index}" if index else arn

        if operation in ("TransactWriteItems", "TransactGetItems"):
            return [
                request(_TRANSACT_ACTIONS[part], table(spec["TableName"]))
                for item in params.get("TransactItems", [])
                for part, spec in item.items()
            ]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [request(operation, table(name)) for name in params.get("RequestItems", {})]
        if "TableName" in params:
            return [request(operation, table(params["TableName"], params.get("IndexName")))]
        return [request(operation, "*")]
    if service == "stepfunctions":
        for key in ("stateMachineArn", "executionArn"):
            if key in params:
                return [request(operation, params[key])]
        return [request(operation, "*")]
    if service == "secretsmanager":
        # The response names the secret by ARN whether the call gave its name or its ARN.
        arn = (response or {}).get("ARN") or params.get("SecretId", "*")
        return [request(operation, arn)]
    if service == "sns":
        # A message to a phone number has no resource: IAM checks it against "*".
        return [request(operation, params.get("TopicArn") or params.get("TargetArn") or "*")]
    if service == "ses" and operation in ("SendEmail", "SendRawEmail"):
        source = params.get("Source", "")
        address = source.rsplit("<", 1)[-1].rstrip(">").strip()
        domain = address.rsplit("@", 1)[-1]
        return [request(operation, f"arn:aws:ses:{region}:{account}:identity/{domain}",
                        {"ses:FromAddress": address})]
    return [request(operation, "*")]


def identify_caller(_chain, context, _response) -> None:
    """A request handler: notes which function signed the call, before a service rewrites the
    signature (DynamoDB's provider does, to namespace DynamoDB Local)."""
    context.icp_function_caller = _callers.get(_access_key(context.request.headers) or "")


def refuse_injected_calls(_chain, context, _response) -> None:
    """A request handler after ``identify_caller``: while a tests' file
    ``$ICP_FAULT_DIR/<function>/<service>.<Operation>`` (or ``...<Operation>#<tag>``) exists,
    that function's calls of that operation fail with 503 (the SDK's retries included), as in an
    outage of the service. A file that names ids, one a line, fails only the calls that carry
    one of them (an outage for those requests or entities only)."""
    fault_dir = os.environ.get("ICP_FAULT_DIR")
    caller = getattr(context, "icp_function_caller", None)
    if not fault_dir or caller is None or not context.service or not context.operation:
        return
    name = f"{context.service.service_name}.{context.operation.name}"
    directory = os.path.join(fault_dir, caller[0])
    try:
        files = [f for f in os.listdir(directory) if f == name or f.startswith(f"{name}#")]
    except FileNotFoundError:
        return
    for file in files:
        try:
            with open(os.path.join(directory, file)) as f:
                scopes = [line.strip() for line in f if line.strip()]
        except FileNotFoundError:
            continue  # removed meanwhile: the outage is over
        if not scopes or any(scope in _request_text(context) for scope in scopes):
            raise CommonServiceException("ServiceUnavailable", "injected fault (local tests)",
                                         status_code=503)


def _request_text(context) -> str:
    """The call's parameters as text, to find an id in."""
    if context.service_request is not None:
        return json.dumps(context.service_request, default=str)
    return context.request.get_data(as_text=True)


class AwsCallRecorder:
    """A response handler of LocalStack's gateway: one line per call of a registered function."""

    def __init__(self, path: str):
        self.path = path

    def __call__(self, _chain, context, _response) -> None:
        try:
            caller = getattr(context, "icp_function_caller", None)
            if caller is None or not context.service or not context.operation:
                return
            function, role = caller
            service, operation = context.service.service_name, context.operation.name
            record = {
                "function": function,
                "role": role,
                "call": f"{service}:{operation}",
                "requests": iam_requests(
                    service,
                    operation,
                    context.service_request or {},
                    context.service_response or {},
                    context.region,
                    context.account_id,
                ),
            }
            line = json.dumps(record, default=str) + "\n"
            with _write_lock, open(self.path, "a", encoding="utf-8") as log:
                log.write(line)
        except Exception:  # never fail the call being recorded
            LOG.exception("recording an AWS call failed")


@hooks.on_infra_start()
def record_function_aws_calls() -> None:
    """Installs the recorder when ``ICP_AWS_CALL_LOG`` names its file."""
    if path := os.environ.get("ICP_AWS_CALL_LOG"):
        handlers.serve_custom_service_request_handlers.append(identify_caller)
        handlers.serve_custom_service_request_handlers.append(refuse_injected_calls)
        handlers.run_custom_response_handlers.append(AwsCallRecorder(path))

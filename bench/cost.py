"""What a completed request costs on AWS, from what one request of each type used on the local
stack: its Lambda invocations and GB-seconds (the functions' REPORT lines and memory sizes),
state transitions (its execution's history), DynamoDB request units (the AWS calls the local
executor records), API Gateway calls, log bytes, and the SMS and emails it sent; priced at the
published list prices below. Secrets Manager and KMS are called once per cold start (the
functions keep the secret; DynamoDB and Step Functions reuse their data keys for minutes): per
request they round to nothing, so only their monthly fixed costs count."""

import json
import math
import re
from pathlib import Path

# AWS list prices for us-east-1 (N. Virginia), in USD, as published on the AWS pricing pages on
# 2025-06-01 (the date of these figures: there is no internet here to read them again). The
# China regions price in CNY on their own pages.
PRICES = {
    "region": "us-east-1",
    "date": "2025-06-01",
    "source": "aws.amazon.com/{lambda,step-functions,dynamodb,api-gateway,ses,end-user-messaging,"
              "secrets-manager,kms,cloudwatch,xray}/pricing",
    "lambdaGbSecondArm": 0.0000133334,
    "lambdaRequest": 0.20 / 1e6,
    "stateTransition": 0.025 / 1000,
    "dynamodbWriteUnit": 0.625 / 1e6,   # on demand, since 2024-11-01
    "dynamodbReadUnit": 0.125 / 1e6,
    "apiGatewayRestRequest": 3.50 / 1e6,
    "logsIngestedGb": 0.50,
    "xrayTraceRecorded": 5.00 / 1e6,
    "putMetricDataRequest": 0.01 / 1000,
    "sesEmail": 0.10 / 1000,
    "smsToChina": 0.0335,               # one SMS segment to +86
    # Monthly, fixed.
    "alarm": 0.10,
    "dashboard": 3.00,
    "kmsKey": 1.00,
    "secret": 0.40,
    "customMetric": 0.30,
}

# DynamoDB operations and the request units one call takes (items under 1 KB to write and 4 KB
# to read; strongly consistent reads; a transaction's item counts twice).
READS = {"GetItem": 1, "Query": 1, "Scan": 1, "BatchGetItem": 1}
WRITES = {"PutItem": 1, "UpdateItem": 1, "DeleteItem": 1}
TRANSACTION_UNITS = 2


def lambda_usd(reports, memory_mb):
    """reports: [(function, {Duration, ...})] of the request's invocations."""
    gb_seconds = sum(math.ceil(r["Duration"]) / 1000 * memory_mb[f] / 1024 for f, r in reports)
    return gb_seconds * PRICES["lambdaGbSecondArm"] + len(reports) * PRICES["lambdaRequest"], gb_seconds


def dynamodb_units(calls):
    """calls: the executor's records of the request's AWS calls: (read units, write units)."""
    reads = writes = 0
    for call in calls:
        service, _, operation = call.get("call", "").partition(":")
        if service != "dynamodb":
            continue
        if operation == "TransactWriteItems":
            writes += TRANSACTION_UNITS * max(1, len(call.get("requests", [])))
        elif operation in WRITES:
            writes += WRITES[operation]
        elif operation in READS:
            reads += READS[operation]
    return reads, writes


def request_cost(usage):
    """The cost of one request from its usage: (all of it, all but the SMS and emails)."""
    lambda_cost, _ = lambda_usd(usage["reports"], usage["memoryMb"])
    reads, writes = dynamodb_units(usage["calls"])
    platform = (
        lambda_cost
        + usage["transitions"] * PRICES["stateTransition"]
        + reads * PRICES["dynamodbReadUnit"]
        + writes * PRICES["dynamodbWriteUnit"]
        + usage["apiCalls"] * (PRICES["apiGatewayRestRequest"] + PRICES["xrayTraceRecorded"])
        + usage["logBytes"] / 1e9 * PRICES["logsIngestedGb"]
        + usage["rounds"] * PRICES["putMetricDataRequest"]
    )
    messages = usage["sms"] * PRICES["smsToChina"] + usage["emails"] * PRICES["sesEmail"]
    return platform + messages, platform


def fixed_monthly(template_text):
    """The template's resources that cost by the month: alarms, the dashboard, KMS keys,
    secrets, and the custom metrics the stack emits."""
    count = lambda kind: len(re.findall(rf"^\s+Type: {re.escape(kind)}\s*$", template_text, re.M))
    metrics = len(set(re.findall(r"MetricName: (\w+)", template_text)) - {
        "ExecutionsFailed", "Errors", "Throttles", "5XXError", "Latency", "IteratorAge"})
    return (
        count("AWS::CloudWatch::Alarm") * PRICES["alarm"]
        + count("AWS::CloudWatch::Dashboard") * PRICES["dashboard"]
        + count("AWS::KMS::Key") * PRICES["kmsKey"]
        + count("AWS::SecretsManager::Secret") * PRICES["secret"]
        + metrics * PRICES["customMetric"]
    )


def memory_sizes(template_text, names):
    """Each function's MemorySize: its own, else the Globals' (128 MB by default)."""
    default = int((re.search(r"Globals:.*?MemorySize: (\d+)", template_text, re.S) or [None, 128])[1])
    sizes = {}
    for name in names:
        block = re.search(rf"CodeUri: \.\./target/lambda/{re.escape(name)}/(.*?)(?:\n  \S|\Z)", template_text, re.S)
        own = re.search(r"MemorySize: (\d+)", block.group(1)) if block else None
        sizes[name] = int(own.group(1)) if own else default
    return sizes


def monthly(costs, template_text, requests=10_000):
    """10,000 requests a month, spread evenly over the types, and the fixed costs."""
    variable = requests * sum(costs.values()) / len(costs)
    fixed = fixed_monthly(template_text)
    return {"requests": requests, "variable": round(variable, 2), "fixed": round(fixed, 2),
            "total": round(variable + fixed, 2)}


def read_calls(path: Path, since: int):
    if not path.exists():
        return []
    with path.open("rb") as f:
        f.seek(since)
        return [json.loads(line) for line in f.read().decode(errors="replace").splitlines() if line.strip()]

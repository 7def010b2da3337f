#!/usr/bin/env python3
"""Smoke-test function: a custom runtime (provided.al2023) speaking the Lambda Runtime API.

The event's "action" picks the behaviour: echo (default), sleep, fail (handled error), exit
(runtime crash), ddb-get (reads an item through AWS_ENDPOINT_URL, as an SDK would). API Gateway
proxy events get a proxy response.
"""

import json
import os
import sys
import time
import urllib.request

API = f"http://{os.environ['AWS_LAMBDA_RUNTIME_API']}/2018-06-01/runtime/invocation"


def post(url: str, body: dict) -> None:
    urllib.request.urlopen(urllib.request.Request(url, json.dumps(body).encode(), method="POST"))


def ddb_get(table: str, key: dict) -> dict:
    # LocalStack reads account and region from the credential scope and does not check signatures.
    access_key, region = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_REGION"]
    scope = f"{access_key}/20250101/{region}/dynamodb/aws4_request"
    authorization = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"
    request = urllib.request.Request(
        os.environ["AWS_ENDPOINT_URL"],
        json.dumps({"TableName": table, "Key": key}).encode(),
        {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.GetItem",
            "Authorization": authorization,
        },
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


print(f"init pid={os.getpid()}", flush=True)
while True:
    with urllib.request.urlopen(f"{API}/next") as response:  # long poll, no timeout
        request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
        event = json.loads(response.read() or b"{}")
    action = event.get("action", "echo")
    print(f"handling {request_id} action={action}", flush=True)
    if action == "fail":
        post(
            f"{API}/{request_id}/error",
            {"errorType": "SmokeError", "errorMessage": "asked to fail"},
        )
        continue
    if action == "exit":
        print("exiting on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
    result = {"event": event, "pid": os.getpid()}
    if action == "sleep":
        time.sleep(event["seconds"])
    elif action == "ddb-get":
        result["item"] = ddb_get(event["table"], event["key"]).get("Item")
    elif action == "echo":
        result["env"] = {
            name: os.environ.get(name)
            for name in (
                "GREETING",
                "LAMBDA_TASK_ROOT",
                "AWS_ENDPOINT_URL",
                "AWS_LAMBDA_FUNCTION_NAME",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                "AWS_LAMBDA_FUNCTION_VERSION",
                "AWS_REGION",
            )
        }
        result["cwd"] = os.getcwd()
    if "httpMethod" in event:
        result = {
            "statusCode": 200,
            "body": json.dumps({"path": event["path"], "body": event["body"]}),
        }
    post(f"{API}/{request_id}/response", result)

"""Smoke test of the local stack: start, DynamoDB, a provided.al2023 Lambda run by the
local-process executor (sync, concurrent, error, timeout, crash, logs), Step Functions, a SAM
template deployed through CloudFormation with a REST API, stop.

Run through ../smoke.sh (LocalStack venv python). Prints one line per check, then
"smoke: N passed, M failed"; exits non-zero on any failure.
"""

import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

LOCAL_DIR = Path(__file__).resolve().parent.parent
ROOT = LOCAL_DIR.parent.parent
REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/smoke-lambda"
FUNCTION = "smoke-fn"
TABLE = "smoke"
TIMEOUT = 3  # the function's timeout, seconds

os.environ.update(
    AWS_ACCESS_KEY_ID="test",
    AWS_SECRET_ACCESS_KEY="test",
    AWS_DEFAULT_REGION=REGION,
    AWS_ENDPOINT_URL="http://127.0.0.1:4566",
)
passed, failed = 0, 0


def check(name: str):
    def run(fn):
        global passed, failed
        started = time.monotonic()
        try:
            detail = fn()
        except Exception as e:
            failed += 1
            print(f"FAIL - {name}: {type(e).__name__}: {e}", flush=True)
        else:
            passed += 1
            print(
                f"ok - {name} ({time.monotonic() - started:.2f}s){f': {detail}' if detail else ''}",
                flush=True,
            )

    return run


def client(service: str, **config):
    return boto3.client(service, config=Config(**config))


def invoke(payload: dict) -> tuple[dict, str | None]:
    """Returns (payload, FunctionError)."""
    response = lam.invoke(FunctionName=FUNCTION, Payload=json.dumps(payload).encode())
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def our_processes() -> list[int]:
    marker = f"ICP_LOCAL_ROOT={ROOT}".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker in proc.joinpath("environ").read_bytes().split(b"\0"):
                pids.append(int(proc.name))
        except OSError:
            pass
    return pids


def port_open() -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", 4566)) == 0


@check("start")
def _():
    subprocess.run([LOCAL_DIR / "start.sh"], check=True)


ddb = client("dynamodb")
lam = client("lambda", retries={"total_max_attempts": 1}, read_timeout=120)
sfn = client("stepfunctions")
logs = client("logs")


@check("dynamodb table, put and get")
def _():
    ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 1})
    ddb.put_item(TableName=TABLE, Item={"pk": {"S": "k1"}, "v": {"N": "42"}})
    item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "k1"}}, ConsistentRead=True)["Item"]
    assert item["v"] == {"N": "42"}, item


@check("create provided.al2023 function (bootstrap zipped without its executable bit)")
def _():
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        entry = zipfile.ZipInfo("bootstrap")
        entry.external_attr = 0o644 << 16  # the executor must chmod +x it
        archive.writestr(entry, (LOCAL_DIR / "smoke" / "bootstrap.py").read_bytes())
    lam.create_function(
        FunctionName=FUNCTION,
        Runtime="provided.al2023",
        Handler="bootstrap",
        Role=ROLE,
        Code={"ZipFile": code.getvalue()},
        Timeout=TIMEOUT,
        MemorySize=256,
        Environment={"Variables": {"GREETING": "hello"}},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName=FUNCTION, WaiterConfig={"Delay": 1})


@check("sync invoke, environment of the process")
def _():
    started = time.monotonic()
    result, error = invoke({"action": "echo", "n": 1})
    cold = time.monotonic() - started
    assert error is None, result
    env = result["env"]
    assert result["event"] == {"action": "echo", "n": 1}, result
    assert env["GREETING"] == "hello" and env["AWS_LAMBDA_FUNCTION_NAME"] == FUNCTION, env
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566", env
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" and env["AWS_REGION"] == REGION, env
    assert (
        env["LAMBDA_TASK_ROOT"] == result["cwd"]
        and Path(env["LAMBDA_TASK_ROOT"], "bootstrap").is_file()
    ), env
    started = time.monotonic()
    invoke({"action": "echo"})
    warm = time.monotonic() - started
    return f"cold {cold * 1000:.0f} ms, warm {warm * 1000:.0f} ms, code in {result['cwd']}"


@check("function reaches DynamoDB through AWS_ENDPOINT_URL")
def _():
    result, error = invoke({"action": "ddb-get", "table": TABLE, "key": {"pk": {"S": "k1"}}})
    assert error is None and result["item"]["v"] == {"N": "42"}, result


@check("5 concurrent invokes run in 5 processes")
def _():
    with ThreadPoolExecutor(5) as pool:
        results = list(
            pool.map(lambda i: invoke({"action": "sleep", "seconds": 1, "i": i}), range(5))
        )
    assert all(error is None for _, error in results), results
    assert sorted(r["event"]["i"] for r, _ in results) == list(range(5)), results
    pids = {r["pid"] for r, _ in results}
    assert len(pids) == 5, pids


@check("handled error")
def _():
    result, error = invoke({"action": "fail"})
    assert error == "Unhandled" and result["errorType"] == "SmokeError", (error, result)


@check("timeout kills the process; next invoke starts a fresh one")
def _():
    started = time.monotonic()
    result, error = invoke({"action": "sleep", "seconds": 30})
    elapsed = time.monotonic() - started
    assert error == "Unhandled" and result["errorType"] == "Sandbox.Timedout", (error, result)
    assert TIMEOUT <= elapsed < TIMEOUT + 3, elapsed
    result, error = invoke({"action": "echo"})
    assert error is None, result
    return f"timed out after {elapsed:.2f}s"


@check("runtime crash reports Runtime.ExitError; next invoke works")
def _():
    result, error = invoke({"action": "exit"})
    assert error == "Unhandled" and result["errorType"] == "Runtime.ExitError", (error, result)
    result, error = invoke({"action": "echo"})
    assert error is None, result


@check("logs in CloudWatch Logs and in .local/logs")
def _():
    group = f"/aws/lambda/{FUNCTION}"
    for _ in range(50):  # LocalStack stores logs asynchronously
        messages = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        if any("Task timed out" in m for m in messages) and any(
            "exiting on purpose" in m for m in messages
        ):
            break
        time.sleep(0.2)
    assert any(m.startswith("handling ") for m in messages), messages
    assert any(m.startswith("REPORT RequestId") for m in messages), messages
    assert any("Task timed out" in m for m in messages), messages
    assert any("exiting on purpose" in m for m in messages), messages
    text = (ROOT / ".local" / "logs" / f"{FUNCTION}.log").read_text()
    assert "handling " in text and "END RequestId" in text, text[-2000:]


@check("step functions: lambda:invoke, Catch on errorType, SUCCEEDED")
def _():
    function_arn = lam.get_function(FunctionName=FUNCTION)["Configuration"]["FunctionArn"]
    definition = {
        "StartAt": "Echo",
        "States": {
            "Echo": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {
                    "FunctionName": function_arn,
                    "Payload": {"action": "echo", "from": "sfn"},
                },
                "ResultSelector": {"from.$": "$.Payload.event.from"},
                "Next": "Fail",
            },
            "Fail": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function_arn, "Payload": {"action": "fail"}},
                "Catch": [
                    {"ErrorEquals": ["SmokeError"], "ResultPath": "$.caught", "Next": "Done"}
                ],
                "Next": "Done",
            },
            "Done": {"Type": "Pass", "End": True},
        },
    }
    machine = sfn.create_state_machine(
        name="smoke",
        definition=json.dumps(definition),
        roleArn="arn:aws:iam::000000000000:role/smoke-sfn",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
    for _ in range(120):
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            break
        time.sleep(0.25)
    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["from"] == "sfn" and output["caught"]["Error"] == "SmokeError", output


@check("SAM template (CodeUri directory): cloudformation package, CloudFormation, REST API")
def _():
    venv_bin = Path(sys.executable).parent
    s3 = client("s3")
    s3.create_bucket(Bucket="smoke-artifacts")
    with tempfile.TemporaryDirectory() as work:
        shutil.copy(LOCAL_DIR / "smoke" / "sam-template.yaml", f"{work}/template.yaml")
        os.mkdir(f"{work}/fn")
        shutil.copy(LOCAL_DIR / "smoke" / "bootstrap.py", f"{work}/fn/bootstrap")
        os.chmod(f"{work}/fn/bootstrap", 0o755)
        package = subprocess.run(
            [
                venv_bin / "aws",
                "cloudformation",
                "package",
                "--template-file",
                "template.yaml",
                "--s3-bucket",
                "smoke-artifacts",
                "--output-template-file",
                "packaged.yaml",
            ],
            cwd=work,
            capture_output=True,
            text=True,
        )
        assert package.returncode == 0, package.stderr
        template = Path(f"{work}/packaged.yaml").read_text()
    cfn = client("cloudformation")
    cfn.create_stack(
        StackName="smoke",
        TemplateBody=template,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    # boto3's waiter with a short delay: awscli's `cloudformation deploy` polls every 30 s.
    cfn.get_waiter("stack_create_complete").wait(
        StackName="smoke", WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    outputs = cfn.describe_stacks(StackName="smoke")["Stacks"][0]["Outputs"]
    api_id = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ApiId")
    request = urllib.request.Request(
        f"http://127.0.0.1:4566/_aws/execute-api/{api_id}/Prod/echo",
        b'{"hi":1}',
        {"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        body = json.loads(response.read())
    assert body == {"path": "/echo", "body": '{"hi":1}'}, body


@check("stop: nothing listens on 4566, no process of ours remains, state removed")
def _():
    bootstraps = [
        p for p in our_processes() if "bootstrap" in Path(f"/proc/{p}/cmdline").read_text()
    ]
    assert bootstraps, "expected running bootstrap processes before stop"
    subprocess.run([LOCAL_DIR / "stop.sh"], check=True)
    assert not port_open(), "something still listens on 4566"
    assert not our_processes(), our_processes()
    assert not (ROOT / ".local" / "localstack").exists()
    return f"{len(bootstraps)} bootstrap processes were running"


print(f"smoke: {passed} passed, {failed} failed", flush=True)
if failed:
    subprocess.run([LOCAL_DIR / "stop.sh"], check=False)
sys.exit(1 if failed else 0)

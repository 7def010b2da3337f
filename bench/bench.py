"""`make bench`, on a running local stack (bench/run.sh brings it up): measures every function
against the hello-world baseline deployed beside it, in the same run, and writes
bench/results.json (the shape in the design notes) and bench/results.md, which the README links to.

Every loop is capped in count and time; all traffic goes to 127.0.0.1.
"""

import concurrent.futures
import importlib.metadata
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
import uuid
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "infra" / "local"))
from api_client import ApiClient  # noqa: E402 (the one Python client of the stack's API)
import cost  # noqa: E402 (bench/cost.py: prices and the cost model)
STATE_DIR = ROOT / ".local"
LOG_DIR = STATE_DIR / "logs"
TARGET_DIR = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release"

COLD_ROUNDS = 5
COLD_WARM_CALLS = 3
WARM_SAMPLES = 300
# The calls people click, each timed beside a `GET /hello`, one at a time: the workflow each
# starts runs to its next wait before the next sample, so it never shares the cores with one.
CLICK_SAMPLES = 30
ORCHESTRATION_SAMPLES = 10
LOAD_SUBMITS = 200
# LocalStack host mode on 2 cores cannot start 200 execution environments at once within a
# function's timeout (measured: every one of 200 simultaneous submits timed out, init 11 s).
# With the task-token waits, 25 in flight also failed (steps timed out in their sandboxes: every
# workflow keeps more environments busy); 10 is what these two cores carry.
LOAD_IN_FLIGHT = 10
# More than two cores carry: the platform saturates, and requests must wait, not fail.
OVERLOAD_IN_FLIGHT = 25
LOAD_RETRIES = 3
WEBSITES_PER_ENTITY = 10
PASSWORD = "Bench-Filing-2026"
WAIT_SECONDS = 60
LOAD_DRAIN_SECONDS = 30 * 60

GOALS = {
    "coldStartRatio": 1.2,
    "coldPenaltyRatio": 1.5,
    "platformCostPerRequestUsd": 0.0005,
    "getRequestRatio": 1.3,
    "clickRatio": 3,
    "transitionsPerRequest": 8,
    "orchestrationRatio": 3,
    "zipBytes": 5_000_000,
    "maxRssKb": 32_768,
}
REPORT_FIELD = re.compile(r"(Duration|Init Duration|Max RSS): ([0-9.]+)")


def log(message):
    print(f"bench: {message}", file=sys.stderr, flush=True)


def percentile(samples, fraction):
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def ms(seconds):
    return round(seconds * 1000, 2)


def eventually(what, check, timeout=WAIT_SECONDS, interval=0.1):
    """Polls `check` until it returns a truthy value, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(interval)
    sys.exit(f"bench: {what} not within {timeout}s")


class FunctionLog:
    """The local executor's log of one function (.local/logs/<name>.log), read from an offset."""

    def __init__(self, function_name):
        self.path = LOG_DIR / f"{function_name}.log"

    def offset(self):
        return self.path.stat().st_size if self.path.exists() else 0

    def reports(self, since=0):
        """REPORT lines after `since`: [(timestamp, {field: value})]."""
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        found = []
        for line in text.splitlines():
            if "\tREPORT RequestId:" not in line and " REPORT RequestId:" not in line:
                continue
            stamp = datetime.fromisoformat(line.split(" ", 1)[0]).timestamp()
            found.append((stamp, {k: float(v) for k, v in REPORT_FIELD.findall(line)}))
        return found


SPAN_TIME = re.compile(r"^([0-9.]+)(ns|µs|us|ms|s)$")
SPAN_UNITS = {"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1000.0}


def span_ms(text):
    match = SPAN_TIME.match(text or "")
    return float(match.group(1)) * SPAN_UNITS[match.group(2)] if match else 0.0


def aws_calls(function_log, since):
    """The AWS calls each invocation in `function_log` after `since` made: [[(call, ms)]], from
    the lines the functions log when an SDK operation's span closes (`telemetry`)."""
    if not function_log.path.exists():
        return []
    with function_log.path.open("rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    invocations, current = [], None
    for line in text.splitlines():
        if " START RequestId:" in line:
            current = []
        elif " END RequestId:" in line and current is not None:
            invocations.append(current)
            current = None
        elif current is not None and '"message":"close"' in line:
            event = json.loads(line[line.index("{"):])
            span = event.get("span", {})
            if "rpc.service" in span:
                fields = event.get("fields", {})
                current.append((span.get("name", "?"), span_ms(fields.get("time.busy")) + span_ms(fields.get("time.idle"))))
    return invocations


def route_calls(invocations):
    """What the calls of one route spend in AWS: the median sum per call, and the calls the
    typical call makes, in order."""
    if not invocations:
        return {"awsMsP50": None, "calls": []}
    sums = [sum(ms_ for _, ms_ in calls) for calls in invocations]
    typical = statistics.mode(tuple(name for name, _ in calls) for calls in invocations)
    return {"awsMsP50": round(statistics.median(sums), 2), "calls": list(typical)}


class Stack:
    def __init__(self):
        self.outputs = json.loads((STATE_DIR / "stack.json").read_text())
        self.demo = json.loads((STATE_DIR / "demo.json").read_text())
        self.api = ApiClient(self.demo["apiUrl"])
        endpoint = self.outputs["localstackUrl"]
        ApiClient(endpoint)  # LocalStack too is 127.0.0.1 only
        session = boto3.session.Session(
            aws_access_key_id="test", aws_secret_access_key="test", region_name=self.outputs["region"]
        )
        self.lambdas = session.client("lambda", endpoint_url=endpoint)
        self.sfn = session.client("stepfunctions", endpoint_url=endpoint)
        self.dynamodb = session.client("dynamodb", endpoint_url=endpoint)
        self.state_machine = self.outputs["StateMachineArn"]
        self.stack_name = self.state_machine.rsplit(":", 1)[1].removesuffix("-request")

    def function_name(self, name):
        return f"{self.stack_name}-{name}"

    def call(self, method, path, token=None, body=None, headers=None):
        """(status, body, seconds) of one API call."""
        return self.api.call(method, path, token, body, headers)

    def seed(self, count):
        """`count` fresh websites (unique to this run) of entities with the bench password, seeded
        as every test and the demo are (`icp-seed`, tests/src/seed.rs): [(website id, token)]."""
        out = subprocess.run(
            [str(TARGET_DIR / "icp-seed"), "load", str(count), str(WEBSITES_PER_ENTITY), PASSWORD],
            cwd=ROOT, env={**os.environ, "ICP_LOCAL_ROOT": str(ROOT)},
            check=True, capture_output=True, text=True,
        ).stdout
        return [(site["websiteId"], site["token"]) for site in json.loads(out)]

    def submit(self, website_id, token, idempotency_key=None):
        body = {"type": "website_cancellation", "websiteId": website_id, "licensePassword": PASSWORD}
        key = idempotency_key or str(uuid.uuid4())
        return self.call("POST", "/requests", token, body, {"Idempotency-Key": key})

    def request(self, request_id, token):
        status, body, _ = self.call("GET", f"/requests/{request_id}", token)
        return body if status == 200 else None

    def wait_status(self, request_id, token, wanted):
        return eventually(
            f"request {request_id} reaching {wanted}",
            lambda: (r := self.request(request_id, token)) and r["status"] == wanted and r,
        )


# A submit's (or resubmit's) workflow tail up to first review: verify-password sends the
# "submitted" messages, first-review the reviewers' email.
TO_REVIEW = ("verify-password", "first-review")


def log_offsets(stack, names):
    """Where each function's log ends now, for `settled`."""
    return {name: FunctionLog(stack.function_name(name)).offset() for name in names}


def settled(stack, since):
    """Waits for a workflow's tail: each Lambda in `since` (its log offsets) has ended an
    invocation since, so the next call timed has the cores to itself."""
    for name, offset in since.items():
        function_log = FunctionLog(stack.function_name(name))
        eventually(f"{name} to finish", lambda: function_log.reports(offset), timeout=WAIT_SECONDS)


def first_call(stack, name, sites, read_request):
    """The call that meets a fresh execution environment of `name`: what a person (or the
    workflow) would send it. The HTTP functions through API Gateway; the steps invoked directly,
    with an empty event they answer (or refuse) after their init, as the state machine's would.
    A submit's workflow is left to reach first review before this returns, so it never shares
    the cores with the next call timed."""
    request_id, token = read_request
    calls = {
        "hello": lambda: stack.call("GET", "/hello"),
        "api": lambda: stack.call("GET", f"/requests/{request_id}", token),
        "authority-callback": lambda: stack.call("POST", "/authority/callbacks", None, {}),
        "authority-sim": lambda: stack.call("GET", f"/authority-sim/submissions?requestId={request_id}", stack.demo["operatorToken"]),
        "console": lambda: stack.call("GET", "/console/index.html"),
    }
    if name == "submit-request":
        website_id, site_token = sites.pop()
        since = log_offsets(stack, TO_REVIEW)
        began = time.perf_counter()
        status, body, _ = stack.submit(website_id, site_token)
        seconds = time.perf_counter() - began
        if status != 202:
            sys.exit(f"bench: the first call to {name} answered {status}: {body}")
        stack.wait_status(body["requestId"], site_token, "pending_first_review")
        settled(stack, since)
        return seconds
    if name in calls:
        began = time.perf_counter()
        status, _, _ = calls[name]()
        if status is None or status >= 500:
            sys.exit(f"bench: the first call to {name} answered {status}")
        return time.perf_counter() - began
    began = time.perf_counter()
    stack.lambdas.invoke(FunctionName=stack.function_name(name), Payload=b"{}")
    return time.perf_counter() - began


def cold_starts(stack, names, sites, read_request):
    """Each function on a fresh execution environment, forced as on AWS by a configuration
    change: its init duration, the time its first caller waits for the answer (what a person
    feels), and what the cold start adds to that wait (the first answer less the median of the
    same call made again warm, COLD_WARM_CALLS times). In rounds, so the baseline and the
    functions share the machine's noise."""
    inits = {name: [] for name in names}
    firsts = {name: [] for name in names}
    penalties = {name: [] for name in names}
    for round_ in range(COLD_ROUNDS):
        for name in names:
            function_name = stack.function_name(name)
            config = stack.lambdas.get_function_configuration(FunctionName=function_name)
            variables = {**config.get("Environment", {}).get("Variables", {}), "BENCH_COLD_START": f"{round_}-{uuid.uuid4().hex}"}
            stack.lambdas.update_function_configuration(FunctionName=function_name, Environment={"Variables": variables})
            eventually(
                f"{function_name} configuration update",
                lambda: stack.lambdas.get_function_configuration(FunctionName=function_name).get("LastUpdateStatus") == "Successful",
            )
            function_log = FunctionLog(function_name)
            since = function_log.offset()
            first = first_call(stack, name, sites, read_request)
            found = [r["Init Duration"] for _, r in eventually(
                f"{function_name}'s REPORT line", lambda: function_log.reports(since), timeout=10) if "Init Duration" in r]
            warm_again = [first_call(stack, name, sites, read_request) for _ in range(COLD_WARM_CALLS)]
            firsts[name].append(first)
            penalties[name].append(first - statistics.median(warm_again))
            if found:
                inits[name].append(found[0])
        log(f"cold starts: round {round_ + 1}/{COLD_ROUNDS}")
    median = lambda samples: {name: round(statistics.median(s), 2) for name, s in samples.items() if s}
    seconds = lambda samples: {name: ms(statistics.median(s)) for name, s in samples.items() if s}
    return median(inits), seconds(firsts), seconds(penalties)


def orchestration(stack, websites):
    """Client send → end of the last Lambda on the path to `pending_first_review` (submit-request,
    start-workflow from the table's stream, then verify-password, which writes that status),
    against the sum of those Lambdas' durations (the local executor's REPORT lines), one request
    at a time."""
    logs = [FunctionLog(stack.function_name(n)) for n in ("submit-request", "start-workflow", "verify-password")]
    walls, sums = [], []
    for website_id, token in websites:
        offsets = [fl.offset() for fl in logs]
        sent = time.time()
        status, body, _ = stack.submit(website_id, token)
        if status != 202:
            sys.exit(f"bench: submit answered {status}: {body}")
        stack.wait_status(body["requestId"], token, "pending_first_review")
        reports = [eventually(f"{fl.path.name} REPORT", lambda fl=fl, o=o: fl.reports(o), timeout=10) for fl, o in zip(logs, offsets)]
        walls.append(max(stamp for r in reports for stamp, _ in r) - sent)
        sums.append(sum(fields["Duration"] for r in reports for _, fields in r) / 1000)
    wall, lambda_sum = statistics.median(walls), statistics.median(sums)
    return {"submitToReviewMs": ms(wall), "lambdaSumMs": ms(lambda_sum), "ratio": round(wall / lambda_sum, 2)}


def warm(stack, read_request):
    """Warm `GET /requests/{id}` against `GET /hello`, interleaved; beside them the same read of a
    request that does not exist, whose one `GetItem` finds nothing: the floor of a read that
    must ask DynamoDB."""
    request_id, token = read_request
    absent = f"/requests/req-{uuid.uuid4().hex}"
    calls = {
        "hello": (lambda: stack.call("GET", "/hello"), 200),
        "read": (lambda: stack.call("GET", f"/requests/{request_id}", token), 200),
        "absent": (lambda: stack.call("GET", absent, token), 404),
    }
    for _ in range(20):  # warm every path up
        for call, _ in calls.values():
            call()
    samples = {what: [] for what in calls}
    for _ in range(WARM_SAMPLES):  # interleaved, so all see the same noise
        for what, (call, expected) in calls.items():
            status, _, seconds = call()
            assert status == expected, (what, status)
            samples[what].append(seconds)
    hello, reads = samples["hello"], samples["read"]
    hello_p50, get_p50, absent_p50 = (statistics.median(samples[what]) for what in ("hello", "read", "absent"))
    return {
        "helloP50Ms": ms(hello_p50), "helloP99Ms": ms(percentile(hello, 0.99)),
        "getRequestP50Ms": ms(get_p50), "getRequestP99Ms": ms(percentile(reads, 0.99)),
        "getRequestRatio": round(get_p50 / hello_p50, 2),
        "absentRequestP50Ms": ms(absent_p50),
        "absentRequestRatio": round(absent_p50 / hello_p50, 2),
    }


def progress(what, i):
    if (i + 1) % 10 == 0:
        log(f"clicks: {what} {i + 1}/{CLICK_SAMPLES}")


def clicks(stack, sites):
    """The calls people wait on: submit, the reviewer's decision, Modify and Submit, each timed
    beside a `GET /hello` just before it, then left to run its workflow to the next wait before
    the next sample (so no workflow shares the cores with a timed call). Submit on fresh
    websites; the decisions on the requests those submits brought to review; the resubmits on
    requests first rejected for a wrong password. With each, the AWS calls its function made."""
    reviewer = stack.demo["reviewerToken"]
    serving = {"submit": "submit-request", "decision": "api", "resubmit": "api"}
    timed = {what: {"hello": [], "calls": [], "aws": []} for what in serving}

    def sample(what, call, expect):
        samples = timed[what]
        status, _, seconds = stack.call("GET", "/hello")
        assert status == 200, status
        samples["hello"].append(seconds)
        function_log = FunctionLog(stack.function_name(serving[what]))
        since = function_log.offset()
        status, body, seconds = call()
        if status != expect:
            sys.exit(f"bench: {what} answered {status}: {body}")
        samples["calls"].append(seconds)
        # Nothing else calls that function until the sample's workflow is waited for.
        samples["aws"].append(eventually(f"{what}'s invocation in the log", lambda: aws_calls(function_log, since), timeout=10)[0])
        return body

    for _ in range(3):  # the functions warm
        stack.call("GET", "/hello")
    reviewed = []
    for i, (website_id, token) in enumerate(sites[:CLICK_SAMPLES]):
        since = log_offsets(stack, TO_REVIEW)
        body = sample("submit", lambda: stack.submit(website_id, token), 202)
        stack.wait_status(body["requestId"], token, "pending_first_review")
        settled(stack, since)
        reviewed.append((body["requestId"], token))
        progress("submit", i)
    for i, (request_id, token) in enumerate(reviewed):
        since = log_offsets(stack, ("forward-to-authority",))
        sample("decision", lambda: stack.call("POST", f"/reviews/{request_id}/decision", reviewer, {"decision": "approve"}), 200)
        stack.wait_status(request_id, token, "forwarded_to_authority")
        settled(stack, since)
        progress("decision", i)
    for i, (website_id, token) in enumerate(sites[CLICK_SAMPLES:2 * CLICK_SAMPLES]):
        since = log_offsets(stack, ("verify-password",))
        _, body, _ = stack.call("POST", "/requests", token, {"type": "website_cancellation", "websiteId": website_id,
                                                              "licensePassword": "not-the-password"}, {"Idempotency-Key": str(uuid.uuid4())})
        stack.wait_status(body["requestId"], token, "password_rejected")
        # verify-password sends the rejection's SMS and email after it writes the status.
        settled(stack, since)
        since = log_offsets(stack, TO_REVIEW)
        sample("resubmit", lambda: stack.call("POST", f"/requests/{body['requestId']}/resubmit", token, {"licensePassword": PASSWORD}), 202)
        stack.wait_status(body["requestId"], token, "pending_first_review")
        settled(stack, since)
        progress("resubmit", i)
    result = {"awsCalls": {}}
    for what, samples in timed.items():
        calls, hello = samples["calls"], samples["hello"]
        result[f"{what}P50Ms"] = ms(statistics.median(calls))
        result[f"{what}P99Ms"] = ms(percentile(calls, 0.99))
        result[f"{what}HelloP50Ms"] = ms(statistics.median(hello))
        result[f"{what}Ratio"] = round(statistics.median(calls) / statistics.median(hello), 2)
        result["awsCalls"][what] = route_calls(samples["aws"])
    return result


def transitions(stack, website_id, token):
    """One request through the happy path; states entered, from its execution history."""
    status, body, _ = stack.submit(website_id, token)
    request_id = body["requestId"]
    stack.wait_status(request_id, token, "pending_first_review")
    reviewer = stack.demo["reviewerToken"]
    eventually("the reviewer's decision", lambda: stack.call("POST", f"/reviews/{request_id}/decision", reviewer, {"decision": "approve"})[0] == 200)
    forwarded = stack.wait_status(request_id, token, "forwarded_to_authority")
    status, body, _ = stack.call("POST", f"/authority-sim/submissions/{forwarded['submissionId']}/decision", stack.demo["operatorToken"], {"decision": "approved"})
    if status != 200:
        sys.exit(f"bench: the authority simulator answered {status}: {body}")
    stack.wait_status(request_id, token, "completed")
    execution = stack.state_machine.replace(":stateMachine:", ":execution:") + f":{request_id}-1"
    eventually("the execution's end", lambda: stack.sfn.describe_execution(executionArn=execution)["status"] != "RUNNING")
    events, page = [], {}
    for _ in range(20):
        answer = stack.sfn.get_execution_history(executionArn=execution, maxResults=1000, **page)
        events += answer["events"]
        if "nextToken" not in answer:
            break
        page = {"nextToken": answer["nextToken"]}
    return sum(1 for e in events if e["type"].endswith("StateEntered"))


# The functions a request's own path runs (the simulator, the sweeper's schedule, the console and
# hello are not the request's).
COST_FUNCTIONS = ("submit-request", "start-workflow", "verify-password", "first-review", "api",
                  "forward-to-authority", "authority-callback", "clear-record", "close-request")


def request_usage(stack, request_type, website_id, token):
    """What one request of `request_type` uses from its submit to its completion, run alone:
    its invocations, AWS calls, state transitions, log bytes, API calls, SMS and emails. Its
    status is read from the table, not through the API, so that only its own calls count."""
    logs = {name: FunctionLog(stack.function_name(name)) for name in COST_FUNCTIONS}
    offsets = {name: log.offset() for name, log in logs.items()}
    calls_log = STATE_DIR / "aws-calls.jsonl"
    calls_since = calls_log.stat().st_size if calls_log.exists() else 0

    def status_is(request_id, wanted):
        def read():
            item = stack.dynamodb.get_item(TableName=stack.outputs["RequestsTableName"],
                                           Key={"requestId": {"S": request_id}}, ConsistentRead=True).get("Item", {})
            return item.get("status", {}).get("S") == wanted and item
        return eventually(f"request {request_id} reaching {wanted}", read)

    body = {"type": request_type, "websiteId": website_id, "licensePassword": PASSWORD}
    if request_type == "access_change":
        body["serviceIps"] = ["198.51.100.200"]
    status, answer, _ = stack.call("POST", "/requests", token, body, {"Idempotency-Key": str(uuid.uuid4())})
    if status != 202:
        sys.exit(f"bench: the {request_type} submit answered {status}: {answer}")
    request_id = answer["requestId"]
    status_is(request_id, "pending_first_review")
    status, answer, _ = stack.call("POST", f"/reviews/{request_id}/decision", stack.demo["reviewerToken"], {"decision": "approve"})
    if status != 200:
        sys.exit(f"bench: the decision answered {status}: {answer}")
    item = status_is(request_id, "forwarded_to_authority")
    submission = item["submissionId"]["S"]
    status, answer, _ = stack.call("POST", f"/authority-sim/submissions/{submission}/decision", stack.demo["operatorToken"], {"decision": "approved"})
    if status != 200:
        sys.exit(f"bench: the authority simulator answered {status}: {answer}")
    status_is(request_id, "completed")
    execution = stack.state_machine.replace(":stateMachine:", ":execution:") + f":{request_id}-1"
    eventually("the execution's end", lambda: stack.sfn.describe_execution(executionArn=execution)["status"] != "RUNNING")
    settled(stack, {name: offsets[name] for name in ("clear-record",)})
    events = stack.sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    own = {stack.function_name(name) for name in COST_FUNCTIONS}
    notifications = stack.dynamodb.scan(
        TableName=stack.outputs["NotificationsTableName"],
        FilterExpression="begins_with(notificationId, :id)",
        ExpressionAttributeValues={":id": {"S": request_id}},
    ).get("Items", [])
    channels = [n["notificationId"]["S"].rsplit("#", 1)[-1] for n in notifications]
    return {
        "reports": [(name, r) for name, log in logs.items() for _, r in log.reports(offsets[name])],
        "memoryMb": cost.memory_sizes((ROOT / "infra/template.yaml").read_text(), COST_FUNCTIONS),
        "calls": [c for c in cost.read_calls(calls_log, calls_since) if c.get("function") in own],
        "transitions": sum(1 for e in events if e["type"].endswith("StateEntered")),
        "rounds": sum(1 for e in events if e.get("stateEnteredEventDetails", {}).get("name") == "CountRound"),
        # The customer's submit, the reviewer's decision, the authority's callback.
        "apiCalls": 3,
        "logBytes": sum(log.path.stat().st_size - offsets[name] for name, log in logs.items() if log.path.exists()),
        "sms": sum(1 for c in channels if c.startswith("sms")),
        "emails": sum(1 for c in channels if c.startswith("email")),
    }


def costs(stack, sites):
    """The cost of one completed request of each type, all of it and the platform's alone (all
    but the SMS and emails), and of 10,000 requests a month with the fixed costs."""
    per_request, platform, usages = {}, {}, {}
    for request_type, (website_id, token) in zip(("website_cancellation", "access_cancellation", "access_change"), sites):
        usage = request_usage(stack, request_type, website_id, token)
        per_request[request_type], platform[request_type] = cost.request_cost(usage)
        reads, writes = cost.dynamodb_units(usage["calls"])
        usages[request_type] = {"invocations": len(usage["reports"]), "gbSeconds": round(cost.lambda_usd(usage["reports"], usage["memoryMb"])[1], 4),
                                "transitions": usage["transitions"], "readUnits": reads, "writeUnits": writes,
                                "logBytes": usage["logBytes"], "sms": usage["sms"], "emails": usage["emails"]}
    template = (ROOT / "infra/template.yaml").read_text()
    return {
        "costPerRequestUsd": {t: round(v, 6) for t, v in per_request.items()},
        "platformCostPerRequestUsd": {t: round(v, 7) for t, v in platform.items()},
        "monthlyUsd": cost.monthly(per_request, template),
        "prices": {k: cost.PRICES[k] for k in ("region", "date", "source")},
        "costUsage": usages,
    }


def load(stack, websites, in_flight):
    """Every submit on its own website, `in_flight` at a time, each retried as a client should
    (same Idempotency-Key, backoff) on 429, 5xx and no answer in time; then waits, up to
    LOAD_DRAIN_SECONDS, until every request accepted reached review (or ended `failed`).
    Errors are the submits that never got their 202; `parkedRequests` those whose execution
    waited at least one round past a step's retries."""
    def one(site):
        key = str(uuid.uuid4())
        began = time.perf_counter()
        for retry in range(LOAD_RETRIES + 1):
            if retry:
                time.sleep(2 ** (retry - 1))  # 1, 2, 4 s between the attempts
            status, answer, _ = stack.submit(*site, idempotency_key=key)
            if status is not None and status != 429 and status < 500:
                break
        return status, answer, time.perf_counter() - began

    began = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=in_flight) as pool:
        results = list(pool.map(one, websites))
    seconds = time.perf_counter() - began
    accepted = [(answer["requestId"], site[1]) for site, (status, answer, _) in zip(websites, results) if status == 202]
    errors = len(results) - len(accepted)
    if errors:
        codes = sorted({str(status) for status, _, _ in results if status != 202})
        log(f"load: {errors} submits failed (HTTP {codes})")
    waiting, failed = set(accepted), set()
    drained = None
    deadline = time.monotonic() + LOAD_DRAIN_SECONDS
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        while waiting and time.monotonic() < deadline:
            states = list(pool.map(lambda item: (item, stack.request(*item)), list(waiting)))
            # Ended short of review (failed, or refused): no use waiting for those.
            failed |= {item for item, r in states if r and r["status"] in ("failed", "password_rejected", "withdrawn")}
            waiting -= {item for item, r in states if r and r["status"] == "pending_first_review"}
            waiting -= failed
            if waiting:
                time.sleep(1)
                if len(waiting) % 20 == 0:
                    log(f"load: {len(waiting)} not at review yet")
            else:
                drained = time.perf_counter() - began
    # Where each request short of review stands: its status and its last history entry.
    stragglers = []
    for request_id, token in sorted(waiting | failed):
        request = stack.request(request_id, token) or {}
        last = (request.get("history") or [{}])[-1]
        stragglers.append({"requestId": request_id, "status": request.get("status"),
                           "last": f"{last.get('at')} {last.get('actor')}: {last.get('note')}"})
        log(f"load: {request_id} short of review: {request.get('status')}, last {stragglers[-1]['last']}")
    parked = sum(1 for request_id, _ in accepted if waited_a_round(stack, request_id))
    return {
        "submits": len(websites), "inFlight": in_flight, "seconds": round(seconds, 2),
        "perSecond": round(len(websites) / seconds, 1),
        "p99Ms": ms(percentile([s for _, _, s in results], 0.99)), "errors": errors,
        "reachedReview": len(accepted) - len(waiting) - len(failed), "failed": len(failed),
        "parkedRequests": parked,
        "drainSeconds": round(drained, 1) if drained is not None else None,
        "stragglers": stragglers,
    }


def waited_a_round(stack, request_id):
    """Whether the request's first attempt waited a round (entered a `<Step>Later` state)."""
    arn = f"{stack.state_machine.replace(':stateMachine:', ':execution:')}:{request_id}-1"
    pages = stack.sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
    return any(
        e.get("stateEnteredEventDetails", {}).get("name", "").endswith("Later")
        for page in pages for e in page["events"]
    )


def artifacts(stack, names):
    """Each function's bootstrap zipped as `cargo lambda build` and `sam package` zip it, and the
    peak resident memory any of its processes reached during the run."""
    found = {}
    for name in names:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
            z.write(TARGET_DIR / name, "bootstrap")
        rss = [r["Max RSS"] for _, r in FunctionLog(stack.function_name(name)).reports() if "Max RSS" in r]
        found[name] = {"zipBytes": len(buffer.getvalue()), "maxRssKb": int(max(rss)) if rss else None}
    return found


def password_cost():
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "icp-domain", "--example", "password_cost"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    cost = json.loads(out)
    return cost["parameters"], cost["verifyMs"]


def machine():
    cores = os.cpu_count()
    memory_kb = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
    localstack = importlib.metadata.version("localstack-core")
    return f"{cores} cores, {round(memory_kb / 1024 ** 2)} GB, LocalStack {localstack} host mode"


def table(results):
    """The Markdown table: each figure beside its goal."""
    def met(ok):
        return "yes" if ok else "**no**"

    rows = ["| Measure | Figure | Goal | Met |", "|---|---|---|---|"]
    hello = results["coldStartMs"]["hello"]
    for name, ratio in results["coldStartRatio"].items():
        rows.append(f"| cold start `{name}` (init) | {results['coldStartMs'][name]} ms = {ratio}× hello ({hello} ms) | ≤ 1.2× | {met(ratio <= GOALS['coldStartRatio'])} |")
    hello_first = results["coldFirstResponseMs"]["hello"]
    penalty = results["coldPenaltyMs"]
    for name, ratio in results["coldPenaltyRatio"].items():
        first = f"first answer {results['coldFirstResponseMs'][name]} ms ({results['coldFirstResponseRatio'][name]}× hello's {hello_first} ms)"
        rows.append(f"| what a cold start adds, `{name}` | {penalty[name]} ms = {ratio}× hello's {penalty['hello']} ms; {first} | ≤ 1.5× | {met(ratio <= GOALS['coldPenaltyRatio'])} |")
    w = results["warm"]
    rows.append(f"| warm `GET /requests/{{id}}` p50 / p99 | {w['getRequestP50Ms']} / {w['getRequestP99Ms']} ms = {w['getRequestRatio']}× `GET /hello` ({w['helloP50Ms']} ms) | ≤ 1.3× | {met(w['getRequestRatio'] <= GOALS['getRequestRatio'])} |")
    rows.append(f"| … the same read of an absent request (one `GetItem` that finds nothing) p50 | {w['absentRequestP50Ms']} ms = {w['absentRequestRatio']}× `GET /hello` | — | |")
    for what, route in (("submit", "POST /requests"), ("decision", "POST /reviews/{id}/decision"), ("resubmit", "POST /requests/{id}/resubmit")):
        ratio = w[f"{what}Ratio"]
        rows.append(f"| warm `{route}` p50 / p99 | {w[f'{what}P50Ms']} / {w[f'{what}P99Ms']} ms = {ratio}× `GET /hello` ({w[f'{what}HelloP50Ms']} ms) | ≤ 3× | {met(ratio <= GOALS['clickRatio'])} |")
        spent = w["awsCalls"][what]
        rows.append(f"| … its AWS calls, in order | {', '.join(spent['calls']) or 'none logged'}: {spent['awsMsP50']} ms p50 | — | |")
    t = results["transitionsPerRequest"]
    rows.append(f"| state transitions, happy path | {t} | ≤ {GOALS['transitionsPerRequest']} | {met(t <= GOALS['transitionsPerRequest'])} |")
    o = results["orchestration"]
    rows.append(f"| submit → `pending_first_review` | {o['submitToReviewMs']} ms = {o['ratio']}× the Lambdas' {o['lambdaSumMs']} ms | ≤ 3× | {met(o['ratio'] <= GOALS['orchestrationRatio'])} |")
    for key in ("load", "overload"):
        l = results[key]
        all_there = l["errors"] == 0 and l["failed"] == 0 and l["reachedReview"] == l["submits"]
        rows.append(f"| {key}: {l['submits']} submits, {l['inFlight']} in flight | {l['perSecond']}/s, p99 {l['p99Ms']} ms; {l['errors']} errors, {l['reachedReview']} reached review in {l['drainSeconds']} s, {l['parkedRequests']} waited a round, {l['failed']} failed | 0 errors, 0 failed, all reach review | {met(all_there)} |")
    for request_type, usd in results["costPerRequestUsd"].items():
        platform = results["platformCostPerRequestUsd"][request_type]
        rows.append(f"| cost of one `{request_type}` on AWS | ${usd:.4f} (the platform, all but SMS and email: ${platform:.6f}) | platform ≤ $0.0005 | {met(platform <= GOALS['platformCostPerRequestUsd'])} |")
    m = results["monthlyUsd"]
    p = results["prices"]
    rows.append(f"| {m['requests']:,} requests a month | ${m['total']:.2f} (${m['variable']:.2f} by use, ${m['fixed']:.2f} fixed: alarms, dashboard, keys, secrets, metrics); {p['region']} list prices of {p['date']} | — | |")
    for name, a in results["artifacts"].items():
        zip_ok = a["zipBytes"] <= GOALS["zipBytes"]
        rss_ok = a["maxRssKb"] is not None and a["maxRssKb"] <= GOALS["maxRssKb"]
        rows.append(f"| `{name}` zip / max RSS | {a['zipBytes'] / 1e6:.2f} MB / {a['maxRssKb']} kB | ≤ 5 MB / ≤ 32,768 kB | {met(zip_ok and rss_ok)} |")
    m = results["makeUp"]
    rows.append(f"| `make up` cold / warm | {m['coldSeconds']} s / {m['warmSeconds']} s | — | |")
    rows.append(f"| license password check ({results['passwordParameters']}) | {results['passwordVerifyMs']} ms | — | |")
    return "\n".join(rows)


README_BEGIN = "<!-- make bench writes from here -->"
README_END = "<!-- to here -->"


def readme_figures(results):
    """What a request costs and what a cold start adds, for the README (between its markers)."""
    types = list(results["costPerRequestUsd"])
    m, p = results["monthlyUsd"], results["prices"]
    lines = [
        f"From the last `make bench` ({results['date'][:10]}; {p['region']} list prices of {p['date']}):",
        "",
        "| one completed request | " + " | ".join(f"`{t}`" for t in types) + " |",
        "|---|" + "---|" * len(types),
        "| on AWS, with its SMS and emails | " + " | ".join(f"${results['costPerRequestUsd'][t]:.4f}" for t in types) + " |",
        "| the platform alone (goal ≤ $0.0005) | " + " | ".join(f"${results['platformCostPerRequestUsd'][t]:.6f}" for t in types) + " |",
        "",
        f"{m['requests']:,} requests a month: ${m['total']:,.2f} (${m['fixed']:.2f} of it fixed: alarms, dashboard, keys, secrets, metrics).",
        f"Beside a hello-world function's answer, a warm `GET /requests/{{id}}` takes {results['warm']['getRequestRatio']}× (goal ≤ 1.3×; an absent request's, one `GetItem` that finds nothing, {results['warm']['absentRequestRatio']}×), and",
        "what a cold start adds to the first answer is (goal ≤ 1.5×): "
        + ", ".join(f"`{n}` {r}×" for n, r in results["coldPenaltyRatio"].items()) + ".",
    ]
    return "\n".join(lines)


def write_readme(results):
    readme = ROOT / "README.md"
    text = readme.read_text()
    begin, end = text.index(README_BEGIN) + len(README_BEGIN), text.index(README_END)
    readme.write_text(text[:begin] + "\n" + readme_figures(results) + "\n" + text[end:])


def main():
    stack = Stack()
    names = ["hello"] + sorted(
        {m for m in re.findall(r"target/lambda/([a-z0-9-]+)/", (ROOT / "infra/template.yaml").read_text())} - {"hello"}
    )
    make_up = json.loads((STATE_DIR / "bench-make-up.json").read_text())
    cold_submits = COLD_ROUNDS * (1 + COLD_WARM_CALLS)
    sites = stack.seed(ORCHESTRATION_SAMPLES + 1 + cold_submits + 2 * CLICK_SAMPLES + 1 + 3 + 2 * LOAD_SUBMITS)
    orchestration_sites, sites = sites[:ORCHESTRATION_SAMPLES], sites[ORCHESTRATION_SAMPLES:]
    read_site, sites = sites[0], sites[1:]
    cold_sites, sites = sites[:cold_submits], sites[cold_submits:]
    click_sites, sites = sites[:2 * CLICK_SAMPLES], sites[2 * CLICK_SAMPLES:]
    happy_site, sites = sites[0], sites[1:]
    cost_sites, sites = sites[:3], sites[3:]
    load_sites, overload_sites = sites[:LOAD_SUBMITS], sites[LOAD_SUBMITS:]
    status, body, _ = stack.submit(*read_site)
    read_request = (body["requestId"], read_site[1])
    stack.wait_status(*read_request, "pending_first_review")

    log(f"cold starts of {len(names)} functions, {COLD_ROUNDS} rounds")
    cold, cold_first, cold_penalty = cold_starts(stack, names, cold_sites, read_request)
    log("orchestration: submit → pending_first_review, one at a time")
    orchestration_result = orchestration(stack, orchestration_sites)
    log("warm latencies through API Gateway")
    warm_result = warm(stack, read_request)
    log(f"the calls people click: submit, decision, resubmit, {CLICK_SAMPLES} each beside GET /hello")
    warm_result.update(clicks(stack, click_sites))
    log("state transitions of one request on the happy path")
    transitions_result = transitions(stack, *happy_site)
    log("what a request costs: one of each type, alone")
    cost_result = costs(stack, cost_sites)
    log(f"load: {LOAD_SUBMITS} submits, {LOAD_IN_FLIGHT} in flight")
    load_result = load(stack, load_sites, LOAD_IN_FLIGHT)
    log(f"overload: {LOAD_SUBMITS} submits, {OVERLOAD_IN_FLIGHT} in flight")
    overload_result = load(stack, overload_sites, OVERLOAD_IN_FLIGHT)
    log("password check cost, zip sizes, peak memory")
    results = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "coldStartMs": cold,
        "coldStartRatio": {n: round(v / cold["hello"], 2) for n, v in cold.items() if n != "hello"},
        "coldFirstResponseMs": cold_first,
        "coldFirstResponseRatio": {n: round(v / cold_first["hello"], 2) for n, v in cold_first.items() if n != "hello"},
        # What the cold start adds to the wait: the first response less the same call made warm.
        "coldPenaltyMs": cold_penalty,
        "coldPenaltyRatio": {n: round(v / cold_penalty["hello"], 2) for n, v in cold_penalty.items() if n != "hello"},
        "warm": warm_result,
        "transitionsPerRequest": transitions_result,
        "orchestration": orchestration_result,
        "load": load_result,
        "overload": overload_result,
        **cost_result,
        "artifacts": artifacts(stack, names),
        "makeUp": make_up,
    }
    results["passwordParameters"], results["passwordVerifyMs"] = password_cost()
    (ROOT / "bench").mkdir(exist_ok=True)
    (ROOT / "bench/results.json").write_text(json.dumps(results, indent=2) + "\n")
    markdown = f"Run {results['date']} on {results['machine']} (`make bench`, release build).\n\n{table(results)}"
    (ROOT / "bench/results.md").write_text(markdown + "\n")
    write_readme(results)
    print(markdown)


if __name__ == "__main__":
    main()

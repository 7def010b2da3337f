"""Runs a Lambda execution environment as a local ``bootstrap`` process instead of a container.

In Docker, LocalStack's init inside the container takes invocations on ``POST /invoke``, serves the
Lambda Runtime API to the function and reports to LocalStack's executor endpoint
(``/_localstack_lambda/...``). This module plays that init's part:

- per execution environment (``ProcessRuntimeExecutor``): an HTTP server on a free loopback port for
  ``/invoke``; status ``ready`` goes to LocalStack on the process's first ``/next`` (``error`` if it
  exits or posts ``/init/error`` first);
- per process (``Bootstrap``): the process in its own session/process group and a Runtime API
  server of its own, so the long-poll of a killed process can never take a later invocation;
- per invocation: the logs are reported before the result; the function timeout is enforced here
  (kill the process group, report ``Sandbox.Timedout``); after a kill or a crash the next
  invocation starts a fresh process, as Lambda re-initialises a sandbox.

Output lines also go to ``$ICP_LAMBDA_LOG_DIR/<function>.log`` when that variable is set.

Tests inject a lasting failure of one step for one request (an outage no retry outlasts) with a
file ``$ICP_FAULT_DIR/<function>/<requestId>``: while it exists, each invocation of that function
whose event names that request (and carries the fields of the JSON object the file may hold)
fails as a crashed runtime does, without running the function.
"""

import json
import logging
import math
import os
import queue
import select
import selectors
import signal
import subprocess
import threading
import time
from collections import deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests
from localstack import config
from localstack.aws.api.lambda_ import PackageType
from localstack.services.lambda_.invocation.executor_endpoint import ExecutorEndpoint
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import (
    LambdaRuntimeException,
    RuntimeExecutor,
)

from icp_local_executor.aws_calls import register_caller

LOG = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
RUNTIME_API = "/2018-06-01/runtime"
# Environment variables of the LocalStack process handed on to every bootstrap process:
# ICP_LOCAL_ROOT marks processes as this clone's, so stop.sh finds them even if orphaned.
INHERITED_VARS = ("ICP_LOCAL_ROOT",)


def _injected_fault(function_name: str, payload: str) -> bool:
    """Whether the tests made this function fail for the request the event names (and, if the
    fault file holds a JSON object, for events carrying each of its fields)."""
    fault_dir = os.environ.get("ICP_FAULT_DIR")
    if not fault_dir:
        return False
    try:
        event = json.loads(payload)
        request_id = event.get("requestId")
        if not isinstance(request_id, str) or "/" in request_id:
            return False
        text = (Path(fault_dir) / function_name / request_id).read_text()
        only = json.loads(text) if text.strip() else {}
    except (OSError, ValueError, AttributeError):
        return False
    return all(event.get(key) == value for key, value in only.items())


def _error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _exit_description(code: int) -> str:
    if code < 0:
        return f"signal: {signal.Signals(-code).name}"
    return f"exit status {code}"


class _Server(ThreadingHTTPServer):
    """An HTTP server on a free loopback port, serving in background threads. Its loop sleeps
    until a connection or `close()` wakes it: `serve_forever` polls instead (every 50 ms, to stop
    quickly), and two such loops per execution environment, hundreds under load, kept LocalStack's
    one Python process (and its GIL) busy enough to time functions out."""

    daemon_threads = True

    def __init__(self, handler: type[BaseHTTPRequestHandler], owner) -> None:
        super().__init__((LOOPBACK, 0), handler)
        self.owner = owner
        self._closing = False
        self._close_lock = threading.Lock()
        self._closed = threading.Event()
        self._wake_read, self._wake_write = os.pipe()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self, selectors.EVENT_READ)
                selector.register(self._wake_read, selectors.EVENT_READ)
                while not self._closing:
                    if any(key.fileobj is self for key, _ in selector.select()) and not self._closing:
                        self._handle_request_noblock()
        finally:
            self._closed.set()

    def close(self) -> None:
        """Stops the loop, waits for it (briefly) and closes the socket; once (a process killed on
        a timeout is killed again when its environment stops)."""
        with self._close_lock:
            if self._closing:
                return
            self._closing = True
        os.write(self._wake_write, b"x")
        self._closed.wait(timeout=5)
        self.server_close()
        os.close(self._wake_read)
        os.close(self._wake_write)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Lambda runtime clients expect

    def log_message(self, *args) -> None:
        pass

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while size := int(self.rfile.readline().split(b";")[0], 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return body
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _RuntimeApiHandler(_Handler):
    """The Lambda Runtime API, as served to one bootstrap process."""

    def do_GET(self) -> None:
        if self.path != f"{RUNTIME_API}/invocation/next":
            return self.reply(404)
        event = self.server.owner.next_event()
        if event is None:  # the process is being killed: no answer
            self.close_connection = True
            return
        self.reply(200, event["payload"].encode(), event["headers"])

    def do_POST(self) -> None:
        bootstrap = self.server.owner
        body = self.read_body()
        parts = self.path[len(RUNTIME_API) :].strip("/").split("/")
        if self.path.startswith(RUNTIME_API) and parts == ["init", "error"]:
            bootstrap.fail_init(self._error_body(body))
        elif self.path.startswith(RUNTIME_API) and len(parts) == 3 and parts[0] == "invocation":
            request_id, kind = parts[1], parts[2]
            if kind not in ("response", "error"):
                return self.reply(404)
            payload = body if kind == "response" else self._error_body(body)
            if not bootstrap.complete(request_id, kind == "error", payload):
                return self.reply(
                    400, _error_payload("InvalidRequestID", f"unknown request id {request_id}")
                )
        else:
            return self.reply(404)
        self.reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})

    def _error_body(self, body: bytes) -> bytes:
        """The error as a JSON object with an errorType (LocalStack and Step Functions read it)."""
        error_type = self.headers.get("Lambda-Runtime-Function-Error-Type") or "Unhandled"
        try:
            error = json.loads(body)
        except ValueError:
            error = None
        if not isinstance(error, dict):
            return _error_payload(error_type, body.decode(errors="replace"))
        error.setdefault("errorType", error_type)
        return json.dumps(error).encode()


class _InvokeHandler(_Handler):
    """LocalStack's side: ``POST /invoke`` starts an invocation, answered at once."""

    def do_POST(self) -> None:
        if self.path != "/invoke":
            return self.reply(404)
        request = json.loads(self.read_body())
        executor = self.server.owner
        threading.Thread(target=executor.handle_invocation, args=(request,), daemon=True).start()
        self.reply(200, b"OK")


class Bootstrap:
    """One run of the function's ``bootstrap`` with a Runtime API server of its own."""

    def __init__(self, executor: "ProcessRuntimeExecutor"):
        self.executor = executor
        self.cond = threading.Condition()
        self.ready = False
        self.started = time.monotonic()
        # Spawn to first `/next`, as Lambda's "Init Duration"; taken by the first invocation's report.
        self.init_ms: float | None = None
        self.init_reported = False
        self.init_error: bytes | None = None
        self.exit_code: int | None = None
        self.request_id: str | None = None
        self.result: tuple[bool, bytes] | None = None
        self.events: queue.Queue = queue.Queue()
        self.partial_line = b""
        self.output_done = False
        self.server = _Server(_RuntimeApiHandler, self)
        environ = {
            **executor.process_environ,
            "AWS_LAMBDA_RUNTIME_API": f"{LOOPBACK}:{self.server.server_address[1]}",
        }
        path = executor.code_dir / "bootstrap"
        try:
            self.popen = subprocess.Popen(
                [str(path)],
                cwd=executor.code_dir,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except (
            OSError
        ) as e:  # e.g. a binary built for another architecture: a function error, as on AWS
            self.popen = None
            self.exit_code = 127
            self.init_error = _error_payload(
                "Runtime.InvalidEntrypoint", f"exec {path}: {e.strerror}"
            )
            self.executor.log(f"Error: exec {path}: {e.strerror}")
            self._close_server()
            return
        # Non-blocking: a drain may take what woke the pump's poll, and must itself never wait.
        os.set_blocking(self.popen.stdout.fileno(), False)
        threading.Thread(target=self._pump_output, daemon=True).start()
        threading.Thread(target=self._await_exit, daemon=True).start()

    # --- the process ---

    def _pump_output(self) -> None:
        """Log the process's output by lines as it comes (see ``_log_pending``)."""
        fd = self.popen.stdout.fileno()
        poller = select.poll()  # not select(): LocalStack may hold more than 1024 descriptors
        poller.register(fd, select.POLLIN)
        while True:
            poller.poll()
            with self.executor.log_lock:
                if not self.output_done:
                    self._log_pending()
                if self.output_done:
                    self.popen.stdout.close()  # only here: the poll above must not outlive it
                    return

    def _log_pending(self) -> None:
        """Logs what the process has written and is not logged yet, by lines; under the log lock,
        so that lines are logged once and in order whichever thread reads them."""
        while True:
            try:
                chunk = os.read(self.popen.stdout.fileno(), 65536)
            except BlockingIOError:
                return
            if not chunk:
                self._flush_partial_line()
                self.output_done = True
                return
            *lines, self.partial_line = (self.partial_line + chunk).split(b"\n")
            for line in lines:
                self.executor.log(line.decode(errors="replace"))

    def _flush_partial_line(self) -> None:
        if self.partial_line:
            self.executor.log(self.partial_line.decode(errors="replace"))
            self.partial_line = b""

    def drain_output(self) -> None:
        """Logs what the process has written so far, so that its logs precede the result. Read
        here rather than waited for, since Lambda does not hold a response back for its logs."""
        with self.executor.log_lock:
            if self.popen is None or self.output_done:
                return
            self._log_pending()
            self._flush_partial_line()

    def _await_exit(self) -> None:
        code = self.popen.wait()
        with self.cond:
            self.exit_code = code
            self.cond.notify_all()

    def max_rss_kb(self) -> int | None:
        if self.popen is None:
            return None
        try:
            status = Path(f"/proc/{self.popen.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return None

    def kill(self) -> None:
        """Kill the whole process group and release anything waiting on this process."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        with self.cond:
            self.cond.wait_for(lambda: self.exit_code is not None, timeout=5)
        self.events.put(None)
        self._close_server()

    def _close_server(self) -> None:
        self.server.close()

    # --- called by the Runtime API ---

    def next_event(self) -> dict | None:
        with self.cond:
            if not self.ready:
                self.init_ms = (time.monotonic() - self.started) * 1000
            self.ready = True
            self.cond.notify_all()
        return self.events.get()

    def complete(self, request_id: str, is_error: bool, payload: bytes) -> bool:
        with self.cond:
            if request_id != self.request_id or self.result is not None:
                return False
            self.result = (is_error, payload)
            self.cond.notify_all()
            return True

    def fail_init(self, payload: bytes) -> None:
        with self.cond:
            self.init_error = payload
            self.cond.notify_all()

    # --- called by the executor ---

    def wait_ready(self, timeout: float | None) -> bytes | None:
        """None once the process asks for its first invocation, else the error payload."""
        with self.cond:
            self.cond.wait_for(
                lambda: self.ready or self.init_error is not None or self.exit_code is not None,
                timeout,
            )
            if self.init_error is not None:
                return self.init_error
            if self.ready:
                return None
            if self.exit_code is not None:
                return _error_payload(
                    "Runtime.ExitError",
                    f"Runtime exited with error: {_exit_description(self.exit_code)}",
                )
        return None  # not ready in time: the invocation's timeout handles it

    def invoke(self, request: dict, deadline: float) -> tuple[str, bytes]:
        """Hand the invocation to the process; returns (response|error|exit|timeout, payload)."""
        with self.cond:
            self.request_id, self.result = request["invoke-id"], None
        remaining = deadline - time.monotonic()
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Aws-Request-Id": request["invoke-id"],
            "Lambda-Runtime-Deadline-Ms": str(int((time.time() + remaining) * 1000)),
            "Lambda-Runtime-Invoked-Function-Arn": request["invoked-function-arn"],
        }
        if request.get("trace-id"):
            headers["Lambda-Runtime-Trace-Id"] = request["trace-id"]
        self.events.put({"payload": request["payload"], "headers": headers})
        with self.cond:
            self.cond.wait_for(
                lambda: self.result is not None or self.exit_code is not None,
                max(0.0, remaining),
            )
            if self.result is not None:
                is_error, payload = self.result
                return ("error" if is_error else "response"), payload
            if self.exit_code is not None:
                return "exit", b""
        return "timeout", b""


class _Stopped(Exception):
    pass


class ProcessRuntimeExecutor(RuntimeExecutor):
    """LocalStack runtime executor (``LAMBDA_RUNTIME_EXECUTOR=local-process``)."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self.executor_endpoint = ExecutorEndpoint(self.id, container_address=LOOPBACK)
        self.http = requests.Session()
        self.http.trust_env = False  # never send LocalStack-internal calls through a proxy
        self.lock = threading.Lock()  # guards bootstrap replacement against stop()
        self.invoke_lock = threading.Lock()  # one invocation at a time, as in Lambda
        self.log_lock = threading.RLock()
        self.pending_logs: list[str] = []
        self.recent_logs: deque[str] = deque(maxlen=2000)
        self.log_file = None
        self.stopped = False
        self.bootstrap: Bootstrap | None = None
        self.invoke_server: _Server | None = None
        self.code_dir = Path(function_version.config.code.get_unzipped_code_location())
        self.process_environ: dict[str, str] = {}

    # --- RuntimeExecutor interface ---

    def start(self, env_vars: dict[str, str]) -> None:
        config_ = self.function_version.config
        self.process_environ = {
            **{name: str(value) for name, value in env_vars.items()},
            "LAMBDA_TASK_ROOT": str(self.code_dir),
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            **{name: os.environ[name] for name in INHERITED_VARS if name in os.environ},
        }
        self.process_environ.setdefault(
            "AWS_ENDPOINT_URL", f"http://{LOOPBACK}:{config.GATEWAY_LISTEN[0].port}"
        )
        self.timeout = float(config_.timeout)
        if access_key := env_vars.get("AWS_ACCESS_KEY_ID"):
            register_caller(access_key, self.function_version.id.function_name, config_.role)
        if log_dir := os.environ.get("ICP_LAMBDA_LOG_DIR"):
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            path = Path(log_dir) / f"{self.function_version.id.function_name}.log"
            self.log_file = path.open("a", buffering=1, encoding="utf-8")

        self.executor_endpoint.start()
        self.invoke_server = _Server(_InvokeHandler, self)
        self.executor_endpoint.container_port = self.invoke_server.server_address[1]
        bootstrap = self._spawn()
        threading.Thread(target=self._report_startup, args=(bootstrap,), daemon=True).start()
        self.executor_endpoint.wait_for_startup()

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            bootstrap, self.bootstrap = self.bootstrap, None
        if bootstrap:
            bootstrap.kill()
        if self.invoke_server:
            self.invoke_server.close()
        try:
            self.executor_endpoint.shutdown()
        except Exception as e:  # e.g. stopped before start() registered the endpoint
            LOG.debug("Stopping executor endpoint %s: %s", self.id, e)
        with self.log_lock:
            if self.log_file:
                self.log_file.close()
                self.log_file = None

    def get_address(self) -> str:
        return LOOPBACK

    def get_endpoint_from_executor(self) -> str:
        return LOOPBACK

    def get_runtime_endpoint(self) -> str:
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{LOOPBACK}:{port}{self.executor_endpoint.get_endpoint_prefix()}"

    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        return self.executor_endpoint.invoke(payload)

    def get_logs(self) -> str:
        with self.log_lock:
            return "\n".join(self.recent_logs)

    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        name = function_version.id.function_name
        if function_version.config.package_type != PackageType.Zip:
            raise LambdaRuntimeException(
                f"{name}: the local-process executor runs Zip packages only"
            )
        function_version.config.code.prepare_for_execution()
        bootstrap = Path(function_version.config.code.get_unzipped_code_location()) / "bootstrap"
        if not bootstrap.is_file():
            raise LambdaRuntimeException(
                f"{name}: no 'bootstrap' at the root of the code; the local-process executor "
                "runs custom runtimes (provided.al2023)"
            )
        bootstrap.chmod(bootstrap.stat().st_mode | 0o111)  # zips may lose the executable bit

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        """Nothing to undo: LocalStack removes the unzipped code itself."""

    # --- helpers ---

    def log(self, line: str) -> None:
        with self.log_lock:
            self.pending_logs.append(line)
            self.recent_logs.append(line)
            if self.log_file:
                stamp = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
                self.log_file.write(f"{stamp} {self.id[:8]} {line}\n")

    def _take_logs(self) -> str:
        with self.log_lock:
            logs = "".join(f"{line}\n" for line in self.pending_logs)
            self.pending_logs.clear()
            return logs

    def _post(self, path: str, **kwargs) -> None:
        try:
            self.http.post(self.get_runtime_endpoint() + path, timeout=30, **kwargs)
        except requests.RequestException as e:
            LOG.warning("Lambda executor %s: reporting to %s failed: %s", self.id, path, e)

    def _spawn(self) -> Bootstrap:
        with self.lock:
            if self.stopped:
                raise _Stopped()
            self.bootstrap = Bootstrap(self)
            return self.bootstrap

    def _report_startup(self, bootstrap: Bootstrap) -> None:
        error = bootstrap.wait_ready(timeout=None)
        if self.stopped:
            return
        if error is None:
            self._post(f"/status/{self.id}/ready")
        else:
            self._post(f"/status/{self.id}/error", data=error)

    def handle_invocation(self, request: dict) -> None:
        request_id = request["invoke-id"]
        try:
            is_error, payload = self._run(request)
        except _Stopped:
            return
        except Exception as e:
            LOG.exception("Lambda executor %s: invocation %s failed", self.id, request_id)
            is_error, payload = True, _error_payload("Runtime.Unknown", f"local executor: {e}")
        if self.stopped:
            return
        self._post(f"/invocations/{request_id}/logs", json={"logs": self._take_logs()})
        self._post(f"/invocations/{request_id}/{'error' if is_error else 'response'}", data=payload)

    def _run(self, request: dict) -> tuple[bool, bytes]:
        request_id = request["invoke-id"]
        if _injected_fault(self.function_version.id.function_name, request["payload"]):
            message = "Runtime exited with error: injected fault (local tests)"
            self.log(f"RequestId: {request_id} Error: {message}")
            return True, _error_payload("Runtime.ExitError", f"RequestId: {request_id} Error: {message}")
        with self.invoke_lock:
            started = time.monotonic()
            deadline = started + self.timeout
            bootstrap = self.bootstrap
            if bootstrap is None or bootstrap.exit_code is not None:
                # Killed on a timeout or crashed: a fresh process, its init counting to this invoke.
                if bootstrap is not None:
                    bootstrap.kill()
                bootstrap = self._spawn()
                init_error = bootstrap.wait_ready(timeout=deadline - time.monotonic())
                if init_error is not None:
                    bootstrap.drain_output()
                    bootstrap.kill()
                    return True, init_error
            # Logged once the process that runs the invocation is chosen (as Lambda logs START
            # after init): from this line on, killing that process fails this invocation.
            self.log(f"START RequestId: {request_id} Version: {self.function_version.id.qualifier}")
            outcome, payload = bootstrap.invoke(request, deadline)
            max_rss_kb = bootstrap.max_rss_kb()
            init_ms = None if bootstrap.init_reported else bootstrap.init_ms
            bootstrap.init_reported = True
            if outcome == "timeout":
                bootstrap.kill()
            bootstrap.drain_output()
            if outcome == "timeout":
                message = f"Task timed out after {self.timeout:.2f} seconds"
                self.log(f"{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ} {request_id} {message}")
                payload = _error_payload(
                    "Sandbox.Timedout", f"RequestId: {request_id} Error: {message}"
                )
            elif outcome == "exit":
                message = f"Runtime exited with error: {_exit_description(bootstrap.exit_code)}"
                self.log(f"RequestId: {request_id} Error: {message}")
                payload = _error_payload(
                    "Runtime.ExitError", f"RequestId: {request_id} Error: {message}"
                )
            duration_ms = (time.monotonic() - started) * 1000
            memory = self.function_version.config.memory_size
            self.log(f"END RequestId: {request_id}")
            # Lambda's REPORT fields, plus the exact peak RSS (Lambda rounds it to MB).
            report = (
                f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
                f"Billed Duration: {math.ceil(duration_ms)} ms\tMemory Size: {memory} MB"
            )
            if max_rss_kb:
                report += f"\tMax Memory Used: {math.ceil(max_rss_kb / 1024)} MB"
            if init_ms is not None:
                report += f"\tInit Duration: {init_ms:.2f} ms"
            if max_rss_kb:
                report += f"\tMax RSS: {max_rss_kb} kB"
            self.log(report)
            return outcome != "response", payload

"""The one Python client of the local stack's API, for `make demo` and `make bench`: JSON in and
out, an optional bearer token, each thread its own connection, and traffic to 127.0.0.1 only."""

import threading
import time
from urllib.parse import urlparse

import requests

TIMEOUT_SECONDS = 60


class ApiClient:
    def __init__(self, base_url):
        host = urlparse(base_url).hostname
        if host != "127.0.0.1":
            raise SystemExit(f"refusing to send traffic to {host}: the local stack is on 127.0.0.1")
        self.base_url = base_url
        self.local = threading.local()

    def session(self):
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.trust_env = False  # never through a proxy
        return self.local.session

    def call(self, method, path, token=None, body=None, headers=None):
        """(status, body, seconds) of one call to `path` under the base URL; the status is None
        when no answer came within TIMEOUT_SECONDS (a client retries it as it would a 5xx)."""
        all_headers = {"content-type": "application/json", **(headers or {})}
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        started = time.perf_counter()
        try:
            resp = self.session().request(
                method, f"{self.base_url}{path}", json=body, headers=all_headers, timeout=TIMEOUT_SECONDS
            )
        except requests.Timeout:
            return None, f"no answer within {TIMEOUT_SECONDS} s", time.perf_counter() - started
        elapsed = time.perf_counter() - started
        try:
            payload = resp.json()
        except ValueError:
            payload = resp.text
        return resp.status_code, payload, elapsed

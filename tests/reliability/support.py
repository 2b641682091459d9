"""What the reliability tests share: a built-in Marquez that can be stopped, killed and started
again on the same port and database, a fault-injecting HTTP proxy in front of it, the delivery
loop as `lakehouse up` runs it, and the exactly-once accounting between outbox and Marquez."""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests

from lineage.outbox import Outbox
from tests.marquez_fixture import REPO_ROOT, _create_database, _drop_database, _free_port, _healthy, _log_tail


class Marquez:
    """`python -m marquez serve` on a fixed port over a database of its own, which survives
    stop / kill / start: what an operator's restarts look like to the delivery loop."""

    def __init__(self, postgres, log_dir: Path, extra_env: dict[str, str] | None = None):
        self.admin_url = postgres.with_db("postgres").url
        self.dbname = f"marquez_rel_{uuid.uuid4().hex[:10]}"
        _create_database(self.admin_url, self.dbname)
        self.db_url = postgres.with_db(self.dbname).url
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_dir = log_dir
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, timeout: float = 60) -> None:
        self.starts += 1
        self.log = self.log_dir / f"marquez-{self.port}-{self.starts}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEZ_")}
        env.update({"PYTHONUNBUFFERED": "1", **self.extra_env})
        command = [sys.executable, "-m", "marquez", "serve", "--host", "127.0.0.1", "--port", str(self.port),
                   "--db-url", self.db_url]  # fmt: skip
        with self.log.open("wb") as log:
            # Its own process group: a kill takes the projector child with it, as a crash would.
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"Marquez exited ({self.process.returncode}) on start:\n{_log_tail(self.log)}")
            if _healthy(self.url):
                return
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"Marquez was not healthy within {timeout:.0f} s:\n{_log_tail(self.log)}")

    def kill(self) -> None:
        """SIGKILL the server and its projector: requests in flight get no answer."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        self.stop()
        _drop_database(self.admin_url, self.dbname)


class FaultProxy:
    """A real HTTP proxy in front of a real server that can be switched to answer 503 (the way a
    load balancer does while the server behind it is unhealthy) instead of forwarding."""

    def __init__(self, upstream: str):
        self.upstream = upstream
        self.failing = threading.Event()
        self.served_503 = 0
        self.forwarded = 0
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy.failing.is_set():
                    proxy.served_503 += 1
                    payload = b'{"message": "service unavailable (fault injected by the test proxy)"}'
                    self.send_response(503)
                    self.send_header("Content-Type", "application/json")
                else:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                    answer = requests.request(
                        self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=60
                    )
                    proxy.forwarded += 1
                    payload = answer.content
                    self.send_response(answer.status_code)
                    self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Follower:
    """`lineage deliver --follow`, the loop `lakehouse up` runs, as a subprocess."""

    def __init__(self, outbox: Path, url: str, log: Path, max_backoff_s: float = 1.0):
        self.log = log
        command = [sys.executable, "-m", "lineage.cli", "deliver", "--follow", "--url", url, "--outbox", str(outbox),
                   "--max-backoff", str(max_backoff_s)]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "MARQUEZ_API_KEY"}
        with log.open("wb") as handle:
            self.process = subprocess.Popen(
                command, cwd=REPO_ROOT, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=handle, stderr=subprocess.STDOUT
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def wait_until(condition, timeout_s: float, what: str, step_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(step_s)
    raise AssertionError(f"not within {timeout_s:.0f} s: {what}")


def wait_delivered(outbox: Path, timeout_s: float = 120) -> None:
    box = Outbox(outbox)
    wait_until(lambda: box.counts().undelivered == 0, timeout_s, f"every event of {outbox} delivered: {box.counts()}")


def marquez_events(url: str) -> list[dict]:
    """Every event Marquez stores, paginated through its API."""
    events, offset = [], 0
    while True:
        page = requests.get(
            f"{url}/api/v1/events/lineage", params={"limit": 1000, "offset": offset, "sortDirection": "asc"}, timeout=60
        )
        assert page.status_code == 200, page.text[:300]
        body = page.json()
        events += body["events"]
        offset += len(body["events"])
        if not body["events"] or offset >= body["totalCount"]:
            return events


def _key(event: dict) -> tuple:
    # Marquez writes times back in its own format: compare instants.
    at = dt.datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00"))
    return (event.get("run", {}).get("runId"), event.get("eventType"), at.isoformat(), event["job"]["name"])


def account(outbox: Path, url: str) -> dict:
    """Events emitted (distinct, as the outbox holds them) against events Marquez stores, and the
    state of every run in Marquez; asserts exactly once, no run left RUNNING that ended."""
    rows = Outbox(outbox).events(limit=1_000_000)
    assert rows, "the run emitted nothing"
    statuses = {r.status for r in rows}
    assert statuses == {"delivered"}, f"not all delivered: {Outbox(outbox).counts()}"
    # Every step emits the Dagster run's START identically; one event, however often written.
    emitted = {json.dumps(json.loads(r.body), sort_keys=True) for r in rows}
    stored = marquez_events(url)
    emitted_keys = sorted(_key(json.loads(b)) for b in emitted)
    stored_keys = sorted(_key(e) for e in stored)
    missing = sorted(set(emitted_keys) - set(stored_keys))[:5]
    extra = sorted(set(stored_keys) - set(emitted_keys))[:5]
    assert stored_keys == emitted_keys, (
        f"Marquez holds other events than were emitted: missing {missing}, extra {extra}"
    )
    ended = {}
    for event in map(json.loads, emitted):
        if event.get("eventType") in ("COMPLETE", "FAIL", "ABORT"):
            ended[event["run"]["runId"]] = event["eventType"]
    states = {}
    for run_id in ended:
        run = requests.get(f"{url}/api/v1/jobs/runs/{run_id}", timeout=30)
        assert run.status_code == 200, f"run {run_id}: {run.status_code}"
        states[run_id] = run.json()["state"]
    expected = {"COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}
    wrong = {r: (states[r], expected[k]) for r, k in ended.items() if states[r] != expected[k]}
    assert not wrong, f"runs whose Marquez state is not how they ended: {wrong}"
    run_ids = {json.loads(b)["run"]["runId"] for b in emitted if json.loads(b).get("run")}
    return {
        "outbox_rows": len(rows),
        "emitted": len(emitted),
        "stored": len(stored),
        "runs": len(run_ids),
        "runs_ended": len(ended),
        "attempts": sum(r.attempts for r in rows),
    }

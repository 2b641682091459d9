"""A server killed mid-load (SIGKILL) loses no acknowledged event, and leaves no half-written run.

The built-in server runs as a subprocess (`python -m marquez serve`, the command operators use)
over a database of its own. Two client threads post runs (START, then COMPLETE, each with an
input and an output carrying a schema) as fast as the server takes them; once enough events
are acknowledged, the server is killed with SIGKILL while requests are in flight. It is then
restarted on the same database, and:
- every event acknowledged with 201 is in /api/v1/events/lineage;
- every stored event is applied whole: a stored COMPLETE's run is COMPLETED with its end time
  and its output has a version; a run with only a stored START is RUNNING;
- replaying everything the clients sent (as an outbox does after a crash) completes every run
  and stores each event exactly once.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest
import requests

from tests.marquez.support import dataset, get_json, iso, post_event, run_event, unique, utcnow
from tests.marquez_fixture import REPO_ROOT, _create_database, _drop_database, _free_port, _healthy, _log_tail

pytestmark = pytest.mark.marquez

CLIENTS = 2
RUNS_PER_CLIENT = 400  # more than can be posted before the kill: the kill lands mid-load
KILL_AFTER_ACKS = 120
DEADLINE_S = 40  # the whole test, start to finish


class Server:
    """`python -m marquez serve` on a given database; start, SIGKILL, start again."""

    def __init__(self, db_url: str, log_dir: Path):
        self.db_url = db_url
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.starts = 0

    def start(self, timeout: float = 60) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.starts += 1
        self.log = self.log_dir / f"server-{self.starts}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEZ_")}
        command = [
            sys.executable,
            "-m",
            "marquez",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--db-url",
            self.db_url,
        ]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited ({self.process.returncode}) on start:\n{_log_tail(self.log)}")
            if _healthy(self.url):
                return
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"the server was not healthy within {timeout:.0f} s:\n{_log_tail(self.log)}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


@pytest.fixture
def server(request: pytest.FixtureRequest, tmp_path: Path):
    postgres = request.getfixturevalue("postgres")
    dbname = f"marquez_restart_{uuid.uuid4().hex[:10]}"
    _create_database(postgres.with_db("postgres").url, dbname)
    server = Server(postgres.with_db(dbname).url, tmp_path)
    try:
        yield server
    finally:
        server.stop()
        _drop_database(postgres.with_db("postgres").url, dbname)


def _events(ns: str, client: int, t0: dt.datetime) -> list[dict]:
    """START then COMPLETE for each run of one client, in the order it posts them."""
    events = []
    for i in range(RUNS_PER_CLIENT):
        run_id, job = str(uuid.uuid4()), f"load_{client}_{i:04d}"
        start = t0 + dt.timedelta(seconds=i)
        io = dict(
            inputs=[dataset(ns, f"raw.readings_{client}", [("reactor_id", "INTEGER"), ("temp", "DOUBLE")])],
            outputs=[dataset(ns, f"mart.out_{client}_{i:04d}", [("reactor_id", "INTEGER"), ("temp_c", "DOUBLE")])],
        )
        ended = start + dt.timedelta(milliseconds=500)
        events.append(run_event("START", namespace=ns, job=job, run_id=run_id, event_time=start, **io))
        events.append(run_event("COMPLETE", namespace=ns, job=job, run_id=run_id, event_time=ended, **io))
    return events


def test_sigkill_mid_load_loses_no_acknowledged_event(server: Server) -> None:
    began = time.monotonic()
    ns = unique("restart")
    t0 = (utcnow() - dt.timedelta(days=1)).replace(microsecond=0)
    planned = [_events(ns, c, t0) for c in range(CLIENTS)]
    acked: list[dict] = []
    lost_connection: list[str] = []  # how each client learnt the server was gone
    bad_answers: list[str] = []
    lock = threading.Lock()
    enough = threading.Event()
    server.start()
    url = server.url

    def client(events: list[dict]) -> None:
        with requests.Session() as session:
            for event in events:
                try:
                    response = post_event(url, event, session=session)
                except requests.RequestException as exc:  # the server is gone
                    with lock:
                        lost_connection.append(type(exc).__name__)
                    return
                if response.status_code != 201:
                    with lock:
                        bad_answers.append(f"{response.status_code}: {response.text[:200]}")
                    return
                with lock:
                    acked.append(event)
                    if len(acked) >= KILL_AFTER_ACKS:
                        enough.set()

    threads = [threading.Thread(target=client, args=(events,), daemon=True) for events in planned]
    for thread in threads:
        thread.start()
    assert enough.wait(timeout=DEADLINE_S / 2), f"only {len(acked)} events acknowledged in time: {bad_answers}"
    server.kill()
    for thread in threads:
        thread.join(timeout=15)
        assert not thread.is_alive(), "a client thread still runs 15 s after the kill"
    with lock:
        acked_now = list(acked)
    total = sum(len(events) for events in planned)
    assert len(acked_now) < total, "every event was acknowledged before the kill: the kill was not mid-load"
    assert not bad_answers, f"the server refused events under load: {bad_answers}"
    assert len(lost_connection) == CLIENTS, "each client should have lost its connection to the killed server"

    server.start()  # same database, new process
    events = get_json(server.url, "/events/lineage", {"limit": 10000, "after": iso(t0 - dt.timedelta(seconds=1))})
    stored = {(e["run"]["runId"], e["eventType"]) for e in events["events"] if e["job"]["namespace"] == ns}
    lost = [(e["job"]["name"], e["eventType"]) for e in acked_now if (e["run"]["runId"], e["eventType"]) not in stored]
    assert not lost, f"{len(lost)} of {len(acked_now)} acknowledged events are gone after the restart: {lost[:10]}"
    assert len(stored) >= len(acked_now)

    # No half-written event: each stored event's effects are all there.
    by_run: dict[str, dict[str, dict]] = defaultdict(dict)
    for events_of_client in planned:
        for e in events_of_client:
            by_run[e["run"]["runId"]][e["eventType"]] = e
    stored_kinds: dict[str, set[str]] = defaultdict(set)
    for run_id, event_type in stored:
        stored_kinds[run_id].add(event_type)
    for run_id, kinds in stored_kinds.items():
        run = get_json(server.url, f"/jobs/runs/{run_id}")
        if "COMPLETE" in kinds:
            complete = by_run[run_id]["COMPLETE"]
            assert run["state"] == "COMPLETED", f"run {run_id}: COMPLETE stored, state {run['state']}"
            assert dt.datetime.fromisoformat(run["endedAt"].replace("Z", "+00:00")) == dt.datetime.fromisoformat(
                complete["eventTime"].replace("Z", "+00:00")
            )
            output = complete["outputs"][0]["name"]
            assert [v["datasetVersionId"]["name"] for v in run["outputDatasetVersions"]] == [output]
            assert get_json(server.url, f"/namespaces/{ns}/datasets/{output}")["currentVersion"], output
        else:
            assert run["state"] == "RUNNING", f"run {run_id}: only START stored, state {run['state']}"

    # The outbox replays what it sent around the crash (every client's acknowledged prefix and
    # more, whole runs): every run completes, nothing is stored twice.
    upto = len(acked_now) + 40
    upto += upto % 2
    with requests.Session() as session:
        for events_of_client in planned:
            for event in events_of_client[:upto]:
                response = post_event(server.url, event, session=session)
                assert response.status_code == 201, response.text[:300]
    replayed = {e["run"]["runId"] for c in planned for e in c[:upto]}
    after = get_json(server.url, "/events/lineage", {"limit": 10000, "after": iso(t0 - dt.timedelta(seconds=1))})
    mine = [e for e in after["events"] if e["job"]["namespace"] == ns]
    assert len(mine) == 2 * len(replayed), "a replayed event was stored twice (or one is missing)"
    for run_id in list(replayed)[:: max(1, len(replayed) // 25)]:  # a sample: the model, not just the log
        assert get_json(server.url, f"/jobs/runs/{run_id}")["state"] == "COMPLETED"
    assert time.monotonic() - began < DEADLINE_S, f"took {time.monotonic() - began:.0f} s (bound {DEADLINE_S} s)"

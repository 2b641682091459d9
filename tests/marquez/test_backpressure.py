"""Backpressure (marquez.backpressure): while more events than MARQUEZ_MAX_PENDING_EVENTS wait for
the projector, an acknowledgement is held (the event is stored already), at most 2 s; reads go on
meanwhile; once the projector catches up, acknowledgements are immediate again."""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager

import psutil
import psycopg
import pytest
import requests

from marquez import limits
from tests.marquez.support import get_json, post_ok, run_event, unique

pytestmark = pytest.mark.marquez

T = "2025-03-09T00:00:00Z"
LIMIT = 3


def _post(url: str, event: dict) -> tuple[int, float]:
    started = time.monotonic()
    response = requests.post(f"{url}/api/v1/lineage", json=event, timeout=30)
    return response.status_code, time.monotonic() - started


@contextmanager
def projector_paused(db_url: str):
    """The server's projector process stopped (SIGSTOP) meanwhile: stored events stay pending."""
    found = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "project" in (p.info["cmdline"] or []) and p.environ().get("MARQUEZ_DB_URL") == db_url
    ]
    assert len(found) == 1, found
    found[0].suspend()
    try:
        yield
    finally:
        found[0].resume()


def _backlog(url: str, ns: str, n: int) -> None:
    for _ in range(n):
        post_ok(url, run_event("START", namespace=ns, job="stuck", run_id=str(uuid.uuid4()), event_time=T))


def test_acknowledgements_are_held_while_the_projector_is_behind(start_builtin):
    server = start_builtin({"MARQUEZ_MAX_PENDING_EVENTS": str(LIMIT)})
    ns = unique("held")
    post_ok(server.url, run_event("START", namespace=ns, job="reader", run_id=str(uuid.uuid4()), event_time=T))
    assert get_json(server.url, f"/namespaces/{ns}/jobs/reader")["name"] == "reader"
    status, took = _post(server.url, run_event("START", namespace=ns, job="a", run_id=str(uuid.uuid4()), event_time=T))
    assert status == 201 and took < 1.0  # no backlog: not held

    with projector_paused(server.db_url), psycopg.connect(server.db_url, autocommit=True) as conn:
        _backlog(server.url, ns, LIMIT + 2)  # held too, each at most 2 s, from the limit on
        reads: list[float] = []

        def read() -> None:  # while acknowledgements are held, a read of something else answers
            started = time.monotonic()
            assert requests.get(f"{server.url}/api/v1/namespaces/{ns}/jobs/reader", timeout=30).status_code == 200
            reads.append(time.monotonic() - started)

        held_run = str(uuid.uuid4())
        answered: list[tuple[int, float]] = []
        poster = threading.Thread(
            target=lambda: answered.append(
                _post(server.url, run_event("START", namespace=ns, job="b", run_id=held_run, event_time=T))
            )
        )
        poster.start()
        time.sleep(0.5)
        read()
        # Stored (durable) while its acknowledgement is still held.
        (stored,) = conn.execute("SELECT count(*) FROM lineage_events WHERE run_uuid = %s", (held_run,)).fetchone()
        assert poster.is_alive() and stored == 1, answered
        poster.join()
        status, took = answered[0]
        assert status == 201
        assert limits.BACKPRESSURE_MAX_WAIT_S - 0.1 <= took < limits.BACKPRESSURE_MAX_WAIT_S + 2
        assert reads and reads[0] < 1.0
    deadline = time.monotonic() + 30
    while get_json(server.url, "/namespaces/" + ns + "/jobs")["totalCount"] < 4:  # reader, a, b, stuck
        assert time.monotonic() < deadline
        time.sleep(0.1)
    status, took = _post(server.url, run_event("START", namespace=ns, job="c", run_id=str(uuid.uuid4()), event_time=T))
    assert status == 201 and took < 1.0
    metrics = requests.get(f"{server.url}/metrics", timeout=10).text
    held = next(line for line in metrics.splitlines() if line.startswith("marquez_acknowledgement_held_seconds_count"))
    assert float(held.split()[-1]) >= 1


def test_zero_never_holds(start_builtin):
    server = start_builtin({"MARQUEZ_MAX_PENDING_EVENTS": "0"})
    ns = unique("unheld")
    with projector_paused(server.db_url):
        _backlog(server.url, ns, 3)
        status, took = _post(
            server.url, run_event("START", namespace=ns, job="a", run_id=str(uuid.uuid4()), event_time=T)
        )
        assert status == 201 and took < 1.0

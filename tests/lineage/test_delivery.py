"""Delivery of the outbox to a real Marquez (the fixture's): order, exactly once, faults, rejects, CLI, loop.

Each test writes its events under its own job namespace, all with one event time, so the
server's `/events/lineage` (ordered by event time, then arrival) lists them in the order they
arrived. No mocks: a server that is down is a closed port.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from lakehouse_core.marquez import MarquezTarget
from lineage.cli import app
from lineage.delivery import _cap_bytes, _delivery_lock, deliver_once, flush, follow
from lineage.outbox import Outbox, OutboxEvent
from lineage.sender import LineageSender

runner = CliRunner()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Scenario:
    """Events of one test: a unique namespace and event time, and what the server holds of them."""

    def __init__(self, url: str) -> None:
        self.namespace = f"delivery-{uuid.uuid4().hex[:10]}"
        self.url = url
        # A moment no other test uses, so reads can be narrowed to it.
        self.time = (
            dt.datetime(2020, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=uuid.uuid4().int % 10**8)
        ).isoformat()

    def event(self, i: int, event_type: str = "START", *, producer: bool = True) -> str:
        body = {
            "eventType": event_type,
            "eventTime": self.time,
            "run": {"runId": str(uuid.uuid4())},
            "job": {"namespace": self.namespace, "name": f"job{i}"},
            "inputs": [],
            "outputs": [],
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        }
        if producer:
            body["producer"] = "urn:test:delivery"
        return json.dumps(body)

    def stored(self) -> list[tuple[str, str]]:
        """(job name, event type) of this scenario's events in the server, in arrival order."""
        response = requests.get(
            f"{self.url}/api/v1/events/lineage",
            params={"after": self.time, "before": self.time, "sortDirection": "asc", "limit": 10000},
            timeout=10,
        )
        response.raise_for_status()
        events = [e for e in response.json()["events"] if e["job"]["namespace"] == self.namespace]
        return [(e["job"]["name"], e["eventType"]) for e in events]


def _names(bodies: list[str]) -> list[tuple[str, str]]:
    return [(json.loads(b)["job"]["name"], json.loads(b)["eventType"]) for b in bodies]


@pytest.fixture
def scenario(marquez_url: str) -> Scenario:
    return Scenario(marquez_url)


@pytest.fixture
def target(marquez_url: str) -> MarquezTarget:
    return MarquezTarget(marquez_url, "external")


@pytest.fixture
def down() -> MarquezTarget:
    """A Marquez that is not there: nothing listens on this port."""
    return MarquezTarget(f"http://127.0.0.1:{_free_port()}", "external")


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    return Outbox(tmp_path / "outbox.sqlite3")


# --- order and exactly once ------------------------------------------------------------------


@pytest.mark.parametrize("batch", [None, False], ids=["batch-endpoint-if-any", "one-by-one"])
def test_delivers_in_order_and_never_twice(outbox, target, scenario, marquez_kind, batch):
    bodies = [scenario.event(i, t) for i in range(15) for t in ("START", "COMPLETE")]
    for body in bodies:
        outbox.append(body)
    sender = LineageSender(target, batch=batch)
    settled = []

    result = deliver_once(outbox, target, sender=sender, chunk_events=7, progress=settled.append)

    assert (result.delivered, result.rejected, result.remaining, result.error) == (30, 0, 0, None)
    assert sum(settled) == 30 and len(settled) >= 5  # chunks of at most 7
    assert scenario.stored() == _names(bodies)
    if marquez_kind == "builtin":
        assert sender.batch is (batch is None)  # probed once: the built-in server has the batch endpoint
    assert {e.status for e in outbox.events(limit=100)} == {"delivered"}

    again = deliver_once(outbox, target, sender=sender)
    assert (again.delivered, again.remaining) == (0, 0)
    assert scenario.stored() == _names(bodies)  # nothing sent twice
    sender.close()


def test_max_events_limits_a_pass(outbox, target, scenario):
    bodies = [scenario.event(i) for i in range(5)]
    for body in bodies:
        outbox.append(body)
    first = deliver_once(outbox, target, max_events=2)
    assert (first.delivered, first.remaining) == (2, 3)
    assert scenario.stored() == _names(bodies[:2])
    assert deliver_once(outbox, target).delivered == 3
    assert scenario.stored() == _names(bodies)


def test_resending_after_a_lost_acknowledgement_is_harmless(tmp_path, target, scenario, marquez_kind):
    if marquez_kind != "builtin":
        pytest.skip("real Marquez stores a re-sent event again; only the built-in server ignores it")
    bodies = [scenario.event(i) for i in range(4)]
    first, second = Outbox(tmp_path / "a.sqlite3"), Outbox(tmp_path / "b.sqlite3")
    for body in bodies:
        first.append(body)
        second.append(body)  # as if the acknowledgements of `first` had been lost
    assert deliver_once(first, target).delivered == 4
    assert deliver_once(second, target).delivered == 4  # acknowledged again ...
    assert scenario.stored() == _names(bodies)  # ... and stored once


# --- Marquez down --------------------------------------------------------------------------


@pytest.mark.parametrize("batch", [None, False], ids=["batch-endpoint-if-any", "one-by-one"])
def test_server_down_leaves_events_owed_with_the_error(outbox, down, scenario, batch):
    seqs = [outbox.append(scenario.event(i)) for i in range(3)]

    result = deliver_once(outbox, down, batch=batch)

    assert (result.delivered, result.failed, result.remaining, result.unreachable) == (0, 1, 3, True)
    assert down.url in result.error and "refused" in result.error.lower()
    head, *rest = outbox.pending()
    assert (head.seq, head.status, head.attempts) == (seqs[0], "failed", 1)
    assert down.url in head.last_error
    assert [(e.seq, e.status) for e in rest] == [(seqs[1], "pending"), (seqs[2], "pending")]
    assert outbox.last_error().seq == seqs[0]


def test_events_wait_in_order_and_go_once_the_server_answers(outbox, down, target, scenario):
    bodies = [scenario.event(i, t) for i in range(3) for t in ("START", "COMPLETE")]
    for body in bodies[:4]:
        outbox.append(body)
    assert deliver_once(outbox, down).remaining == 4
    for body in bodies[4:]:  # more events arrive while the server is down
        outbox.append(body)
    result = deliver_once(outbox, target)
    assert (result.delivered, result.remaining) == (6, 0)
    assert scenario.stored() == _names(bodies)
    assert outbox.last_error() is None  # a delivered event keeps no error


# --- events Marquez refuses for good -----------------------------------------------------------


@pytest.mark.parametrize("batch", [None, False], ids=["batch-endpoint-if-any", "one-by-one"])
def test_a_rejected_event_is_set_aside_and_the_rest_still_go(outbox, target, scenario, batch):
    good_before = scenario.event(0)
    outbox.append(good_before)
    bad = outbox.append(scenario.event(1, producer=False))  # Marquez answers 422: producer is required
    good_after = [scenario.event(i) for i in (2, 3)]
    for body in good_after:
        outbox.append(body)

    result = deliver_once(outbox, target, batch=batch)

    assert (result.delivered, result.rejected, result.remaining, result.error) == (3, 1, 0, None)
    (rejected,) = outbox.events(status="rejected")
    assert rejected.seq == bad
    assert rejected.last_error.startswith("422") and "producer" in rejected.last_error
    assert scenario.stored() == _names([good_before, *good_after])
    counts = outbox.counts()
    assert (counts.delivered, counts.rejected, counts.undelivered) == (3, 1, 0)

    # Not retried: a rejected event is no longer owed.
    assert deliver_once(outbox, target, batch=batch).rejected == 0
    assert outbox.events(status="rejected")[0].attempts == 1


def test_a_refused_api_key_blocks_but_sets_nothing_aside(outbox, scenario, postgres, tmp_path):
    """401 is about us, not the event: the events stay owed (in order) until the key is right.
    (A built-in server of its own, started with a key, whatever Marquez the session uses.)"""
    from tests.marquez_fixture import start_builtin_server

    server = start_builtin_server(postgres, tmp_path / "logs", extra_env={"MARQUEZ_API_KEY": "right"})
    try:
        scenario.url = server.url
        bodies = [scenario.event(i) for i in range(3)]
        for body in bodies:
            outbox.append(body)
        for batch in (None, False):
            wrong = deliver_once(outbox, MarquezTarget(server.url, "external", "wrong"), batch=batch)
            assert (wrong.delivered, wrong.rejected, wrong.remaining, wrong.unreachable) == (0, 0, 3, False)
            assert wrong.error.startswith("401")
        right = LineageSender(MarquezTarget(server.url, "external", "right"))
        assert deliver_once(outbox, right.target, sender=right).delivered == 3
        assert right.batch is True  # the 401 answers decided nothing about the batch endpoint
        right.close()
        headers = {"Authorization": "Bearer right"}
        response = requests.get(
            f"{server.url}/api/v1/events/lineage", params={"sortDirection": "asc"}, headers=headers, timeout=10
        )
        assert [(e["job"]["name"], e["eventType"]) for e in response.json()["events"]] == _names(bodies)
    finally:
        server.stop()


# --- the loop ------------------------------------------------------------------------------


def test_follow_waits_with_backoff_then_delivers_when_marquez_comes_up(outbox, scenario, postgres, tmp_path):
    # A built-in server of its own, started late on a chosen port, whatever Marquez the session uses.
    from tests.marquez_fixture import start_builtin_server

    port = _free_port()
    target = MarquezTarget(f"http://127.0.0.1:{port}", "external")
    bodies = [scenario.event(i, t) for i in range(4) for t in ("START", "COMPLETE")]
    for body in bodies[:3]:
        outbox.append(body)
    stop = threading.Event()
    loop = threading.Thread(target=follow, args=(outbox, target), kwargs={"stop": stop, "backoff_max_s": 1.0})
    loop.start()
    server = None
    try:
        time.sleep(2.0)
        head = outbox.pending()[0]
        assert head.status == "failed" and "refused" in head.last_error.lower()
        assert 2 <= head.attempts <= 5  # backoff 0.5 s, 1 s, 1 s ...: no busy loop
        server = start_builtin_server(postgres, tmp_path / "logs", port=port)
        scenario.url = server.url
        _wait(lambda: outbox.counts().undelivered == 0, 15)
        started = time.monotonic()
        for body in bodies[3:]:  # while the loop runs, new events go out within about a second
            outbox.append(body)
        _wait(lambda: outbox.counts().undelivered == 0, 5)
        assert time.monotonic() - started < 3
        assert scenario.stored() == _names(bodies)
    finally:
        stop.set()
        loop.join(10)
        if server is not None:
            server.stop()
    assert not loop.is_alive()


def _wait(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not reached within {timeout_s}s"
        time.sleep(0.05)


def test_one_deliverer_at_a_time(outbox, target, scenario):
    outbox.append(scenario.event(0))
    with _delivery_lock(outbox, 0) as held:
        assert held
        result = deliver_once(outbox, target, lock_wait_s=0.1)
        assert result.busy and result.delivered == 0 and result.remaining == 1
    assert deliver_once(outbox, target, lock_wait_s=0.1).delivered == 1


# --- flush at the end of a run ----------------------------------------------------------------


def test_flush_delivers_what_is_owed(outbox, target, scenario):
    bodies = [scenario.event(i) for i in range(3)]
    for body in bodies:
        outbox.append(body)
    result = flush(5.0, outbox=outbox, target=target)
    assert (result.delivered, result.remaining) == (3, 0)
    assert scenario.stored() == _names(bodies)


def test_flush_with_marquez_down_returns_within_its_budget_and_warns_once(outbox, down, scenario, caplog):
    for i in range(50):
        outbox.append(scenario.event(i))
    caplog.set_level(logging.WARNING, logger="lineage")
    started = time.monotonic()
    result = flush(1.0, outbox=outbox, target=down)
    assert time.monotonic() - started < 1.5
    assert result.unreachable and result.remaining == 50
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "50 events wait in the outbox" in warnings[0].getMessage()


def test_flush_never_raises(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="lineage")
    not_a_db = tmp_path / "outbox.sqlite3"
    not_a_db.write_text("this is not SQLite")
    assert flush(0.5, outbox=Outbox(not_a_db), target=MarquezTarget("http://127.0.0.1:1", "external")) is None
    assert len(caplog.records) == 1


def test_flush_leaves_the_work_to_a_busy_deliverer(outbox, down, scenario, caplog):
    outbox.append(scenario.event(0))
    caplog.set_level(logging.WARNING, logger="lineage")
    with _delivery_lock(outbox, 0):
        started = time.monotonic()
        result = flush(0.3, outbox=outbox, target=down)
    assert result.busy and time.monotonic() - started < 0.6
    assert not caplog.records  # the one holding the lock delivers; nothing to warn about


# --- CLI -------------------------------------------------------------------------------------


def _cli(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_replay_exit_codes(tmp_path, marquez_url, scenario, down):
    box = str(tmp_path / "outbox.sqlite3")
    outbox = Outbox(box)
    bodies = [scenario.event(i) for i in range(5)]
    for body in bodies:
        outbox.append(body)

    unreachable = _cli("replay", "--outbox", box, "--url", down.url, "--retries", "0")
    assert unreachable.exit_code == 2, unreachable.output
    assert down.url in unreachable.output and "cannot be reached" in unreachable.output

    delivered = _cli("replay", "--outbox", box, "--url", marquez_url)
    assert delivered.exit_code == 0, delivered.output
    assert "delivered 5, rejected 0, still owed 0" in delivered.output
    assert scenario.stored() == _names(bodies)

    outbox.append(scenario.event(5, producer=False))
    outbox.append(scenario.event(6))
    refused = _cli("replay", "--outbox", box, "--url", marquez_url)
    assert refused.exit_code == 1, refused.output  # something Marquez will never hold
    assert "delivered 1, rejected 1" in refused.output and "lineage events --status rejected" in refused.output

    nothing = _cli("replay", "--outbox", box, "--url", marquez_url)
    assert nothing.exit_code == 0 and "nothing to deliver" in nothing.output


def test_replay_uses_marquez_url_and_names_it_when_down(tmp_path, scenario, down, monkeypatch):
    monkeypatch.setenv("MARQUEZ_URL", down.url)
    box = str(tmp_path / "outbox.sqlite3")
    Outbox(box).append(scenario.event(0))
    result = _cli("replay", "--outbox", box, "--retries", "0")
    assert result.exit_code == 2 and down.url in result.output and "MARQUEZ_URL" in result.output


def test_deliver_once_from_the_cli(tmp_path, marquez_url, scenario):
    box = str(tmp_path / "outbox.sqlite3")
    Outbox(box).append(scenario.event(0))
    result = _cli("deliver", "--outbox", box, "--url", marquez_url, "--one-by-one")
    assert result.exit_code == 0, result.output
    assert scenario.stored() == [("job0", "START")]


def test_status_shows_rejected_oldest_owed_and_last_error(tmp_path, target, down, scenario):
    box = str(tmp_path / "outbox.sqlite3")
    outbox = Outbox(box)
    outbox.append(scenario.event(0, producer=False))
    outbox.append(scenario.event(1))
    deliver_once(outbox, target)
    owed = outbox.append(scenario.event(2, "COMPLETE"))
    deliver_once(outbox, down)

    result = _cli("status", "--outbox", box)
    assert result.exit_code == 0, result.output
    rows = [line.split("│")[1:3] for line in result.output.splitlines() if line.count("│") == 3]
    counts = {label.strip(): count.strip() for label, count in rows}
    assert counts == {"pending": "0", "failed (will retry)": "1", "delivered": "1", "rejected (set aside)": "1"}
    assert f"seq {owed} COMPLETE {scenario.namespace}/job2" in result.output
    assert "last error:" in result.output and down.url in result.output

    listed = _cli("events", "--outbox", box, "--status", "rejected")
    assert "producer must not be null" in listed.output and "job1" not in listed.output


# --- the background process `lakehouse up` starts ---------------------------------------------------


def test_background_loop_started_and_stopped_like_a_service(data_dir, marquez_url, scenario, monkeypatch):
    from lakehouse_core.settings import get_settings
    from orchestration.services import lineage_delivery

    monkeypatch.setenv("MARQUEZ_URL", marquez_url)
    settings = get_settings()
    outbox = Outbox()  # the default one, under the test's data dir, as the process sees it
    outbox.append(scenario.event(0))
    pid, started = lineage_delivery.start(settings)
    try:
        assert started and lineage_delivery.running_pid(settings) == pid
        assert lineage_delivery.start(settings) == (pid, False)  # never two loops
        outbox.append(scenario.event(1))
        _wait(lambda: outbox.counts().undelivered == 0, 15)
        assert scenario.stored() == [("job0", "START"), ("job1", "START")]
    finally:
        assert lineage_delivery.stop(settings)
    assert lineage_delivery.running_pid(settings) is None
    assert not lineage_delivery.stop(settings)
    log = lineage_delivery.log_file(settings).read_text()
    assert marquez_url in log and "delivery stopped" in log


# --- chunking ---------------------------------------------------------------------------------


def test_chunks_are_capped_by_size_but_never_empty(monkeypatch):
    import lineage.delivery as delivery

    monkeypatch.setattr(delivery, "CHUNK_BYTES", 100)

    def event(seq: int, size: int) -> OutboxEvent:
        return OutboxEvent(seq, None, None, "t", None, None, "x" * size, "pending", 0, None, "t", None)

    assert [e.seq for e in _cap_bytes([event(1, 40), event(2, 40), event(3, 40)])] == [1, 2]
    assert [e.seq for e in _cap_bytes([event(1, 500), event(2, 1)])] == [1]


# --- an event the server keeps failing on (5xx) ------------------------------------------------


class PoisonProxy:
    """A real HTTP proxy in front of the real server that answers `status` to any request whose
    body holds `marker` (a whole batch included: as a server that breaks on one event does)."""

    def __init__(self, upstream: str, marker: str, status: int = 500, everything: bool = False) -> None:
        import http.server

        proxy = self
        self.hits = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if everything or marker.encode() in body:
                    proxy.hits += 1
                    code, payload, kind = status, b'{"code": 500, "message": "internal error"}', "application/json"
                else:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                    answer = requests.request(
                        self.command, upstream + self.path, data=body or None, headers=headers, timeout=30
                    )
                    code, payload = answer.status_code, answer.content
                    kind = answer.headers.get("Content-Type", "application/json")
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _poisoned(scenario: Scenario, outbox: Outbox) -> tuple[list[str], int]:
    """Two good events, one the proxy fails on (its job is `job-poison`), two good ones."""
    good = [scenario.event(i) for i in range(4)]
    for body in good[:2]:
        outbox.append(body)
    bad = json.loads(scenario.event(99))
    bad["job"]["name"] = "job-poison"
    seq = outbox.append(json.dumps(bad))
    for body in good[2:]:
        outbox.append(body)
    return good, seq


@pytest.mark.parametrize("batch", [None, False], ids=["batch-endpoint", "one-by-one"])
def test_a_poisoned_outbox_delivers_every_good_event_and_reports_the_bad_one(outbox, marquez_url, scenario, batch):
    from lineage.delivery import MAX_SERVER_ERRORS

    proxy = PoisonProxy(marquez_url, "job-poison")
    target = MarquezTarget(proxy.url, "external")
    try:
        good, bad = _poisoned(scenario, outbox)
        sender = LineageSender(target, batch=batch)
        results = [deliver_once(outbox, target, sender=sender) for _ in range(MAX_SERVER_ERRORS)]
        sender.close()
        assert sum(r.set_aside for r in results) == 1
        assert results[-1].remaining == 0 and results[-1].error is None
        # The good events before it went at once; those after it once it was set aside.
        assert results[0].delivered == 2 and sum(r.delivered for r in results) == 4
        assert scenario.stored() == _names(good)
        (failed,) = outbox.set_aside_failed()
        assert (failed.seq, failed.status, failed.server_errors) == (bad, "failed", MAX_SERVER_ERRORS)
        assert "500" in failed.last_error
        counts = outbox.counts()
        assert (counts.delivered, counts.set_aside, counts.undelivered, counts.failed) == (4, 1, 0, 0)

        status = runner.invoke(app, ["status", "--outbox", str(outbox.path)], env={"COLUMNS": "250"})
        assert "failed and set aside (Marquez kept answering 5xx): 1" in status.output, status.output
        listed = runner.invoke(
            app, ["events", "--status", "failed", "--outbox", str(outbox.path)], env={"COLUMNS": "250"}
        )
        assert "job-poison" in listed.output

        # Still failing: replay --failed tries it again and sets it aside again.
        replay = runner.invoke(
            app, ["replay", "--failed", "--retries", "0", "--url", proxy.url, "--outbox", str(outbox.path)]
        )
        assert "1 events set aside as failed are owed again" in replay.output, replay.output
        assert outbox.get(bad).set_aside_at is None and outbox.counts().undelivered == 1
    finally:
        proxy.close()
    # The server is fixed: replay --failed delivers it.
    replay = runner.invoke(app, ["replay", "--failed", "--url", marquez_url, "--outbox", str(outbox.path)])
    assert replay.exit_code == 0, replay.output
    assert outbox.get(bad).status == "delivered" and outbox.counts().set_aside == 0
    assert ("job-poison", "START") in scenario.stored()


def test_an_unavailable_server_never_sets_an_event_aside(outbox, marquez_url, scenario):
    """503 (and 502/504) say the server is unavailable, not that the event breaks it: retried for ever."""
    proxy = PoisonProxy(marquez_url, "job-poison", status=503)
    target = MarquezTarget(proxy.url, "external")
    try:
        _good, bad = _poisoned(scenario, outbox)
        for _ in range(8):
            result = deliver_once(outbox, target, batch=False)
        assert result.set_aside == 0 and result.remaining == 3 and "503" in result.error
        event = outbox.get(bad)
        assert (event.status, event.set_aside_at, event.server_errors) == ("failed", None, 0)
    finally:
        proxy.close()


def test_a_follow_loop_is_not_wedged_by_a_poisoned_event(outbox, marquez_url, scenario):
    proxy = PoisonProxy(marquez_url, "job-poison")
    target = MarquezTarget(proxy.url, "external")
    stop = threading.Event()
    try:
        good, bad = _poisoned(scenario, outbox)
        loop = threading.Thread(target=follow, args=(outbox, target), kwargs={"stop": stop, "backoff_max_s": 0.2})
        loop.start()
        _wait(lambda: outbox.counts().set_aside == 1 and outbox.counts().undelivered == 0, 30)
        assert scenario.stored() == _names(good)
    finally:
        stop.set()
        proxy.close()


def test_a_server_failing_on_everything_sets_nothing_aside(outbox, marquez_url, scenario):
    """500 to every request (an outage that answers 500, as Marquez does with its database down):
    no event is to blame, so none is set aside however long it lasts."""
    from lineage.delivery import MAX_SERVER_ERRORS

    proxy = PoisonProxy(marquez_url, "", everything=True)
    target = MarquezTarget(proxy.url, "external")
    try:
        seqs = [outbox.append(scenario.event(i)) for i in range(3)]
        for _ in range(MAX_SERVER_ERRORS + 3):
            result = deliver_once(outbox, target, batch=False)
        assert (result.set_aside, result.remaining) == (0, 3) and "500" in result.error
        head = outbox.get(seqs[0])
        assert (head.status, head.set_aside_at) == ("failed", None) and head.server_errors == MAX_SERVER_ERRORS + 3
    finally:
        proxy.close()
    assert deliver_once(outbox, MarquezTarget(marquez_url, "external")).delivered == 3

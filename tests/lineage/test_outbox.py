"""The outbox is durable, ordered, and safe for several processes appending at once."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from lineage.outbox import Outbox, default_path

WRITERS, EVENTS_EACH = 4, 250


def _event(writer: int, i: int, event_type: str = "START") -> str:
    return json.dumps(
        {
            "eventTime": "2025-01-03T00:00:00+00:00",
            "eventType": event_type,
            "run": {"runId": f"00000000-0000-4000-8000-{writer:06d}{i:06d}"},
            "job": {"namespace": "lakehouse", "name": f"writer{writer}"},
            "producer": "urn:test",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        }
    )


def _append_many(path: str, writer: int, barrier) -> None:
    outbox = Outbox(path)
    barrier.wait()  # all writers start together, on a file none of them has created yet
    for i in range(EVENTS_EACH):
        outbox.append(_event(writer, i))


def test_concurrent_processes_lose_nothing(tmp_path: Path):
    path = tmp_path / "outbox.sqlite3"
    ctx = multiprocessing.get_context("spawn")  # fresh interpreters, like dbt-ol next to Dagster
    barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=_append_many, args=(str(path), w, barrier)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * WRITERS

    rows = Outbox(path).pending(limit=10_000)
    assert len(rows) == WRITERS * EVENTS_EACH
    assert [r.seq for r in rows] == list(range(1, WRITERS * EVENTS_EACH + 1))
    written = [(json.loads(r.body)["job"]["name"], r.run_id) for r in rows]
    assert len(set(written)) == WRITERS * EVENTS_EACH
    # Each writer's events keep their order in the sequence.
    for w in range(WRITERS):
        mine = [r.run_id for r in rows if r.job_name == f"writer{w}"]
        assert mine == sorted(mine) and len(mine) == EVENTS_EACH


def test_survives_reopen_in_wal_mode(tmp_path: Path):
    path = tmp_path / "outbox.sqlite3"
    first = Outbox(path)
    seqs = [first.append(_event(0, i)) for i in range(3)]
    del first
    with sqlite3.connect(path) as con:
        assert con.execute("pragma journal_mode").fetchone() == ("wal",)
    again = Outbox(path)
    assert [r.seq for r in again.pending()] == seqs
    assert again.append(_event(0, 3)) == seqs[-1] + 1


def test_delivery_lifecycle_and_counts(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    a, b, c = (outbox.append(_event(1, i)) for i in range(3))
    counts = outbox.counts()
    assert (counts.pending, counts.failed, counts.delivered) == (3, 0, 0)
    oldest = counts.oldest_undelivered

    outbox.mark_failed(a, "503 from Marquez")
    failed = outbox.pending()[0]
    assert (failed.seq, failed.status, failed.attempts, failed.last_error) == (a, "failed", 1, "503 from Marquez")
    assert [r.seq for r in outbox.pending()] == [a, b, c]  # a failed event is still owed, in order

    assert outbox.mark_delivered([a, b]) == 2
    assert outbox.mark_delivered([a]) == 0  # exactly once: delivered stays delivered
    outbox.mark_failed(a, "late error")
    delivered = outbox.events(limit=3)[0]
    assert (delivered.status, delivered.attempts, delivered.last_error) == ("delivered", 2, None)
    assert delivered.delivered_at is not None

    counts = outbox.counts()
    assert (counts.pending, counts.failed, counts.delivered, counts.undelivered) == (1, 0, 2, 1)
    assert counts.oldest_undelivered >= oldest
    assert [r.seq for r in outbox.pending()] == [c]


def test_events_filters_by_run_and_keeps_the_latest(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    for i in range(5):
        outbox.append(_event(2, i))
    outbox.append(_event(2, 1, "COMPLETE"))
    run_1 = json.loads(_event(2, 1))["run"]["runId"]
    assert [(e.event_type, e.seq) for e in outbox.events(run_id=run_1)] == [("START", 2), ("COMPLETE", 6)]
    assert [e.seq for e in outbox.events(limit=2)] == [5, 6]


def test_rejects_what_is_not_an_event(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    with pytest.raises(ValueError):
        outbox.append("{not json")
    with pytest.raises(ValueError, match="eventTime"):
        outbox.append(json.dumps({"job": {}}))
    assert outbox.counts().pending == 0


def test_default_location_is_under_the_data_dir(data_dir: Path):
    assert default_path() == data_dir / "lineage" / "outbox.sqlite3"
    Outbox().append(_event(0, 0))
    assert (data_dir / "lineage" / "outbox.sqlite3").exists()


# The schema of the first outbox version, as files written by it hold it.
_V1_SCHEMA = """
create table events (
    seq integer primary key autoincrement,
    run_id text,
    event_type text,
    event_time text not null,
    job_namespace text,
    job_name text,
    body text not null,
    status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts integer not null default 0,
    last_error text,
    created_at text not null,
    delivered_at text
);
create index events_undelivered on events (seq) where status != 'delivered';
create index events_run on events (run_id, seq);
"""


def test_an_outbox_of_the_first_version_is_upgraded_in_place(tmp_path: Path):
    path = tmp_path / "outbox.sqlite3"
    with sqlite3.connect(path) as con:
        con.execute("pragma journal_mode = WAL")
        con.executescript(_V1_SCHEMA)
        for i, (status, error) in enumerate([("delivered", None), ("failed", "refused"), ("pending", None)]):
            con.execute(
                "insert into events (run_id, event_type, event_time, body, status, attempts, last_error, created_at) "
                "values (?, 'START', 't', ?, ?, ?, ?, 'c')",
                (f"r{i}", _event(3, i), status, int(status != "pending"), error),
            )
        con.execute("insert into events (event_time, body, created_at) values ('t', '{}', 'c')")
        con.execute("delete from events where seq = 4")  # the counter stays at 4: 4 is never handed out again
    con.close()

    outbox = Outbox(path)
    assert [(e.seq, e.status, e.last_error) for e in outbox.pending()] == [
        (2, "failed", "refused"),
        (3, "pending", None),
    ]
    outbox.mark_rejected(2, "422: producer must not be null")
    assert [e.seq for e in outbox.pending()] == [3]
    assert outbox.append(_event(3, 9)) == 5
    counts = outbox.counts()
    assert (counts.pending, counts.failed, counts.delivered, counts.rejected) == (2, 0, 1, 1)
    assert outbox.last_error().seq == 2

    with sqlite3.connect(path) as con:
        assert con.execute("pragma user_version").fetchone() == (3,)
        indexes = {name for (name,) in con.execute("select name from sqlite_master where type = 'index'")}
        assert {"events_undelivered", "events_run"} <= indexes
        assert con.execute("pragma integrity_check").fetchone() == ("ok",)
        # A process still running the first version's code appends as it always did.
        con.execute("insert into events (run_id, event_time, body, created_at) values ('old', 't', '{}', 'c')")
    con.close()
    assert Outbox(path).events(run_id="old")[0].seq == 6  # and a second opening does not migrate again


def test_rejected_is_final_and_not_owed(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    a, b = outbox.append(_event(4, 0)), outbox.append(_event(4, 1))
    outbox.mark_rejected(a, "400: malformed")
    outbox.mark_failed(a, "late transient error")  # does not bring it back
    outbox.mark_delivered([b])
    outbox.mark_rejected(b, "too late")  # a delivered event stays delivered
    assert [(e.status, e.last_error) for e in outbox.events()] == [("rejected", "400: malformed"), ("delivered", None)]
    assert outbox.pending() == [] and outbox.oldest_owed() is None
    assert outbox.counts().oldest_undelivered is None


def test_readers_find_the_outbox_the_config_names(tmp_path, monkeypatch):
    """`lineage deliver`, `status` and the end-of-run flush use `Outbox()`: the same file as the
    transport the emitters were given through OPENLINEAGE_CONFIG."""
    from lineage.outbox import default_path

    custom = tmp_path / "elsewhere" / "outbox.sqlite3"
    config = tmp_path / "openlineage.yml"
    config.write_text(f"transport:\n  type: lineage.transport.OutboxTransport\n  path: {custom}\n")
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    assert default_path() == custom
    config.write_text("transport:\n  type: console\n")
    assert default_path().name == "outbox.sqlite3" and default_path() != custom


def test_an_event_failing_with_server_errors_is_set_aside_after_the_bound(tmp_path: Path):
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    a = outbox.append(json.dumps({"eventTime": "2025-01-01T00:00:00Z", "run": {"runId": "r"}}))
    b = outbox.append(json.dumps({"eventTime": "2025-01-01T00:00:01Z", "run": {"runId": "r"}}))
    # Unreachable attempts do not count; a non-server error resets the run of server errors.
    assert not outbox.mark_failed(a, "refused", server_error=False, max_server_errors=2)
    assert not outbox.mark_failed(a, "500", server_error=True, max_server_errors=2)
    assert not outbox.mark_failed(a, "503", server_error=False, max_server_errors=2)
    assert not outbox.mark_failed(a, "500", server_error=True, max_server_errors=2)
    assert outbox.mark_failed(a, "500 again", server_error=True, max_server_errors=2)
    assert [e.seq for e in outbox.pending()] == [b]  # set aside: no longer owed, no longer blocking
    counts = outbox.counts()
    assert (counts.pending, counts.failed, counts.set_aside, counts.undelivered) == (1, 0, 1, 1)
    (failed,) = outbox.set_aside_failed()
    assert (failed.seq, failed.status, failed.last_error, failed.attempts) == (a, "failed", "500 again", 5)
    assert outbox.retry_failed() == 1
    assert [e.seq for e in outbox.pending()] == [a, b] and outbox.counts().set_aside == 0
    assert outbox.get(a).server_errors == 0


def test_a_version_2_outbox_is_upgraded_in_place(tmp_path: Path):
    path = tmp_path / "outbox.sqlite3"
    Outbox(path).append(json.dumps({"eventTime": "2025-01-01T00:00:00Z"}))
    with sqlite3.connect(path) as con:  # back to version 2: without the two new columns
        con.execute("alter table events drop column server_errors")
        con.execute("alter table events drop column set_aside_at")
        con.execute("pragma user_version = 2")
    outbox = Outbox(path)
    (event,) = outbox.pending()
    assert (event.server_errors, event.set_aside_at) == (0, None)
    with sqlite3.connect(path) as con:
        assert con.execute("pragma user_version").fetchone() == (3,)

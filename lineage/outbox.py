"""The durable local outbox: every OpenLineage event is written here first, delivered later.

One SQLite file (`<data dir>/lineage/outbox.sqlite3`) shared by every process that emits (dbt-ol
and Dagster steps run side by side). WAL lets readers work while one writer appends; writers
queue on SQLite's lock (busy timeout) instead of failing; `synchronous=FULL` makes each append
durable once `append` returns, so a crash right after an event was emitted does not lose it.

Rows are never deleted: `seq` (AUTOINCREMENT, never reused) is the order events are delivered
in, and a row only changes status:

- `pending`: not tried yet;
- `failed`: tried, the last attempt failed (`last_error`); it is still owed and is retried;
- `delivered`: accepted by the receiver (`delivered_at`), never sent again.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import get_settings

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
# Long enough to outlast any other process's append (milliseconds each), short enough that a
# wedged writer shows up as an error instead of a silent hang.
BUSY_TIMEOUT_S = 60.0

_SCHEMA = f"""
create table if not exists events (
    seq integer primary key autoincrement,
    run_id text,
    event_type text,
    event_time text not null,
    job_namespace text,
    job_name text,
    body text not null,
    status text not null default '{PENDING}' check (status in ('{PENDING}', '{DELIVERED}', '{FAILED}')),
    attempts integer not null default 0,
    last_error text,
    created_at text not null,
    delivered_at text
);
create index if not exists events_undelivered on events (seq) where status != '{DELIVERED}';
create index if not exists events_run on events (run_id, seq);
"""

_COLUMNS = (
    "seq, run_id, event_type, event_time, job_namespace, job_name, body, "
    "status, attempts, last_error, created_at, delivered_at"
)


def default_path() -> Path:
    return get_settings().data_dir / "lineage" / "outbox.sqlite3"


@dataclass(frozen=True)
class OutboxEvent:
    seq: int
    run_id: str | None  # None for DatasetEvent / JobEvent
    event_type: str | None
    event_time: str
    job_namespace: str | None
    job_name: str | None
    body: str
    status: str
    attempts: int
    last_error: str | None
    created_at: str
    delivered_at: str | None


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    delivered: int
    failed: int
    oldest_undelivered: str | None  # created_at of the oldest event still owed

    @property
    def undelivered(self) -> int:
        return self.pending + self.failed


class Outbox:
    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self._initialised = False

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        # A connection per operation: safe across threads and forks, and cheap next to the fsync.
        if not self._initialised:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            con.execute("pragma synchronous = FULL")
            if not self._initialised:
                # WAL is a property of the file (persists); set it before the first write.
                # Switching the journal mode does not wait on SQLite's busy handler, so
                # processes opening a new outbox together take turns through a file lock.
                with open(self.path.with_name(self.path.name + ".init-lock"), "w") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    con.execute("pragma journal_mode = WAL")
                    con.executescript(_SCHEMA)
                self._initialised = True
            yield con
        finally:
            con.close()

    def append(self, event_json: str) -> int:
        """Store one serialized event as `pending`; returns its sequence number."""
        event = json.loads(event_json)
        if not isinstance(event, dict) or not event.get("eventTime"):
            raise ValueError("not an OpenLineage event: no eventTime")
        run = event.get("run") or {}
        job = event.get("job") or {}
        with self._connect() as con:
            cursor = con.execute(
                "insert into events (run_id, event_type, event_time, job_namespace, job_name, body, created_at) "
                "values (?, ?, ?, ?, ?, ?, ?)",
                (
                    run.get("runId"),
                    event.get("eventType"),
                    event["eventTime"],
                    job.get("namespace"),
                    job.get("name"),
                    event_json,
                    _now(),
                ),
            )
            return int(cursor.lastrowid)

    def pending(self, limit: int = 100) -> list[OutboxEvent]:
        """Events still owed to the receiver (`pending` and `failed`), oldest first."""
        return self._select(f"where status != '{DELIVERED}' order by seq limit ?", (limit,))

    def events(self, run_id: str | None = None, limit: int = 50) -> list[OutboxEvent]:
        """The most recent events (of one run, if given), in sequence order."""
        where = "where run_id = ?" if run_id else ""
        params = (run_id, limit) if run_id else (limit,)
        rows = self._select(f"{where} order by seq desc limit ?", params)
        return rows[::-1]

    def mark_delivered(self, seqs: Iterable[int]) -> int:
        """Mark events delivered; returns how many changed (already delivered ones are left alone)."""
        seqs = list(seqs)
        if not seqs:
            return 0
        with self._connect() as con:
            cursor = con.execute(
                f"update events set status = '{DELIVERED}', attempts = attempts + 1, delivered_at = ?, "
                f"last_error = null where status != '{DELIVERED}' and seq in (select value from json_each(?))",
                (_now(), json.dumps(seqs)),
            )
            return cursor.rowcount

    def mark_failed(self, seq: int, error: str) -> None:
        """Record a failed delivery attempt; the event stays owed."""
        with self._connect() as con:
            con.execute(
                f"update events set status = '{FAILED}', attempts = attempts + 1, last_error = ? "
                f"where seq = ? and status != '{DELIVERED}'",
                (error, seq),
            )

    def counts(self) -> OutboxCounts:
        with self._connect() as con:
            by_status = dict(con.execute("select status, count(*) from events group by status").fetchall())
            (oldest,) = con.execute(
                f"select min(created_at) from events where status != '{DELIVERED}'"
            ).fetchone()
        return OutboxCounts(
            pending=by_status.get(PENDING, 0),
            delivered=by_status.get(DELIVERED, 0),
            failed=by_status.get(FAILED, 0),
            oldest_undelivered=oldest,
        )

    def _select(self, clause: str, params: tuple) -> list[OutboxEvent]:
        with self._connect() as con:
            rows = con.execute(f"select {_COLUMNS} from events {clause}", params).fetchall()
        return [OutboxEvent(*row) for row in rows]


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")

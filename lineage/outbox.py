"""The durable local outbox: every OpenLineage event is written here first, delivered later.

One SQLite file (`<data dir>/lineage/outbox.sqlite3`) shared by every process that emits (dbt-ol
and Dagster steps run side by side). WAL lets readers work while one writer appends; writers
queue on SQLite's lock (busy timeout) instead of failing; `synchronous=FULL` makes each append
durable once `append` returns, so a crash right after an event was emitted does not lose it.

Rows are never deleted: `seq` (AUTOINCREMENT, never reused) is the order events are delivered
in, and a row only changes status:

- `pending`: not tried yet;
- `failed`: tried, the last attempt failed (`last_error`); it is still owed and is retried, until
  the server has answered it with an error of its own (a 5xx other than 502/503/504) too many
  times in a row (`server_errors`): then it is set aside (`set_aside_at`), still `failed`, no
  longer owed, so it stops blocking the events after it; `lineage replay --failed` retries it;
- `delivered`: accepted by the receiver (`delivered_at`), never sent again;
- `rejected`: refused for good by the receiver (a 4xx: the event itself is bad); set aside with
  the reason in `last_error`, not retried, and no longer blocks the events after it.

`last_attempt_at` says when the last delivery attempt was made (so the latest error can be shown).

The schema is versioned with `pragma user_version`. Version 2 (the `rejected` status and
`last_attempt_at`) is reached from an outbox written by the first version by rebuilding the table
(SQLite cannot change a CHECK constraint in place), once, under the same file lock as creation.
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

from lakehouse_core.settings import get_settings

PENDING, DELIVERED, FAILED, REJECTED = "pending", "delivered", "failed", "rejected"
SCHEMA_VERSION = 3
# Long enough to outlast any other process's append (milliseconds each), short enough that a
# wedged writer shows up as an error instead of a silent hang.
BUSY_TIMEOUT_S = 60.0


def _table(name: str) -> str:
    return f"""
create table if not exists {name} (
    seq integer primary key autoincrement,
    run_id text,
    event_type text,
    event_time text not null,
    job_namespace text,
    job_name text,
    body text not null,
    status text not null default '{PENDING}'
        check (status in ('{PENDING}', '{DELIVERED}', '{FAILED}', '{REJECTED}')),
    attempts integer not null default 0,
    last_error text,
    created_at text not null,
    delivered_at text,
    last_attempt_at text,
    server_errors integer not null default 0,
    set_aside_at text
)"""


_INDEXES = (
    # Partial: stays small however many events were delivered. Queries for owed events repeat
    # `status != 'delivered'` literally so that SQLite can use it.
    f"create index if not exists events_undelivered on events (seq) where status != '{DELIVERED}'",
    "create index if not exists events_run on events (run_id, seq)",
)
_V1_COLUMNS = (
    "seq, run_id, event_type, event_time, job_namespace, job_name, body, "
    "status, attempts, last_error, created_at, delivered_at"
)
_V2_COLUMNS = _V1_COLUMNS + ", last_attempt_at"
_COLUMNS = _V2_COLUMNS + ", server_errors, set_aside_at"
# Still owed to the receiver: never sent, or sent and failed (rejected ones and failed ones set
# aside are not).
_OWED = f"status != '{DELIVERED}' and status != '{REJECTED}' and set_aside_at is null"
_SET_ASIDE_FAILED = f"status = '{FAILED}' and set_aside_at is not null"


def default_path() -> Path:
    """The outbox the emitters write to: the `path:` of the outbox transport in the
    openlineage.yml that `OPENLINEAGE_CONFIG` names, else `<data dir>/lineage/outbox.sqlite3`.
    Readers (delivery, status) must find the same file the writers use."""
    configured = _configured_path()
    return configured if configured is not None else get_settings().outbox_default_path


def _configured_path() -> Path | None:
    config = get_settings().openlineage_config_setting
    if not config or not Path(config).is_file():
        return None
    import yaml  # a dependency of dbt-core and openlineage-python

    try:
        transport = (yaml.safe_load(Path(config).read_text()) or {}).get("transport") or {}
    except yaml.YAMLError:
        return None  # openlineage-python will refuse it loudly where events are emitted
    if str(transport.get("type", "")).endswith("OutboxTransport") and transport.get("path"):
        return Path(transport["path"])
    return None


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
    last_attempt_at: str | None = None
    server_errors: int = 0  # consecutive attempts the server answered with an error of its own
    set_aside_at: str | None = None  # failed too often: set aside, no longer owed


@dataclass(frozen=True)
class OutboxCounts:
    pending: int
    delivered: int
    failed: int
    oldest_undelivered: str | None  # created_at of the oldest event still owed
    rejected: int = 0  # set aside for good: not owed any more
    set_aside: int = 0  # failed: the server kept answering an error of its own; not owed any more

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
                    con.execute(_table("events"))
                    _migrate(con)
                    for index in _INDEXES:
                        con.execute(index)
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
            assert cursor.lastrowid is not None  # an INSERT sets it
            return cursor.lastrowid

    def append_many(self, events_json: Iterable[str]) -> int:
        """Store many serialized events as `pending` in one transaction (one fsync); returns how
        many. For importing a backlog; emitters append one event at a time."""
        rows = []
        now = _now()
        for event_json in events_json:
            event = json.loads(event_json)
            if not isinstance(event, dict) or not event.get("eventTime"):
                raise ValueError("not an OpenLineage event: no eventTime")
            run, job = event.get("run") or {}, event.get("job") or {}
            rows.append((run.get("runId"), event.get("eventType"), event["eventTime"], job.get("namespace"),
                         job.get("name"), event_json, now))  # fmt: skip
        with self._connect() as con:
            con.execute("begin immediate")
            try:
                con.executemany(
                    "insert into events (run_id, event_type, event_time, job_namespace, job_name, body, created_at) "
                    "values (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        return len(rows)

    def pending(self, limit: int = 100) -> list[OutboxEvent]:
        """Events still owed to the receiver (`pending` and `failed`), oldest first."""
        return self._select(f"where {_OWED} order by seq limit ?", (limit,))

    def events(self, run_id: str | None = None, limit: int = 50, status: str | None = None) -> list[OutboxEvent]:
        """The most recent events (of one run, with one status, if given), in sequence order."""
        conditions, params = [], []
        if run_id:
            conditions.append("run_id = ?")
            params.append(run_id)
        if status:
            conditions.append("status = ?")
            params.append(status)
        where = ("where " + " and ".join(conditions)) if conditions else ""
        rows = self._select(f"{where} order by seq desc limit ?", (*params, limit))
        return rows[::-1]

    def oldest_owed(self) -> OutboxEvent | None:
        """The event at the head of the queue: the next one delivery will send."""
        rows = self.pending(limit=1)
        return rows[0] if rows else None

    def last_error(self) -> OutboxEvent | None:
        """The event with the most recent delivery error (failed or rejected), if any."""
        rows = self._select(
            f"where status in ('{FAILED}', '{REJECTED}') and last_error is not null "
            "order by last_attempt_at desc nulls last, seq desc limit 1",
            (),
        )
        return rows[0] if rows else None

    def mark_delivered(self, seqs: Iterable[int]) -> int:
        """Mark events delivered; returns how many changed (already delivered ones are left alone)."""
        seqs = list(seqs)
        if not seqs:
            return 0
        now = _now()
        with self._connect() as con:
            cursor = con.execute(
                f"update events set status = '{DELIVERED}', attempts = attempts + 1, delivered_at = ?, "
                f"last_attempt_at = ?, last_error = null "
                f"where status != '{DELIVERED}' and seq in (select value from json_each(?))",
                (now, now, json.dumps(seqs)),
            )
            return cursor.rowcount

    def mark_failed(
        self, seq: int, error: str, *, server_error: bool = False, max_server_errors: int | None = None
    ) -> bool:
        """Record a failed delivery attempt; the event stays owed, unless `server_error` (the
        server answered this event with an error of its own) has now happened `max_server_errors`
        times in a row: then it is set aside (still `failed`, no longer owed). Returns whether it
        was set aside."""
        now = _now()
        with self._connect() as con:
            con.execute(
                f"update events set status = '{FAILED}', attempts = attempts + 1, last_error = ?, last_attempt_at = ?, "
                f"server_errors = case when ? then server_errors + 1 else 0 end "
                f"where seq = ? and {_OWED}",
                (error, now, server_error, seq),
            )
            if not server_error or max_server_errors is None:
                return False
            cursor = con.execute(
                f"update events set set_aside_at = ? where seq = ? and {_OWED} and server_errors >= ?",
                (now, seq, max_server_errors),
            )
            return cursor.rowcount > 0

    def set_aside_failed(self) -> list[OutboxEvent]:
        """Events set aside as `failed` (oldest first)."""
        return self._select(f"where {_SET_ASIDE_FAILED} order by seq", ())

    def retry_failed(self) -> int:
        """Make the events set aside as `failed` owed again (`lineage replay --failed`); how many."""
        with self._connect() as con:
            cursor = con.execute(f"update events set set_aside_at = null, server_errors = 0 where {_SET_ASIDE_FAILED}")
            return cursor.rowcount

    def mark_rejected(self, seq: int, reason: str) -> None:
        """Set an event aside for good: the receiver refused it (the reason is kept in `last_error`).

        It is no longer owed, so it stops blocking the events after it; a delivered event stays delivered.
        """
        with self._connect() as con:
            con.execute(
                f"update events set status = '{REJECTED}', attempts = attempts + 1, last_error = ?, last_attempt_at = ? "
                f"where seq = ? and {_OWED}",
                (reason, _now(), seq),
            )

    def get(self, seq: int) -> OutboxEvent | None:
        rows = self._select("where seq = ?", (seq,))
        return rows[0] if rows else None

    def last_seq(self) -> int:
        """The sequence number of the newest event (0 for an empty outbox)."""
        with self._connect() as con:
            (seq,) = con.execute("select coalesce(max(seq), 0) from events").fetchone()
        return int(seq)

    def owed_through(self, seq: int) -> int:
        """How many events up to `seq` are still owed (pending or failed)."""
        with self._connect() as con:
            (n,) = con.execute(f"select count(*) from events where {_OWED} and seq <= ?", (seq,)).fetchone()
        return int(n)

    def counts(self) -> OutboxCounts:
        with self._connect() as con:
            by_status = dict(con.execute("select status, count(*) from events group by status").fetchall())
            (set_aside,) = con.execute(f"select count(*) from events where {_SET_ASIDE_FAILED}").fetchone()
            (oldest,) = con.execute(f"select min(created_at) from events where {_OWED}").fetchone()
        return OutboxCounts(
            pending=by_status.get(PENDING, 0),
            delivered=by_status.get(DELIVERED, 0),
            failed=by_status.get(FAILED, 0) - set_aside,
            oldest_undelivered=oldest,
            rejected=by_status.get(REJECTED, 0),
            set_aside=set_aside,
        )

    def _select(self, clause: str, params: tuple) -> list[OutboxEvent]:
        with self._connect() as con:
            rows = con.execute(f"select {_COLUMNS} from events {clause}", params).fetchall()
        return [OutboxEvent(*row) for row in rows]


def _migrate(con: sqlite3.Connection) -> None:
    """Bring an outbox written by an earlier version up to SCHEMA_VERSION (called under the init lock).

    Version 1 had no `rejected` in the status CHECK and no `last_attempt_at`: the table is rebuilt
    in one transaction (rows, sequence numbers and the AUTOINCREMENT counter kept), so a crash
    leaves either the old table or the new one. A process still running the old code keeps
    working: its statements name their columns and only use the old statuses.
    """
    if con.execute("pragma user_version").fetchone()[0] >= SCHEMA_VERSION:
        return
    con.execute("begin immediate")  # waits (busy timeout) for any writer in another process
    try:
        if con.execute("pragma user_version").fetchone()[0] >= SCHEMA_VERSION:  # another process did it
            con.execute("commit")
            return
        (table_sql,) = con.execute("select sql from sqlite_master where type = 'table' and name = 'events'").fetchone()
        if f"'{REJECTED}'" not in table_sql:  # a version-1 table; a new file already has the new one
            row = con.execute("select seq from sqlite_sequence where name = 'events'").fetchone()
            con.execute(_table("events_v2"))
            con.execute(f"insert into events_v2 ({_V1_COLUMNS}) select {_V1_COLUMNS} from events")
            con.execute("drop table events")  # drops its indexes too; they are recreated after
            con.execute("alter table events_v2 rename to events")
            if row is not None:  # never reuse a sequence number, even one whose row is gone
                con.execute("update sqlite_sequence set seq = max(seq, ?) where name = 'events'", (row[0],))
        # Version 3: `server_errors` and `set_aside_at` (added in place; a new file has them).
        columns = {row[1] for row in con.execute("pragma table_info(events)").fetchall()}
        if "server_errors" not in columns:
            con.execute("alter table events add column server_errors integer not null default 0")
        if "set_aside_at" not in columns:
            con.execute("alter table events add column set_aside_at text")
        con.execute(f"pragma user_version = {SCHEMA_VERSION}")
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")

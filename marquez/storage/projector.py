"""The projector: applies stored events to the model, in the order they were stored.

POST /lineage answers once the event is in `lineage_events` (durable, so nothing acknowledged
is lost if this server dies) and sends `NOTIFY marquez_events`; the projector, a process of its
own (`python -m marquez project`, started by `serve`), then derives the model from the stored
events, many per transaction: that is what makes ingest fast, and it keeps the model work off
the web server's interpreter. Reads first wait (briefly) until every event stored before them
is applied (`barrier`), so a client always reads its own writes; a read of one job, dataset or
run waits only for the pending events that name it.

Several projectors may share one database: `FOR UPDATE SKIP LOCKED` hands each pending event to
one of them, and a restarted server resumes with whatever is still pending.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
import time

import psycopg
from psycopg_pool import ConnectionPool

from lakehouse_core.settings import child_env
from marquez.model import subjects
from marquez.model.events import Event
from marquez.storage.db import Connection
from marquez.storage.ingest import CHANNEL, Ingest, Seen

log = logging.getLogger("marquez.projector")

BATCH = 200
IDLE_POLL_S = 1.0  # pending events are looked for at least this often, notified or not
BARRIER_POLL_S = 0.002  # a read waiting for the projector looks again after 2 ms, then less and less often,
BARRIER_POLL_MAX_S = 0.02  # up to every 20 ms: under load, polling every 2 ms took Postgres time from the projector


def pending(conn: Connection) -> int:
    return conn.execute("SELECT count(*) AS n FROM lineage_events WHERE projected_at IS NULL").fetchone()["n"]


def pending_at_most(conn: Connection, most: int) -> int:
    """Events waiting for the projector, counted up to `most`: bounded work however long the backlog."""
    row = conn.execute(
        "SELECT count(*) AS n FROM (SELECT 1 FROM lineage_events WHERE projected_at IS NULL LIMIT %s) AS p", (most,)
    ).fetchone()
    conn.commit()
    return row["n"]


def barrier(conn: Connection, timeout: float, keys: list[str] | None = None) -> int:
    """Wait until every event stored before this call is applied (at most `timeout` s); with
    `keys` (`marquez.model.subjects`), only those that name one of them (a read of one job, dataset
    or run waits for its own writes, not for every producer's backlog). Returns how many of them
    are still pending (0 normally)."""
    upto = conn.execute("SELECT max(id) AS id FROM lineage_events").fetchone()["id"]
    deadline = time.monotonic() + timeout
    delay = BARRIER_POLL_S
    where = "projected_at IS NULL AND id <= %s"
    params: tuple = (upto,)
    if keys is not None:
        where += " AND subjects && %s::text[]"  # the pending-subjects index
        params = (upto, [*keys, subjects.ANY])
    # Whether one is left is an index probe whatever the backlog; counting them is done once, for
    # the answer's header, only when the wait runs out.
    waiting = f"SELECT EXISTS (SELECT 1 FROM lineage_events WHERE {where}) AS w"
    while True:
        row = conn.execute(waiting, params).fetchone()
        conn.commit()  # no snapshot held while waiting
        if not row["w"]:
            return 0
        left = deadline - time.monotonic()
        if left <= 0:
            counted = conn.execute(f"SELECT count(*) AS n FROM lineage_events WHERE {where}", params).fetchone()
            conn.commit()
            return counted["n"]
        time.sleep(min(delay, left))
        delay = min(delay * 1.5, BARRIER_POLL_MAX_S)


class ProjectorProcess:
    """The projector as a child process of the web server; restarted if it dies."""

    def __init__(self, db_url: str, log_level: str = "warning"):
        self.db_url = db_url
        self.log_level = log_level
        self._proc: subprocess.Popen | None = None
        self._stop = threading.Event()
        self._watch = threading.Thread(target=self._watchdog, name="marquez-projector-watchdog", daemon=True)

    def start(self) -> None:
        self._spawn()
        self._watch.start()

    def _spawn(self) -> None:
        env = child_env(MARQUEZ_DB_URL=self.db_url)  # not on the command line: it may hold a password
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "marquez", "project", "--log-level", self.log_level],
            env=env,
            preexec_fn=_die_with_parent,
        )

    def _watchdog(self) -> None:
        while not self._stop.wait(1.0):
            if self._proc is not None and self._proc.poll() is not None:
                log.error("the projector exited with %s; starting it again", self._proc.returncode)
                self._spawn()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._proc is None or self._proc.poll() is not None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


def _die_with_parent() -> None:
    # Linux: the projector gets SIGTERM if the server dies (even by SIGKILL), never an orphan.
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Projector:
    def __init__(self, pool: ConnectionPool[Connection], db_url: str):
        self.pool = pool
        self.db_url = db_url
        # A plain flag, not a threading.Event: stop() runs in signal handlers, and Event.set()
        # takes a lock, which a second signal arriving inside the first handler's set() then waits
        # for forever (seen: SIGTERM from the dying server and from its stop, a projector hung
        # mid-batch holding row locks every other projector then waited on).
        self._stopping = False

    def stop(self) -> None:
        """Safe in a signal handler: the loop ends after the batch in hand."""
        self._stopping = True

    def run_forever(self) -> None:
        """Apply pending events; sleep until notified (or IDLE_POLL_S) when there are none."""
        listener = psycopg.connect(self.db_url, autocommit=True)
        listener.execute(f"LISTEN {CHANNEL}")
        try:
            while not self._stopping:
                try:
                    applied = self.run_once()
                except psycopg.OperationalError:  # the database went away: the events are safe
                    log.exception("projection failed; retrying in 1 s")
                    time.sleep(1.0)
                    continue
                if applied < BATCH:
                    # Drain the notifications that arrived meanwhile, then wait for the next one.
                    for _ in listener.notifies(timeout=0 if applied else IDLE_POLL_S, stop_after=1):
                        pass
        finally:
            listener.close()

    def run_once(self) -> int:
        """Apply up to BATCH pending events in one transaction; return how many were applied.

        First the whole batch at once: no savepoint per event, its statements pipelined (sent
        without waiting for each answer, only those whose result is read wait). If any event fails
        there, that transaction is rolled back whole and the batch is applied again one event per
        savepoint (`_run_isolated`), so a bad event still keeps its error and blocks no other."""
        try:
            return self._run_batch()
        except Exception:  # an event failed (or the database went away: then this fails too)
            log.info("a batch failed as a whole; applying it again one event at a time", exc_info=True)
            return self._run_isolated()

    def _claim(self, conn: Connection) -> list:
        # The projection's own commit need not wait for the disk: the events are durable in
        # lineage_events already, and a projection lost in a crash is lost whole, projected_at
        # marks included, so the same events are applied again on restart.
        conn.execute("SET LOCAL synchronous_commit = off")
        return conn.execute(
            "SELECT id, kind, event, event_time FROM lineage_events WHERE projected_at IS NULL"
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (BATCH,),
        ).fetchall()

    def _run_batch(self) -> int:
        with self.pool.connection() as conn:
            with conn.transaction():
                rows = self._claim(conn)
                if not rows:
                    return 0
                seen = Seen()
                seen.prefetch_aliases(conn, [r["event"] for r in rows])
                with conn.pipeline():
                    for row in rows:
                        Ingest(
                            conn, Event(kind=row["kind"], raw=row["event"], event_time=row["event_time"]), seen
                        ).apply()
                    conn.execute(
                        "UPDATE lineage_events SET projected_at = now() WHERE id = ANY(%s)", ([r["id"] for r in rows],)
                    )
        return len(rows)

    def _run_isolated(self) -> int:
        with self.pool.connection() as conn:
            with conn.transaction():
                rows = self._claim(conn)
                errors: list[tuple[int, str]] = []
                seen = Seen()
                seen.prefetch_aliases(conn, [r["event"] for r in rows])
                for row in rows:
                    event = Event(kind=row["kind"], raw=row["event"], event_time=row["event_time"])
                    try:
                        self._apply(conn, event, seen)
                    except Exception as exc:  # one bad event must not stop the others
                        log.exception("event %s could not be applied", row["id"])
                        errors.append((row["id"], f"{type(exc).__name__}: {exc}"))
                if rows:
                    conn.execute(
                        "UPDATE lineage_events SET projected_at = now() WHERE id = ANY(%s)", ([r["id"] for r in rows],)
                    )
                for event_id, message in errors:
                    conn.execute(
                        "UPDATE lineage_events SET projection_error = %s WHERE id = %s", (message[:2000], event_id)
                    )
        return len(rows)

    @staticmethod
    def _apply(conn: Connection, event: Event, seen: Seen) -> None:
        for attempt in (1, 2):
            try:
                with conn.transaction():  # a savepoint: the event's writes, all or none
                    Ingest(conn, event, seen).apply()
                return
            except psycopg.errors.UniqueViolation:
                # Another server process created the same row first: once more finds it.
                seen.forget()
                if attempt == 2:
                    raise
            except Exception:
                seen.forget()  # what the failed event upserted was rolled back
                raise

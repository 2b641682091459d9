"""The transactions a request runs in: a read snapshot, a write, or autocommit statements."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from psycopg_pool import ConnectionPool

from marquez.storage.db import Connection
from marquez.storage.projector import barrier

# Set by the web layer per request to a dict; a read that had to answer before every event stored
# ahead of it was applied (the wait ran out) records how many were still pending in it, and the
# answer says so in a header (X-Marquez-Unapplied-Events).
READ_STATE: ContextVar[dict | None] = ContextVar("marquez_read_state", default=None)


def _note(left: int) -> None:
    state = READ_STATE.get()
    if state is not None and left:
        state["unapplied"] = max(state.get("unapplied", 0), left)


class Store:
    """The connection pool, and how long a read waits for the projector (read-your-writes)."""

    def __init__(self, pool: ConnectionPool[Connection], read_wait_s: float = 10.0):
        self.pool = pool
        self.read_wait_s = read_wait_s

    @contextmanager
    def read(self, *keys: str):
        """A connection for reads of the model (one snapshot for the whole answer), once every
        event stored before the request has been applied: a client reads its own writes. With
        `keys` (`marquez.model.subjects`: the one job, dataset or run the answer is about), only
        the events naming one of them are waited for."""
        with self.pool.connection() as conn:
            _note(barrier(conn, self.read_wait_s, list(keys) if keys else None))
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield conn

    @contextmanager
    def autocommit(self):
        """A connection whose every statement is its own transaction (one round trip each)."""
        with self.pool.connection() as conn:
            conn.autocommit = True
            try:
                yield conn
            finally:
                conn.autocommit = False

    @contextmanager
    def write(self, *, model: bool = True):
        """A transaction; `model=True` (changes to the model, e.g. tags) first waits like `read`."""
        with self.pool.connection() as conn:
            if model:
                _note(barrier(conn, self.read_wait_s))
            with conn.transaction():
                yield conn

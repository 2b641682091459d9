"""The transactions a request runs in: a read snapshot, a write, or autocommit statements."""

from __future__ import annotations

from contextlib import contextmanager

from psycopg_pool import ConnectionPool

from marquez.storage.projector import barrier


class Store:
    """The connection pool, and how long a read waits for the projector (read-your-writes)."""

    def __init__(self, pool: ConnectionPool, read_wait_s: float = 10.0):
        self.pool = pool
        self.read_wait_s = read_wait_s

    @contextmanager
    def read(self):
        """A connection for reads of the model (one snapshot for the whole answer), once every
        event stored before the request has been applied: a client reads its own writes."""
        with self.pool.connection() as conn:
            barrier(conn, self.read_wait_s)
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
                barrier(conn, self.read_wait_s)
            with conn.transaction():
                yield conn

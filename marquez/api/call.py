"""What a handler receives: the request's parameters and body, and a database connection."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from psycopg_pool import ConnectionPool
from starlette.datastructures import QueryParams

from marquez.storage.projector import barrier


@dataclass
class Call:
    params: dict[str, str]
    query: QueryParams
    body: bytes
    pool: ConnectionPool
    read_wait_s: float = 10.0

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

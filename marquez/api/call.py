"""What a handler receives: the request's parameters and body, and a database connection."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

from psycopg_pool import ConnectionPool
from starlette.datastructures import QueryParams


@dataclass
class Call:
    params: dict[str, str]
    query: QueryParams
    body: bytes
    pool: ConnectionPool

    @contextmanager
    def read(self):
        """A connection for reads (one snapshot for the whole answer)."""
        with self.pool.connection() as conn:
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield conn

    @contextmanager
    def write(self):
        with self.pool.connection() as conn:
            with conn.transaction():
                yield conn

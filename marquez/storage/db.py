"""The connection pool. Rows come back as dicts; JSONB comes back as Python objects."""

from __future__ import annotations

from typing import cast

import orjson
import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import ConnectionPool
from psycopg_pool.base import AttemptWithBackoff

# JSONB is (de)serialised with orjson: several times faster than the standard library, and
# /lineage reads thousands of small documents.
set_json_dumps(lambda obj: orjson.dumps(obj).decode())
set_json_loads(orjson.loads)

# What the pool hands out: rows are dicts (row_factory below).
Connection = psycopg.Connection[DictRow]


# How long a request waits for a connection: with Postgres down it answers 503 within this.
POOL_TIMEOUT_S = 1.0
CONNECT_TIMEOUT_S = 2  # libpq's minimum


# While Postgres is away the pool tries to connect again every RECONNECT_EVERY_S at most (the
# library's default backs off exponentially, so the first requests after Postgres returns would
# still wait for a connection attempt seconds away).
RECONNECT_EVERY_S = 0.5


class _Attempt(AttemptWithBackoff):
    INITIAL_DELAY = 0.1
    DELAY_BACKOFF = 2.0

    def update_delay(self, now: float) -> None:
        super().update_delay(now)
        self.delay = min(self.delay, RECONNECT_EVERY_S)


class Pool(ConnectionPool):
    """psycopg's pool, reconnecting at least every RECONNECT_EVERY_S while the database is away."""

    def _add_connection(self, attempt, growing: bool = False) -> None:
        super()._add_connection(attempt or _Attempt(timeout=self.reconnect_timeout), growing)


def open_pool(
    db_url: str, size: int, synchronous_commit: bool = True, timeout_s: float = POOL_TIMEOUT_S
) -> ConnectionPool[Connection]:
    """Connections are checked before use (a connection Postgres dropped while it sat in the pool
    is replaced, not handed out), and waited for at most `timeout_s` (PoolTimeout)."""

    def configure(conn) -> None:
        if not synchronous_commit:
            conn.execute("SET synchronous_commit = off")
            conn.commit()

    pool = Pool(
        db_url,
        min_size=1,
        max_size=size,
        configure=configure,
        kwargs={"row_factory": dict_row, "autocommit": False, "connect_timeout": CONNECT_TIMEOUT_S},
        check=ConnectionPool.check_connection,
        timeout=timeout_s,
        open=False,
        name="marquez",
    )
    pool.open(wait=True, timeout=30)
    return cast("ConnectionPool[Connection]", pool)  # row_factory=dict_row above

"""The connection pool. Rows come back as dicts; JSONB comes back as Python objects."""

from __future__ import annotations

import orjson
from psycopg.rows import dict_row
from psycopg.types.json import set_json_dumps, set_json_loads
from psycopg_pool import ConnectionPool

# JSONB is (de)serialised with orjson: several times faster than the standard library, and
# /lineage reads thousands of small documents.
set_json_dumps(lambda obj: orjson.dumps(obj).decode())
set_json_loads(orjson.loads)


def open_pool(db_url: str, size: int, synchronous_commit: bool = True) -> ConnectionPool:
    def configure(conn) -> None:
        if not synchronous_commit:
            conn.execute("SET synchronous_commit = off")
            conn.commit()

    pool = ConnectionPool(
        db_url,
        min_size=1,
        max_size=size,
        configure=configure,
        kwargs={"row_factory": dict_row, "autocommit": False},
        open=False,
        name="marquez",
    )
    pool.open(wait=True, timeout=30)
    return pool

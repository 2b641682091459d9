"""Expose validated raw files to dbt as the DuckDB view `raw.bioreactor_readings`.

The view (not a copy) is what the dbt source `raw.bioreactor_readings` points at: DuckDB
reads the Parquet files at query time, so no rows are duplicated. Which files are in it is
kept in the table `raw.validated_files`, updated one partition window at a time, and the
view lists those files explicitly, so a file that lands after validation is never read
unchecked.

Readings quarantined row by row (`raw_rows`) are left out by the view through an anti-join on
(file, row number), only for the files that have any: clean files are read as they are.
The registry keeps each file's content hash, so a file rewritten after it was loaded is told
apart from one merely touched.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Set as AbstractSet
from pathlib import Path

import duckdb

from orchestration.ingest.raw_rows import QUARANTINE_DDL, QUARANTINE_TABLE, find_bad_rows, store_bad_rows

RAW_SCHEMA = "raw"
RAW_VIEW = "bioreactor_readings"
REGISTRY = f"{RAW_SCHEMA}.validated_files"

_COLUMNS = """
    cast(batch_id as varchar) as batch_id,
    cast(site as varchar) as site,
    cast(equipment_id as varchar) as equipment_id,
    cast(ts as timestamptz) as ts,
    cast(tag as varchar) as tag,
    cast(value as double) as value,
    cast(unit as varchar) as unit"""

_EMPTY = """
    select null::varchar as batch_id, null::varchar as site, null::varchar as equipment_id,
           null::timestamptz as ts, null::varchar as tag, null::double as value, null::varchar as unit
    where false"""


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def raw_view_sql(files: list[str], with_bad_rows: AbstractSet[str] = frozenset()) -> str:
    """The view over `files`; those in `with_bad_rows` are read minus their quarantined rows."""
    clean = [p for p in files if p not in with_bad_rows]
    dirty = [p for p in files if p in with_bad_rows]
    parts = []
    if clean:
        paths = ", ".join(_sql_string(p) for p in clean)
        parts.append(f"select {_COLUMNS}\n    from read_parquet([{paths}], hive_partitioning = false)")
    if dirty:
        paths = ", ".join(_sql_string(p) for p in dirty)
        parts.append(
            f"select {_COLUMNS}\n    from read_parquet([{paths}], hive_partitioning = false, filename = true, "
            "file_row_number = true) r\n    where not exists (select 1 from "
            f"{QUARANTINE_TABLE} q where q.path = r.filename and q.row_number = r.file_row_number)"
        )
    body = "\n    union all\n    ".join(parts) if parts else _EMPTY
    return f"create or replace view {RAW_SCHEMA}.{RAW_VIEW} as {body}"


def registered_hashes(duckdb_path: Path, paths: list[Path]) -> dict[str, str]:
    """Resolved path -> content hash recorded when it was loaded (files loaded before hashes
    were recorded have none)."""
    if not duckdb_path.exists() or not paths:
        return {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        has = con.execute(
            "select count(*) from information_schema.columns where table_schema = ? and table_name = ? "
            "and column_name = 'content_hash'",
            [RAW_SCHEMA, REGISTRY.split(".")[1]],
        ).fetchone()[0]
        if not has:
            return {}
        rows = con.execute(
            f"select path, content_hash from {REGISTRY} where content_hash is not null and path in (select unnest(?::varchar[]))",
            [[str(p.resolve()) for p in paths]],
        ).fetchall()
    return dict(rows)


def register_window(
    duckdb_path: Path,
    days: list[str],
    files: list[tuple[str, Path, int, int]],
    hashes: dict[Path, str] | None = None,
    checks: dict | None = None,
) -> list[str]:
    """Replace the window's entries in the registry with `files` ((day, path, rows, bytes), with
    their content `hashes`) and its quarantined readings with the bad rows found in them, then
    rebuild the view over every registered file, in one transaction.

    Registered files that no longer exist (moved or deleted since) are dropped from the
    registry and returned, so the caller can say so.
    """
    hashes = hashes or {}
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    with duckdb.connect(str(duckdb_path)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set enable_progress_bar = false")
        con.execute("begin transaction")
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        con.execute(
            f"create table if not exists {REGISTRY} (measurement_date date not null, path varchar primary key, "
            "rows bigint not null, bytes bigint not null, validated_at timestamptz not null)"
        )
        con.execute(f"alter table {REGISTRY} add column if not exists content_hash varchar")
        con.execute(QUARANTINE_DDL)
        find_bad_rows(con, [(day, path) for day, path, _, _ in files], now, checks)
        store_bad_rows(con, days, now)
        if days:
            con.execute(f"delete from {REGISTRY} where measurement_date in (select unnest(?::date[]))", [days])
        if files:  # a window whose every file was quarantined registers nothing (DuckDB refuses an empty executemany)
            con.executemany(
                f"insert into {REGISTRY} (measurement_date, path, rows, bytes, validated_at, content_hash) "
                "values (?, ?, ?, ?, ?, ?)",
                [(day, str(path.resolve()), rows, size, now, hashes.get(path)) for day, path, rows, size in files],
            )
        registered = [row[0] for row in con.execute(f"select path from {REGISTRY} order by path").fetchall()]
        missing = [p for p in registered if not Path(p).exists()]
        if missing:
            con.execute(f"delete from {REGISTRY} where path in (select unnest(?::varchar[]))", [missing])
        dirty = {r[0] for r in con.execute(f"select distinct path from {QUARANTINE_TABLE}").fetchall()}
        con.execute(raw_view_sql([p for p in registered if p not in set(missing)], dirty))
        con.execute("commit")
    return missing


def window_row_count(duckdb_path: Path, days: list[str]) -> int:
    """Rows dbt reads through the view for the window's days: counted through the view itself
    (every reading it shows is on its folder's day; the rest is quarantined)."""
    if not days:
        return 0
    first = dt.datetime.fromisoformat(min(days)).replace(tzinfo=dt.UTC)
    end = dt.datetime.fromisoformat(max(days)).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        return con.execute(
            f"select count(*) from {RAW_SCHEMA}.{RAW_VIEW} where ts >= ? and ts < ?", [first, end]
        ).fetchone()[0]


def raw_view_columns(duckdb_path: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [RAW_SCHEMA, RAW_VIEW],
        ).fetchall()
    return [(r[0], r[1]) for r in rows]

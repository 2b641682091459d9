"""Expose validated raw files to dbt as the DuckDB view `raw.bioreactor_readings`.

The view (not a copy) is what the dbt source `raw.bioreactor_readings` points at: DuckDB
reads the Parquet files at query time, so no rows are duplicated. Which files are in it is
kept in the table `raw.validated_files`, updated one partition window at a time, and the
view lists those files explicitly, so a file that lands after validation is never read
unchecked.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

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


def raw_view_sql(files: list[str]) -> str:
    if not files:
        body = _EMPTY
    else:
        paths = ", ".join(_sql_string(p) for p in files)
        body = f"select {_COLUMNS}\n    from read_parquet([{paths}], hive_partitioning = false)"
    return f"create or replace view {RAW_SCHEMA}.{RAW_VIEW} as {body}"


def register_window(
    duckdb_path: Path, days: list[str], files: list[tuple[str, Path, int, int]]
) -> list[str]:
    """Replace the window's entries in the registry with `files` ((day, path, rows, bytes)),
    then rebuild the view over every registered file, in one transaction.

    Registered files that no longer exist (moved or deleted since) are dropped from the
    registry and returned, so the caller can say so.
    """
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc)
    with duckdb.connect(str(duckdb_path)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute("begin transaction")
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        con.execute(
            f"create table if not exists {REGISTRY} (measurement_date date not null, path varchar primary key, "
            "rows bigint not null, bytes bigint not null, validated_at timestamptz not null)"
        )
        if days:
            con.execute(f"delete from {REGISTRY} where measurement_date in (select unnest(?::date[]))", [days])
        con.executemany(
            f"insert into {REGISTRY} values (?, ?, ?, ?, ?)",
            [(day, str(path.resolve()), rows, size, now) for day, path, rows, size in files],
        )
        registered = [row[0] for row in con.execute(f"select path from {REGISTRY} order by path").fetchall()]
        missing = [p for p in registered if not Path(p).exists()]
        if missing:
            con.execute(f"delete from {REGISTRY} where path in (select unnest(?::varchar[]))", [missing])
        con.execute(raw_view_sql([p for p in registered if p not in set(missing)]))
        con.execute("commit")
    return missing


def window_row_count(duckdb_path: Path, days: list[str]) -> int:
    """Rows DuckDB reads through the view for the window's files (from Parquet footers, no scan)."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        paths = [
            r[0]
            for r in con.execute(
                f"select path from {REGISTRY} where measurement_date in (select unnest(?::date[]))", [days]
            ).fetchall()
        ]
        if not paths:
            return 0
        return con.execute("select count(*) from read_parquet(?)", [paths]).fetchone()[0]


def raw_view_columns(duckdb_path: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [RAW_SCHEMA, RAW_VIEW],
        ).fetchall()
    return [(r[0], r[1]) for r in rows]

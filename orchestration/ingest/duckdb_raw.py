"""Expose validated raw files to dbt as the DuckDB view `raw.bioreactor_readings`.

The view (not a copy) is what the dbt source `raw.bioreactor_readings` points at: DuckDB
reads the Parquet files at query time, so no rows are duplicated. It lists the validated
files explicitly, so a file that lands after validation is not read unchecked.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

RAW_SCHEMA = "raw"
RAW_VIEW = "bioreactor_readings"

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


def raw_view_sql(files: list[Path]) -> str:
    if not files:
        body = _EMPTY
    else:
        paths = ", ".join(_sql_string(str(p.resolve())) for p in files)
        body = f"select {_COLUMNS}\n    from read_parquet([{paths}], hive_partitioning = false)"
    return f"create or replace view {RAW_SCHEMA}.{RAW_VIEW} as {body}"


def publish_raw_view(duckdb_path: Path, files: list[Path]) -> None:
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(duckdb_path)) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"create schema if not exists {RAW_SCHEMA}")
        con.execute(raw_view_sql(files))


def raw_view_row_count(duckdb_path: Path) -> int:
    """Rows DuckDB sees through the view (answered from Parquet footers, no scan)."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return con.execute(f"select count(*) from {RAW_SCHEMA}.{RAW_VIEW}").fetchone()[0]


def raw_view_columns(duckdb_path: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        rows = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [RAW_SCHEMA, RAW_VIEW],
        ).fetchall()
    return [(r[0], r[1]) for r in rows]

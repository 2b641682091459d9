"""Copy curated DuckDB tables to Postgres and swap them in atomically.

Each table is loaded into `<schema>.<table>__staging`, then every table of the publish is
swapped in ONE transaction (rename old away, rename staging in, drop old). A crash before
the commit leaves the previous version of every table in place; readers never see a
half-loaded table or a mix of old and new tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
from psycopg import sql

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COPY_BATCH_ROWS = 50_000

# DuckDB type -> Postgres type. Anything else is refused rather than guessed.
_SIMPLE_TYPES = {
    "VARCHAR": "text",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "SMALLINT": "smallint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
    "HUGEINT": "numeric(38,0)",
    "UBIGINT": "numeric(20,0)",
    "UINTEGER": "bigint",
    "INTERVAL": "interval",
}


def validate_identifier(name: str) -> str:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"refusing identifier {name!r}: only letters, digits and _ are allowed")
    return name


def postgres_type(duckdb_type: str) -> str:
    if duckdb_type in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[duckdb_type]
    if match := re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", duckdb_type):
        return f"numeric({match[1]},{match[2]})"
    raise TypeError(f"no Postgres type for DuckDB type {duckdb_type}")


@dataclass(frozen=True)
class PublishedTable:
    schema: str
    table: str
    columns: list[tuple[str, str]]  # (name, postgres type)
    rows: int


def _duckdb_columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    rows = con.execute(
        "select column_name, data_type from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    ).fetchall()
    if not rows:
        raise LookupError(f"DuckDB table {schema}.{table} does not exist: build the curated dbt models first")
    return [(name, postgres_type(dtype)) for name, dtype in rows]


def _load_staging(pg: psycopg.Connection, con: duckdb.DuckDBPyConnection, schema: str, table: str) -> PublishedTable:
    columns = _duckdb_columns(con, schema, table)
    staging = sql.Identifier(schema, f"{table}__staging")
    pg.execute(sql.SQL("drop table if exists {}").format(staging))
    pg.execute(
        sql.SQL("create table {} ({})").format(
            staging,
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in columns),
        )
    )
    names = sql.SQL(", ").join(sql.Identifier(n) for n, _ in columns)
    source = con.execute(f'select * from "{schema}"."{table}"')
    rows = 0
    with pg.cursor().copy(sql.SQL("copy {} ({}) from stdin").format(staging, names)) as copy:
        while batch := source.fetchmany(_COPY_BATCH_ROWS):
            for row in batch:
                copy.write_row(row)
            rows += len(batch)
    return PublishedTable(schema, table, columns, rows)


def publish_tables(duckdb_path: Path, pg_url: str, schema: str, tables: list[str]) -> list[PublishedTable]:
    """Publish `schema.table` for every table from DuckDB to Postgres in one atomic swap."""
    validate_identifier(schema)
    for table in tables:
        validate_identifier(table)
    with duckdb.connect(str(duckdb_path), read_only=True) as con, psycopg.connect(pg_url) as pg:
        pg.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        pg.commit()
        published = [_load_staging(pg, con, schema, table) for table in tables]
        pg.commit()  # staging tables are durable; the live tables are untouched so far
        with pg.transaction():
            for table in tables:
                live, old = sql.Identifier(schema, table), sql.Identifier(f"{table}__old")
                pg.execute(sql.SQL("drop table if exists {}").format(sql.Identifier(schema, f"{table}__old")))
                pg.execute(sql.SQL("alter table if exists {} rename to {}").format(live, old))
                pg.execute(
                    sql.SQL("alter table {} rename to {}").format(
                        sql.Identifier(schema, f"{table}__staging"), sql.Identifier(table)
                    )
                )
                pg.execute(sql.SQL("drop table if exists {}").format(sql.Identifier(schema, f"{table}__old")))
    return published

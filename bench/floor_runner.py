"""Run the floor: bench/floor.sql in DuckDB, copy its curated tables to Postgres, build the mart there.

python -m bench.floor_runner RAW_DIR DUCKDB_PATH PG_URL
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import psycopg

FLOOR_SQL = Path(__file__).with_name("floor.sql")

MART_SQL = """
drop table if exists floor.mart_bioreactor_overview;
create table floor.mart_bioreactor_overview as
select f.batch_id, f.tag, d.site, d.equipment_id, d.batch_start, d.batch_end, d.duration_hours, f.unit,
       f.mean_value, f.sd_value, f.min_value, f.max_value, f.reading_count, f.time_in_spec_share, f.excursion_count
from floor.fact_bioreactor_batch_stats f join floor.dim_batch d using (batch_id);
"""

_PG_TYPES = {"VARCHAR": "text", "DOUBLE": "double precision", "BIGINT": "bigint",
             "TIMESTAMP WITH TIME ZONE": "timestamptz", "DECIMAL(18,3)": "numeric(18,3)"}  # fmt: skip


def copy_table(con: duckdb.DuckDBPyConnection, pg: psycopg.Connection, table: str) -> None:
    columns = con.execute(f"describe floor.{table}").fetchall()
    ddl = ", ".join(f'"{c[0]}" {_PG_TYPES.get(c[1], "double precision")}' for c in columns)
    pg.execute(f"drop table if exists floor.{table}")
    pg.execute(f"create table floor.{table} ({ddl})")
    cursor = con.execute(f"select * from floor.{table}")
    with pg.cursor().copy(f"copy floor.{table} from stdin") as copy:
        while batch := cursor.fetchmany(50_000):
            for row in batch:
                copy.write_row(row)


def main(raw_dir: str, duckdb_path: str, pg_url: str) -> None:
    files = sorted(str(p) for p in Path(raw_dir).rglob("*.parquet"))
    script = FLOOR_SQL.read_text().replace("{files}", "[" + ", ".join(f"'{f}'" for f in files) + "]")
    with duckdb.connect(duckdb_path) as con, psycopg.connect(pg_url) as pg:
        con.execute(script)
        pg.execute("create schema if not exists floor")
        for table in ("dim_batch", "fact_bioreactor_batch_stats"):
            copy_table(con, pg, table)
        pg.execute(MART_SQL)


if __name__ == "__main__":
    main(*sys.argv[1:4])

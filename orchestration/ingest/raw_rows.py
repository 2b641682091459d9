"""Row-level quarantine: readings inside otherwise good raw files that must not reach dbt.

One DuckDB query over the window's files finds them, each with a machine-readable reason
(ROW_REASONS). They are copied whole into `raw.quarantined_readings` (nothing is lost: the
row, its file, its row number and why) and the view `raw.bioreactor_readings` leaves them out.

- `unknown_tag`: the tag is not in the catalogue (the dbt seed `tag_specs`), even after the
  trim / case folding staging applies to historian spellings;
- `non_finite_value`: +-infinity. NaN is not garbage here: it is how the historian marks a lost
  sample (a dropout), like NULL; both are loaded and staging drops them, as before;
- `future_timestamp`: later than the moment of the check (plus FUTURE_SLACK);
- `timestamp_outside_day`: not on the day its folder (`date=YYYY-MM-DD`, the partition) names;
- `duplicate_reading`: the same reading (batch, equipment, instant, tag, value) already
  delivered in another file (a re-sent export); the first file's copy is kept. Repeats inside
  one file are a known historian artefact that staging's DISTINCT collapses; they stay;
- `conflicting_reading`: one sensor, one instant, different values: no way to tell which is
  right, so every version is set aside.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from functools import cache
from pathlib import Path

import duckdb

from orchestration.settings import REPO_ROOT

ROW_REASONS = (
    "unknown_tag", "non_finite_value", "future_timestamp", "timestamp_outside_day", "duplicate_reading",
    "conflicting_reading",
)  # fmt: skip
QUARANTINE_TABLE = "raw.quarantined_readings"
FUTURE_SLACK = dt.timedelta(minutes=5)  # clock skew between the historian and us
TAG_CATALOGUE = REPO_ROOT / "dbt" / "seeds" / "tag_specs.csv"

QUARANTINE_DDL = f"""
create table if not exists {QUARANTINE_TABLE} (
    measurement_date date not null,
    path varchar not null,
    row_number bigint not null,
    reason varchar not null,
    batch_id varchar, site varchar, equipment_id varchar, ts timestamptz, tag varchar, value double, unit varchar,
    quarantined_at timestamptz not null,
    primary key (path, row_number)
)"""


@cache
def known_tags() -> tuple[str, ...]:
    """Canonical tag names, from the seed dbt joins against (one catalogue for both)."""
    with TAG_CATALOGUE.open(newline="") as handle:
        return tuple(row["tag"] for row in csv.DictReader(handle))


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def find_bad_rows(con: duckdb.DuckDBPyConnection, files: list[tuple[str, Path]], now: dt.datetime) -> int:
    """Fill the temp table `bad_rows` with the quarantined readings of `files` ((day, path));
    returns how many. `con` must have TimeZone UTC."""
    con.execute(
        "create or replace temp table bad_rows (measurement_date date, path varchar, row_number bigint, reason varchar, "
        "batch_id varchar, site varchar, equipment_id varchar, ts timestamptz, tag varchar, value double, unit varchar)"
    )
    if not files:
        return 0
    con.execute("create or replace temp table window_files (path varchar, day date)")
    con.executemany("insert into window_files values (?, ?)", [(str(p.resolve()), day) for day, p in files])
    paths = _sql_list([str(p.resolve()) for _, p in files])
    columns = "batch_id, site, equipment_id, ts, tag, value, unit"
    con.execute(
        f"""
        insert into bad_rows
        with r as (
            select f.day, r.filename as path, r.file_row_number as row_number,
                   cast(r.batch_id as varchar) as batch_id, cast(r.site as varchar) as site,
                   cast(r.equipment_id as varchar) as equipment_id, cast(r.ts as timestamptz) as ts,
                   cast(r.tag as varchar) as tag, cast(r.value as double) as value, cast(r.unit as varchar) as unit,
                   lower(trim(r.tag)) as tag_key
            from read_parquet({paths}, filename = true, file_row_number = true, hive_partitioning = false) r
            join window_files f on f.path = r.filename
        ),
        judged as (
            select *, case
                when tag_key is null or not list_contains(?::varchar[], tag_key) then 'unknown_tag'
                when value is not null and isinf(value) then 'non_finite_value'
                when ts > ?::timestamptz then 'future_timestamp'
                when ts < day::timestamptz or ts >= day::timestamptz + interval 1 day then 'timestamp_outside_day'
            end as reason
            from r
        ),
        fine as (select * from judged where reason is null),
        repeated as (
            select trim(batch_id) as b, trim(equipment_id) as e, ts, tag_key,
                   count(distinct value) as values_seen, count(distinct path) as files_seen, min(path) as first_path
            from fine
            group by all
            having count(*) > 1 and (count(distinct value) > 1 or count(distinct path) > 1)
        )
        select day, path, row_number, reason, {columns} from judged where reason is not null
        union all
        select f.day, f.path, f.row_number,
               case when d.values_seen > 1 then 'conflicting_reading' else 'duplicate_reading' end,
               {", ".join("f." + c for c in columns.split(", "))}
        from fine f
        join repeated d on trim(f.batch_id) = d.b and trim(f.equipment_id) = d.e and f.ts = d.ts and f.tag_key = d.tag_key
        where d.values_seen > 1 or f.path <> d.first_path
        """,
        [[t.lower() for t in known_tags()], now + FUTURE_SLACK],
    )
    return con.execute("select count(*) from bad_rows").fetchone()[0]


def store_bad_rows(con: duckdb.DuckDBPyConnection, days: list[str], now: dt.datetime) -> None:
    """Replace the window's quarantined readings with `bad_rows` (inside the caller's transaction)."""
    con.execute(QUARANTINE_DDL)
    if days:
        con.execute(f"delete from {QUARANTINE_TABLE} where measurement_date in (select unnest(?::date[]))", [days])
    con.execute(
        f"insert into {QUARANTINE_TABLE} select measurement_date, path, row_number, reason, batch_id, site, "
        "equipment_id, ts, tag, value, unit, ? from bad_rows",
        [now],
    )


def quarantined_rows(duckdb_path: Path, days: list[str]) -> Counter:
    """Reason -> how many readings of the window are quarantined."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        exists = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw' and table_name = 'quarantined_readings'"
        ).fetchone()[0]
        if not exists:
            return Counter()
        rows = con.execute(
            f"select reason, count(*) from {QUARANTINE_TABLE} where measurement_date in (select unnest(?::date[])) group by 1",
            [days],
        ).fetchall()
    return Counter(dict(rows))

"""Row-level quarantine: readings inside otherwise good raw files that must not reach dbt.

One DuckDB query over the window's files finds them, each with a machine-readable reason
(ROW_REASONS). They are copied whole into `raw.quarantined_readings` (nothing is lost: the
row, its file, its row number and why) and the view `raw.bioreactor_readings` leaves them out.

- `unknown_tag`: the tag is not in the catalogue (the dbt seed `tag_specs`), even after the
  trim / case folding staging applies to historian spellings;
- `non_finite_value`: NaN or +-infinity: no sensor reads that, so it is garbage. The historian
  marks a lost sample (a dropout) with NULL, which is loaded and dropped by staging;
- `future_timestamp`: later than the moment of the check (plus FUTURE_SLACK);
- `timestamp_outside_day`: not on the day its folder (`date=YYYY-MM-DD`, the partition) names;
- `duplicate_reading`: the same reading (batch, equipment, instant, tag, value) already
  delivered in another file (a re-sent export); the first file's copy is kept;
- `conflicting_reading`: one sensor, one instant, different values in different files: no way
  to tell which is right, so every version is set aside.

Repeats inside one file are the historian's known artefact (exact repeats, which staging's
DISTINCT collapses); they are not looked for, because finding them costs a hash aggregate over
every reading (seconds per million rows), while readings from several files of one batch,
reactor and day are found from a few groups and compared only there.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import Counter
from functools import cache
from pathlib import Path

import duckdb

from lakehouse_core.settings import REPO_ROOT

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


def _may_hold_bad_rows(day: str, checks: list, future: dt.datetime) -> bool:
    """From the files' footer statistics: can any reading of this day be out of its day, in the
    future or infinite, or arrive in two files (batch ranges overlapping)? Unknown tags and NaN
    are looked for separately (no statistics say which strings a column holds, and Parquet
    writers leave NaN out of min/max)."""
    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    for c in checks:
        if c is None or None in (c.ts_min, c.ts_max, c.value_min, c.value_max, c.batch_min, c.batch_max):
            return True
        low, high = (t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t for t in (c.ts_min, c.ts_max))
        if low < start or high >= start + dt.timedelta(days=1) or high > future:
            return True
        if math.isinf(c.value_min) or math.isinf(c.value_max):
            return True
    ranges = sorted((c.batch_min, c.batch_max) for c in checks)
    return any(later[0] <= earlier[1] for earlier, later in zip(ranges, ranges[1:]))


def find_bad_rows(
    con: duckdb.DuckDBPyConnection, files: list[tuple[str, Path]], now: dt.datetime, checks: dict | None = None
) -> int:
    """Fill the temp table `bad_rows` with the quarantined readings of `files` ((day, path));
    returns how many. `con` must have TimeZone UTC. `checks` (path -> raw_files.FileCheck)
    lets days whose footers rule every kind out skip the scan; without them every day is scanned."""
    con.execute(
        "create or replace temp table bad_rows (measurement_date date, path varchar, row_number bigint, reason varchar, "
        "batch_id varchar, site varchar, equipment_id varchar, ts timestamptz, tag varchar, value double, unit varchar)"
    )
    if not files:
        return 0
    by_day: dict[str, list[str]] = {}
    for day, path in files:
        by_day.setdefault(day, []).append(str(path.resolve()))
    tags = [t.lower() for t in known_tags()]
    # One pass over the tag and value columns of the whole window (cheap: no statistics rule
    # out an unknown tag or a NaN, so every reading is looked at, but only these two columns).
    suspect = {
        row[0]
        for row in con.execute(
            f"select distinct filename from read_parquet({_sql_list([p for ps in by_day.values() for p in ps])}, "
            "filename = true, hive_partitioning = false) "
            "where tag is null or not list_contains($tags, lower(trim(tag))) or isnan(value)",
            {"tags": tags},
        ).fetchall()
    }
    future = now + FUTURE_SLACK
    by_path = {str(Path(k).resolve()): v for k, v in (checks or {}).items()}
    for day, day_files in sorted(by_day.items()):  # one day at a time: duplicates never cross days
        if (
            checks is not None
            and not suspect.intersection(day_files)
            and not _may_hold_bad_rows(day, [by_path.get(p) for p in day_files], future)
        ):
            continue
        _find_in_day(con, day, day_files, tags, future)
    return con.execute("select count(*) from bad_rows").fetchone()[0]


def _find_in_day(
    con: duckdb.DuckDBPyConnection, day: str, paths: list[str], tags: list[str], future: dt.datetime
) -> None:
    columns = "batch_id, site, equipment_id, ts, tag, value, unit"
    con.execute(
        f"""
        insert into bad_rows
        with r as (
            select r.filename as path, r.file_row_number as row_number,
                   cast(r.batch_id as varchar) as batch_id, cast(r.site as varchar) as site,
                   cast(r.equipment_id as varchar) as equipment_id, cast(r.ts as timestamptz) as ts,
                   cast(r.tag as varchar) as tag, cast(r.value as double) as value, cast(r.unit as varchar) as unit,
                   lower(trim(r.tag)) as tag_key
            from read_parquet({_sql_list(paths)}, filename = true, file_row_number = true, hive_partitioning = false) r
        ),
        judged as (
            select *, case
                when tag_key is null or not list_contains($tags, tag_key) then 'unknown_tag'
                when value is not null and not isfinite(value) then 'non_finite_value'
                when ts > $future then 'future_timestamp'
                when ts < $day or ts >= $day + interval 1 day then 'timestamp_outside_day'
            end as reason
            from r
        ),
        fine as (select * from judged where reason is null),
        -- Readings of one batch on one reactor on one day normally come in one file; only where
        -- they come in several can a reading arrive twice (cheap to find: few groups).
        shared as (
            select batch_id, equipment_id from fine group by all having min(path) <> max(path)
        ),
        candidates as (select f.* from fine f semi join shared s using (batch_id, equipment_id)),
        repeated as (
            select batch_id, equipment_id, ts, tag_key,
                   min(value) <> max(value) as conflicting, min(path) as first_path
            from candidates
            group by all
            having min(path) <> max(path)
        )
        select $day::date, path, row_number, reason, {columns} from judged where reason is not null
        union all
        select $day::date, c.path, c.row_number,
               case when d.conflicting then 'conflicting_reading' else 'duplicate_reading' end,
               {", ".join("c." + c for c in columns.split(", "))}
        from candidates c
        join repeated d using (batch_id, equipment_id, ts, tag_key)
        where d.conflicting or c.path <> d.first_path
        """,
        {"tags": tags, "future": future, "day": dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)},
    )


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

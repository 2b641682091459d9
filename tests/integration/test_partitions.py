"""Daily partitions against real DuckDB, dbt and Postgres: a 3-day backfill materializes exactly
those days, and rerunning one day leaves every other day untouched and its own rows identical;
a day's dbt tests check that day."""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from lakehouse_core.settings import DBT_PROJECT_DIR
from tests.integration.test_pipeline_e2e import dagster_materialize

pytestmark = pytest.mark.integration

PARTITIONED_ASSETS = [
    "raw_bioreactor_data", "stg_bioreactor", "int_bioreactor_downsample_5m", "int_bioreactor_batch_tag_daily",
    "dim_batch", "fact_bioreactor_batch_stats", "postgres/dim_batch", "mart_bioreactor_overview",
]  # fmt: skip


@pytest.fixture(scope="module")
def partitioned_lake(settings, postgres, tmp_path_factory):
    """A lake of its own (raw dir, DuckDB file, Dagster home), sharing the session's Postgres."""
    from orchestration.datagen import generate_bioreactor_data

    root = tmp_path_factory.mktemp("partitions")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAKEHOUSE_RAW_DIR", str(root / "raw"))
        env.setenv("LAKEHOUSE_DUCKDB_PATH", str(root / "lakehouse.duckdb"))
        env.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        summary = generate_bioreactor_data(
            root / "raw", seed=11, sites=1, reactors_per_site=2, batches_per_reactor=2,
            sample_interval_s=900, start_date="2025-03-01",
        )  # fmt: skip
        yield {"root": root, "days": sorted(d.isoformat() for d in summary.dates)}


def _days_in(duckdb_path, table: str, column: str) -> dict[str, list[tuple]]:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        rows = con.execute(f"select * from intermediate.{table} order by all").fetchall()
        names = [d[0] for d in con.description]
    index = names.index(column)
    by_day: dict[str, list[tuple]] = {}
    for row in rows:
        by_day.setdefault(row[index].astimezone(dt.UTC).date().isoformat(), []).append(row)
    return by_day


def _materialized_partitions(asset: str) -> set[str]:
    with dg.DagsterInstance.get() as instance:
        return set(instance.get_materialized_partitions(dg.AssetKey.from_user_string(asset)))


def test_three_day_backfill_then_single_day_rerun(partitioned_lake, monkeypatch):
    days = partitioned_lake["days"]
    assert len(days) >= 6
    window = days[1:4]
    # Slices of 2 days (macros/partition_window.sql): the backfill's window is built in two
    # slices, whose rows must equal what the one-day rerun builds.
    monkeypatch.setenv("LAKEHOUSE_WINDOW_SLICE_DAYS", "2")
    result = dagster_materialize("*", f"{window[0]}...{window[-1]}")
    assert result.returncode == 0, result.stderr[-5000:]

    for asset in PARTITIONED_ASSETS:
        assert _materialized_partitions(asset) == set(window), asset
    duckdb_path = partitioned_lake["root"] / "lakehouse.duckdb"
    before = _days_in(duckdb_path, "int_bioreactor_downsample_5m", "bucket_start")
    assert sorted(before) == window
    daily_before = _days_in(duckdb_path, "int_bioreactor_batch_tag_daily", "day_start")
    assert sorted(daily_before) == window

    rerun = dagster_materialize("*", window[1])
    assert rerun.returncode == 0, rerun.stderr[-5000:]
    after = _days_in(duckdb_path, "int_bioreactor_downsample_5m", "bucket_start")
    assert after == before  # other days untouched, the rerun day identical (no duplicates)
    assert _days_in(duckdb_path, "int_bioreactor_batch_tag_daily", "day_start") == daily_before
    # The staging table holds exactly the deduplicated readings of the days run, once each.
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        days = con.execute(
            "select distinct cast(ts as date)::varchar from staging.stg_bioreactor order by 1"
        ).fetchall()
        dupes = con.execute(
            "select count(*) from (select * from staging.stg_bioreactor group by all having count(*) > 1)"
        ).fetchone()[0]
    assert [d[0] for d in days] == window
    assert dupes == 0


def _dbt_test(duckdb_path, window_day: str | None) -> subprocess.CompletedProcess:
    """`dbt test` of the downsample model as a user runs it, with or without a partition window."""
    env = {**os.environ, "LAKEHOUSE_DUCKDB_PATH": str(duckdb_path), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("LAKEHOUSE_WINDOW_START", None)
    env.pop("LAKEHOUSE_WINDOW_END", None)
    if window_day:
        start = dt.datetime.fromisoformat(window_day).replace(tzinfo=dt.UTC)
        env["LAKEHOUSE_WINDOW_START"] = start.isoformat()
        env["LAKEHOUSE_WINDOW_END"] = (start + dt.timedelta(days=1)).isoformat()
    dbt = Path(sys.executable).parent / "dbt"
    return subprocess.run(
        [
            str(dbt),
            "test",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target",
            "duckdb",
            "--target-path",
            str(Path(duckdb_path).parent / "dbt-target"),
            "--select",
            "int_bioreactor_downsample_5m,test_name:not_null",
        ],  # fmt: skip
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_daily_run_tests_its_own_window(partitioned_lake):
    """dbt tests of the window-incremental models check the run's window only: a bad row in
    another day fails a plain `dbt test` and a test of its own day, but not another day's run."""
    days = partitioned_lake["days"]
    duckdb_path = partitioned_lake["root"] / "lakehouse.duckdb"
    with dg.DagsterInstance.get() as instance:  # the runs are recorded in Postgres
        assert type(instance.event_log_storage).__name__ == "PooledPostgresEventLogStorage"
    bad_day, other_day = days[1], days[3]
    with duckdb.connect(str(duckdb_path)) as con:
        # A bucket without its site: caught by a row-level test (not_null), and by nothing that
        # reads other layers (the reading counts still reconcile).
        con.execute(
            "update intermediate.int_bioreactor_downsample_5m set site = null "
            "where bucket_start = (select min(bucket_start) from intermediate.int_bioreactor_downsample_5m "
            f"where cast(bucket_start as date) = '{bad_day}')"
        )
        assert (
            con.execute("select count(*) from intermediate.int_bioreactor_downsample_5m where site is null").fetchone()[
                0
            ]
            > 0
        )
    try:
        assert _dbt_test(duckdb_path, None).returncode != 0  # no window: every row is checked
        assert _dbt_test(duckdb_path, bad_day).returncode != 0
        other = _dbt_test(duckdb_path, other_day)
        assert other.returncode == 0, other.stdout[-3000:]
        run = dagster_materialize("*", other_day)
        assert run.returncode == 0, run.stderr[-5000:]
    finally:
        assert dagster_materialize("*", bad_day).returncode == 0  # rebuilds the bad day
    assert _dbt_test(duckdb_path, None).returncode == 0


def test_a_long_window_is_built_slice_by_slice(tmp_path):
    """A backfill's window is cut into slices of LAKEHOUSE_WINDOW_SLICE_DAYS days (macros/
    partition_window.sql), each aggregated on its own: 65 days in 30-day slices are three
    contiguous slices from the window's start to its end; a day is one slice."""
    import re

    def compiled(days: int, slice_days: str) -> str:
        start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
        env = {**os.environ, "LAKEHOUSE_DUCKDB_PATH": str(tmp_path / "compile.duckdb"),
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "LAKEHOUSE_WINDOW_SLICE_DAYS": slice_days,
               "LAKEHOUSE_WINDOW_START": start.isoformat(),
               "LAKEHOUSE_WINDOW_END": (start + dt.timedelta(days=days)).isoformat()}  # fmt: skip
        target = tmp_path / f"target-{days}-{slice_days}"
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "dbt"),
                "compile",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target",
                "duckdb",
                "--target-path",
                str(target),
                "--select",
                "int_bioreactor_downsample_5m",
            ],  # fmt: skip
            cwd=DBT_PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-3000:]
        (sql,) = target.rglob("int_bioreactor_downsample_5m.sql")
        return sql.read_text()

    def slices(sql: str) -> list[tuple[str, str]]:
        return re.findall(r"ts >= cast\('([^']+)' as timestamptz\)\s+and ts < cast\('([^']+)' as timestamptz\)", sql)

    assert slices(compiled(65, "30")) == [
        ("2025-01-01T00:00:00+00:00", "2025-01-31T00:00:00+00:00"),
        ("2025-01-31T00:00:00+00:00", "2025-03-02T00:00:00+00:00"),
        ("2025-03-02T00:00:00+00:00", "2025-03-07T00:00:00+00:00"),
    ]
    assert slices(compiled(1, "30")) == [("2025-01-01T00:00:00+00:00", "2025-01-02T00:00:00+00:00")]

"""The whole pipeline, materialized the way users run it (`dagster asset materialize`),
on generated data against real DuckDB, dbt and Postgres."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest

from tests.integration.reference_metrics import mart_rows

pytestmark = pytest.mark.integration

MART_COLUMNS = [
    "batch_id", "tag", "site", "equipment_id", "batch_start", "batch_end", "duration_hours", "unit",
    "mean_value", "sd_value", "min_value", "max_value", "reading_count", "time_in_spec_share", "excursion_count",
]  # fmt: skip


def dagster_materialize(selection: str, partitions: str | None = None) -> subprocess.CompletedProcess:
    """`dagster asset materialize` as a user runs it; by default over every day in the lake."""
    from lakehouse_core.settings import get_settings
    from orchestration.ingest.lake_scan import lake_days
    from orchestration.services.dagster_dev import prepare_dagster_home

    settings = get_settings()
    prepare_dagster_home(settings)
    if partitions is None:
        days = lake_days(settings.raw_dir)
        partitions = f"{days[0]}...{days[-1]}"
    flag = "--partition-range" if "..." in partitions else "--partition"
    dagster = Path(sys.executable).parent / "dagster"
    return subprocess.run(
        [
            str(dagster),
            "asset",
            "materialize",
            "-m",
            "orchestration.definitions",
            "--select",
            selection,
            flag,
            partitions,
        ],  # fmt: skip
        # Not the repo root: the Dagster CLI loads ./.env over the environment, and a developer's
        # .env would send the test's run to their own Postgres. (The project is installed in the venv.)
        cwd=settings.data_dir,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=900,
    )


def read_mart(url: str) -> list[tuple]:
    with psycopg.connect(url) as pg:
        return pg.execute(
            f"select {', '.join(MART_COLUMNS)} from marts.mart_bioreactor_overview order by batch_id, tag"
        ).fetchall()


def latest_metadata(asset_key: str) -> dict:
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset_key))
    assert event is not None, f"{asset_key} was never materialized"
    return {k: v.value for k, v in event.asset_materialization.metadata.items()}


@pytest.fixture(scope="module")
def pipeline(settings, postgres):
    from orchestration.datagen import generate_bioreactor_data

    summary = generate_bioreactor_data(
        settings.raw_dir, seed=7, sites=2, reactors_per_site=1, batches_per_reactor=2, sample_interval_s=600
    )
    good_files = sorted(Path(p) for p in summary.files)
    # Two bad uploads next to the good ones: unreadable bytes, and the wrong schema.
    day = good_files[0].parent
    (day / "truncated-upload.parquet").write_bytes(b"PAR1 not really parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"batch_id": ["X"], "ts": ["yesterday"], "reading": [1.0]}), day / "wrong-schema.parquet")

    result = dagster_materialize("*")
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs(limit=1)
    return {
        "good_files": good_files,
        "rows_generated": summary.rows,
        "log": result.stdout + result.stderr,
        "run_id": run.run_id,
    }


def test_mart_matches_an_independent_computation_from_the_raw_files(pipeline, postgres):
    expected = mart_rows(pipeline["good_files"])
    actual = {(row[0], row[1]): dict(zip(MART_COLUMNS, row)) for row in read_mart(postgres.url)}
    assert set(actual) == set(expected)
    assert len(actual) >= 2 * 2 * 8  # batches x tags: the generator made every tag for every batch
    for key, want in expected.items():
        got = actual[key]
        for column, value in want.items():
            if isinstance(value, float) and got[column] is not None:
                assert math.isclose(got[column], value, rel_tol=1e-9, abs_tol=1e-9), (key, column, got[column], value)
            else:
                assert got[column] == value, (key, column, got[column], value)


def test_bad_files_are_quarantined_with_their_reason_and_rows_add_up(pipeline, settings):
    reasons = {Path(p).name: json.loads(Path(p).read_text()) for p in settings.quarantine_dir.rglob("*.reason.json")}
    assert set(reasons) == {"truncated-upload.parquet.reason.json", "wrong-schema.parquet.reason.json"}
    assert reasons["truncated-upload.parquet.reason.json"]["problems"][0].startswith("unreadable Parquet")
    assert "missing column 'site'" in reasons["wrong-schema.parquet.reason.json"]["problems"]
    assert "column 'ts' has type string, expected timestamp" in reasons["wrong-schema.parquet.reason.json"]["problems"]
    # The run log names each bad file and its problem.
    assert "truncated-upload.parquet: unreadable Parquet" in pipeline["log"]

    metadata = latest_metadata("raw_bioreactor_data")
    assert metadata["dagster/row_count"] == pipeline["rows_generated"]
    assert metadata["rows_quarantined"] == 1  # the wrong-schema file's one row; unreadable bytes have none
    assert metadata["files_quarantined"] == 2
    assert metadata["file_count"] == len(pipeline["good_files"])


def test_every_day_of_the_run_shows_each_check_result(pipeline, settings):
    """The UI's per-day check status: each check (ours and dbt's tests) planned for every day of
    the range run holds that run's result on every day, none left PLANNED, none without a day."""
    import dagster as dg
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus as Status

    from orchestration.definitions import defs
    from orchestration.ingest.lake_scan import lake_days

    graph = defs().resolve_asset_graph()
    check_keys = [key for key in graph.asset_check_keys if graph.get(key.asset_key).partitions_def is not None]
    assert len(check_keys) > 20  # ours on the raw asset and dbt's tests
    days = set(lake_days(settings.raw_dir))
    with dg.DagsterInstance.get() as instance:
        run_id = pipeline["run_id"]
        infos = instance.event_log_storage.get_asset_check_partition_info(check_keys)
        by_check: dict = {}
        for info in infos:
            if info.latest_planned_run_id == run_id:
                by_check.setdefault(info.check_key, {})[info.partition_key] = info.latest_execution_status
    assert set(by_check) == set(check_keys)
    for key, statuses in by_check.items():
        assert set(statuses) == days, key
        assert Status.PLANNED not in statuses.values(), (key, statuses)
    raw = dg.AssetKey("raw_bioreactor_data")
    assert set(by_check[dg.AssetCheckKey(raw, "raw_files_valid")].values()) == {Status.FAILED}  # two bad uploads
    assert set(by_check[dg.AssetCheckKey(raw, "row_accounting")].values()) == {Status.SUCCEEDED}


def test_duckdb_layers_exist_where_dbt_put_them(pipeline, settings):
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        relations = set(
            con.execute("select table_schema || '.' || table_name from information_schema.tables").fetchall()
        )
    for name in [
        "raw.bioreactor_readings",
        "staging.stg_bioreactor",
        "intermediate.int_bioreactor_downsample_5m",
        "curated.dim_batch",
        "curated.fact_bioreactor_batch_stats",
    ]:
        assert (name,) in relations


def test_rerun_on_the_same_data_leaves_identical_marts(pipeline, postgres):
    before = read_mart(postgres.url)
    result = dagster_materialize("*")
    assert result.returncode == 0, result.stderr[-5000:]
    assert read_mart(postgres.url) == before


def test_group_selection_from_the_cli(pipeline):
    result = dagster_materialize("group:dbt_curated")
    assert result.returncode == 0, result.stderr[-5000:]
    assert "int_bioreactor_downsample_5m" in result.stdout + result.stderr

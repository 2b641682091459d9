"""Crashes and concurrency with real runs: Postgres killed during the publish step (the previous
mart stays whole, the next run heals it), and two runs started at once (both succeed, one step
after the other, the DuckDB file intact).

The built-in Marquez killed mid-ingest is tests/marquez/test_restart.py."""

from __future__ import annotations

import concurrent.futures
import math
import time
from pathlib import Path

import duckdb
import psycopg
import pytest

from tests.integration.reference_metrics import mart_rows
from tests.integration.test_lineage_e2e import own_lake
from tests.integration.test_pipeline_e2e import MART_COLUMNS, dagster_materialize, read_mart
from tests.marquez_fixture import _free_port
from tests.reliability.support import wait_until

pytestmark = pytest.mark.integration

CURATED = ("dim_batch", "fact_bioreactor_batch_stats")


def _generate(raw: Path, start_date: str, seed: int) -> tuple[list[str], list[Path]]:
    from orchestration.datagen import generate_bioreactor_data

    summary = generate_bioreactor_data(
        raw, seed=seed, sites=1, reactors_per_site=1, batches_per_reactor=2, sample_interval_s=1800,
        start_date=start_date,
    )  # fmt: skip
    return sorted(d.isoformat() for d in summary.dates), sorted(Path(p) for p in summary.files)


def _assert_mart_equals_reference(url: str, files: list[Path]) -> None:
    expected = mart_rows(files)
    actual = {(row[0], row[1]): dict(zip(MART_COLUMNS, row)) for row in read_mart(url)}
    assert set(actual) == set(expected)
    for key, want in expected.items():
        for column, value in want.items():
            got = actual[key][column]
            if isinstance(value, float) and got is not None:
                assert math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-9), (key, column, got, value)
            else:
                assert got == value, (key, column, got, value)


def _snapshot(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as pg:
        tables = {f"curated.{t}": pg.execute(f"select * from curated.{t} order by 1, 2").fetchall() for t in CURATED}
        tables["marts.mart_bioreactor_overview"] = read_mart(url)
    return tables


@pytest.fixture
def own_postgres(tmp_path, monkeypatch):
    """A Postgres of the test's own (the session's is shared by every test and Marquez): the
    pipeline's subprocesses start it on first use, as `lakehouse` does."""
    from lakehouse_core.settings import get_settings
    from orchestration.services.postgres import embedded_server

    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LAKEHOUSE_PG_PORT", str(_free_port()))
    monkeypatch.delenv("LAKEHOUSE_PG_URL", raising=False)
    settings = get_settings()
    server = embedded_server(settings)
    server.start()
    yield server
    server.stop()


@pytest.mark.timeout(2400)  # three whole runs; minutes each on a loaded 2-core machine
def test_postgres_killed_during_publish_keeps_the_previous_mart_and_the_next_run_heals(tmp_path, own_postgres):
    url = own_postgres.connection.url
    with own_lake(tmp_path):
        days, files = _generate(tmp_path / "raw", "2025-07-01", seed=21)
        first, later = days[0], days[1:]
        day_one = [f for f in files if f.parent.name == f"date={first}"]
        result = dagster_materialize("*", first)
        assert result.returncode == 0, result.stderr[-5000:]
        before = _snapshot(url)
        assert before["marts.mart_bioreactor_overview"], "the first run published an empty mart"

        # A BI query holds a read lock on a published table, so the publish waits right at its
        # swap (staging tables loaded and committed); Postgres crashes there.
        reader = psycopg.connect(url)
        reader.execute("select count(*) from curated.dim_batch").fetchone()  # lock held: transaction stays open
        crashed = []

        def crash_at_the_swap(run: concurrent.futures.Future) -> None:
            def waiting() -> bool:
                with psycopg.connect(url, autocommit=True) as probe:
                    return bool(probe.execute(
                        "select 1 from pg_stat_activity where wait_event_type = 'Lock' and query ilike 'alter table%'"
                    ).fetchone())  # fmt: skip

            wait_until(lambda: run.done() or waiting(), 600, "the publish step waiting at its swap", step_s=0.5)
            if not run.done():
                crashed.append(
                    own_postgres._pg("pg_ctl", "-D", str(own_postgres.data_dir), "-m", "immediate", "stop").returncode
                )

        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            future = pool.submit(dagster_materialize, "*", f"{later[0]}...{later[-1]}" if len(later) > 1 else later[0])
            crash_at_the_swap(future)
            faulted = future.result()
        assert crashed == [0], "Postgres was not killed during the publish step"
        assert faulted.returncode != 0, "the run succeeded although Postgres died under its publish step"
        assert "publish_curated_to_postgres" in faulted.stdout + faulted.stderr
        try:
            reader.close()
        except psycopg.Error:
            pass

        own_postgres.start()  # crash recovery
        assert _snapshot(url) == before, "the mart or a published table changed although the publish never committed"
        _fail_dead_run()

        healed = dagster_materialize("*", f"{days[0]}...{days[-1]}")
        assert healed.returncode == 0, healed.stderr[-5000:]
        _assert_mart_equals_reference(url, files)
        assert _snapshot(url) != before
        assert len(day_one) >= 1


def _fail_dead_run() -> None:
    """What Dagster's run monitoring does for a run whose worker died: the run that lost its
    Postgres (Dagster's storage too) could not record its own end, so it stays STARTED and keeps
    its `duckdb_writer` slot, which would hold every later run. `dagster asset materialize` has
    no daemon to notice; under `lakehouse up` the daemon's run monitoring does this."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        for record in instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            run = record.dagster_run
            instance.report_run_failed(run)
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)


def _duckdb_step_spans() -> list[tuple[str, str, float, float]]:
    """(run id, step, start, end) of every step of every run that touches the DuckDB file."""
    import dagster as dg

    spans = []
    with dg.DagsterInstance.get() as instance:
        for record in instance.get_run_records():
            run_id = record.dagster_run.run_id
            starts, ends = {}, {}
            for kind, into in ((dg.DagsterEventType.STEP_START, starts), (dg.DagsterEventType.STEP_SUCCESS, ends),
                               (dg.DagsterEventType.STEP_FAILURE, ends)):  # fmt: skip
                for event in instance.get_records_for_run(run_id, of_type=kind).records:
                    into[event.event_log_entry.step_key] = event.event_log_entry.timestamp
            for step, started in starts.items():
                if step != "dbt_postgres_marts":  # Postgres only
                    spans.append((run_id, step, started, ends.get(step, float("inf"))))
    return spans


@pytest.mark.timeout(2400)
def test_two_runs_started_at_once_both_succeed_in_turn(tmp_path, postgres):
    with own_lake(tmp_path) as _:
        days, files = _generate(tmp_path / "raw", "2025-08-01", seed=31)
        assert len(days) >= 2
        # The instance exists before the runs (as under `lakehouse up`): two processes creating
        # a fresh SQLite run storage at the same moment both stamp its schema version.
        import dagster as dg

        from lakehouse_core.settings import get_settings
        from orchestration.services.dagster_dev import prepare_dagster_home

        prepare_dagster_home(get_settings())
        with dg.DagsterInstance.get():
            pass
        began = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            runs = [pool.submit(dagster_materialize, "*", day) for day in days[:2]]
            results = [r.result() for r in runs]
        for result in results:
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
        print(f"\ntwo runs at once: both succeeded in {time.monotonic() - began:.0f}s")
        spans = _duckdb_step_spans()
        overlapping = [
            (a, b) for i, a in enumerate(spans) for b in spans[i + 1:]
            if a[0] != b[0] and a[2] < b[3] and b[2] < a[3]
        ]  # fmt: skip
        assert not overlapping, f"steps writing DuckDB ran side by side: {overlapping}"
        rest = days[2:]
        if rest:
            result = dagster_materialize("*", f"{rest[0]}...{rest[-1]}" if len(rest) > 1 else rest[0])
            assert result.returncode == 0, result.stderr[-5000:]
        from lakehouse_core.settings import get_settings

        duckdb_path = get_settings().duckdb_path
        with duckdb.connect(str(duckdb_path)) as con:  # opens, replays its WAL, checkpoints: not corrupted
            con.execute("checkpoint")
            for schema, table in (("staging", "stg_bioreactor"), ("curated", "dim_batch")):
                assert con.execute(f"select count(*) from {schema}.{table}").fetchone()[0] > 0
        _assert_mart_equals_reference(postgres.url, files)

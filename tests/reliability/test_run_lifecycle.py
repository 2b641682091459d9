"""Every Dagster run's lineage is complete however it was launched, with NO daemon running: the
instance's event-log storage emits each run's START and its end (orchestration/dagster_storage/
run_lineage.py). And a run whose process is killed -9 is failed (in Dagster and in Marquez) and
the pool slot it held is freed for the next run (orchestration/run_workers.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from lineage.events import DagsterRun
from lineage.outbox import Outbox
from tests.integration.test_lineage_e2e import NS, deliver, get, latest_run_id, own_lake
from tests.integration.test_pipeline_e2e import dagster_materialize

pytestmark = pytest.mark.integration

DAGSTER = Path(sys.executable).parent / "dagster"


def _generate(raw: Path, start_date: str) -> str:
    from orchestration.datagen import generate_bioreactor_data

    summary = generate_bioreactor_data(
        raw, seed=3, sites=1, reactors_per_site=1, batches_per_reactor=1, sample_interval_s=900, start_date=start_date
    )
    return sorted(d.isoformat() for d in summary.dates)[0]


def _marquez_state(url: str, run_id: str) -> str:
    lineage_id = DagsterRun(run_id, "").lineage_run_id
    return get(url, f"/jobs/runs/{lineage_id}")["state"]


def _run_ends_in_outbox(outbox: Path, run_id: str) -> list[str]:
    lineage_id = DagsterRun(run_id, "").lineage_run_id
    return [e.event_type for e in Outbox(outbox).events(run_id=lineage_id, limit=100)]


def test_runs_launched_every_way_end_in_marquez(tmp_path, postgres, marquez_factory):
    """`dagster asset materialize`, `dagster job execute` and `materialize()` on the persistent
    instance: each run START + COMPLETE (or FAIL) in Marquez, no daemon, no sensor."""
    marquez = marquez_factory.start()
    with own_lake(tmp_path) as outbox:
        day = _generate(tmp_path / "raw", "2025-05-01")
        runs = {}
        result = dagster_materialize("raw_bioreactor_data", day)
        assert result.returncode == 0, result.stderr[-3000:]
        runs["dagster asset materialize"] = latest_run_id()

        done = subprocess.run(
            [str(DAGSTER), "job", "execute", "-m", "orchestration.definitions", "-j", "ingest_raw_data",
             "--tags", json.dumps({"dagster/partition": day})],
            cwd=tmp_path, env=os.environ.copy(), capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        runs["dagster job execute"] = latest_run_id()

        from orchestration.definitions import defs

        with dg.DagsterInstance.get() as instance:
            raw = defs().get_assets_def("raw_bioreactor_data")
            result = dg.materialize([raw], instance=instance, partition_key=day, resources=defs().resources)
            assert result.success
            runs["materialize()"] = result.run_id
        # A run that fails: the staging model on a DuckDB file of its own, with no raw view in it.
        with pytest.MonkeyPatch.context() as env:
            env.setenv("LAKEHOUSE_DUCKDB_PATH", str(tmp_path / "empty.duckdb"))
            failed = dagster_materialize("stg_bioreactor", day)
        assert failed.returncode != 0
        runs["failing run"] = latest_run_id()

        for how, run_id in runs.items():
            assert _run_ends_in_outbox(outbox, run_id)[:1] == ["START"], how
        deliver(outbox, marquez.url)
        states = {how: _marquez_state(marquez.url, run_id) for how, run_id in runs.items()}
    assert states == {
        "dagster asset materialize": "COMPLETED",
        "dagster job execute": "COMPLETED",
        "materialize()": "COMPLETED",
        "failing run": "FAILED",
    }, states


def test_a_run_killed_hard_is_failed_and_frees_its_pool_slot(tmp_path, postgres, marquez_factory):
    from orchestration.run_workers import WORKER_TAG, HealthCheckedRunLauncher, heal, stuck_runs

    marquez = marquez_factory.start()
    with own_lake(tmp_path) as outbox:
        day = _generate(tmp_path / "raw", "2025-05-02")
        dagster_materialize("raw_bioreactor_data", day)  # the DuckDB file and the pools exist
        before = latest_run_id()
        proc = subprocess.Popen(
            [str(DAGSTER), "asset", "materialize", "-m", "orchestration.definitions", "--select", "*",
             "--partition", day],
            cwd=tmp_path, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        try:
            with dg.DagsterInstance.get() as instance:
                run_id = None
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline and proc.poll() is None:
                    latest = latest_run_id()
                    if latest != before:
                        run_id = latest
                        claimed = instance.event_log_storage.get_concurrency_info("duckdb_writer").claimed_slots
                        if any(slot.run_id == run_id for slot in claimed):
                            break
                    time.sleep(0.05)
                assert run_id is not None and proc.poll() is None, "the run ended before it held the pool slot"
                os.killpg(proc.pid, signal.SIGKILL)  # the run worker and its step processes die at once
                proc.wait(timeout=30)

                run = instance.get_run_by_id(run_id)
                assert run.status == dg.DagsterRunStatus.STARTED and run.tags.get(WORKER_TAG)
                # What Dagster's run monitoring asks the launcher (the daemon does this every 15 s).
                assert HealthCheckedRunLauncher().check_run_worker_health(run).status.name == "FAILED"
                (stuck,) = stuck_runs(instance)
                assert stuck.run_id == run_id and "duckdb_writer" in stuck.pools
                heal(instance)
                assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
                claimed = instance.event_log_storage.get_concurrency_info("duckdb_writer").claimed_slots
                assert not [s for s in claimed if s.run_id == run_id]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        # The next run gets the slot and succeeds.
        again = dagster_materialize("raw_bioreactor_data", day)
        assert again.returncode == 0, again.stderr[-3000:]
        deliver(outbox, marquez.url)
        assert _marquez_state(marquez.url, run_id) == "FAILED"
        assert _marquez_state(marquez.url, latest_run_id()) == "COMPLETED"
        runs = get(marquez.url, f"/namespaces/{NS}/jobs/dagster/runs", limit=50)["runs"]
        assert not [r for r in runs if r["state"] in ("RUNNING", "NEW")], runs

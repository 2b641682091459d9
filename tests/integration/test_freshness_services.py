"""New files reach the mart fast with the services of `lakehouse up`, and nothing is given up for it.

The whole stack as `lakehouse up` runs it (its own data dir, Postgres, built-in Marquez, lineage
delivery, `dagster dev` with its daemon, the warm run worker, the lake watcher), on free ports:

- a day's files landing start its run at once through the lake watcher, the run starts in the
  warm run worker, builds the mart and is COMPLETED in Marquez; the file sensor's next ticks ask
  for no second run of the day;
- a run started in the warm run worker is terminated by the instance's run launcher (the UI's
  "Terminate"): it ends CANCELED and holds no pool slot;
- without a warm run worker, dbt starts the default way (bin/warm/exec.py becomes the venv's dbt).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import requests

from lineage import naming
from lineage.events import DagsterRun

LAKEHOUSE = str(Path(sys.executable).parent / "lakehouse")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(probe, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {timeout_s:.0f}s")


@pytest.fixture
def stack():
    """`lakehouse up` on a data dir and ports of its own; `lakehouse down` after. Not under
    pytest's tmp_path: the embedded Postgres runs as its own user and must reach its data dir."""
    from orchestration.datagen import generate_bioreactor_data

    tmp_path = Path(tempfile.mkdtemp(prefix="lakehouse-freshness-"))
    ports = {
        name: str(_free_port()) for name in ("LAKEHOUSE_PG_PORT", "MARQUEZ_PORT", "LINEAGE_UI_PORT", "DAGSTER_PORT")
    }
    env = {**os.environ, "LAKEHOUSE_DATA_DIR": str(tmp_path / "data"), **ports}
    for name in ("LAKEHOUSE_DUCKDB_PATH", "LAKEHOUSE_RAW_DIR", "DAGSTER_HOME", "MARQUEZ_URL", "OPENLINEAGE_CONFIG",
                 "LAKEHOUSE_PG_URL"):  # fmt: skip
        env.pop(name, None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    staged = tmp_path / "staged"
    generate_bioreactor_data(staged, days=2, seed=7, sites=("LON",), reactors_per_site=1, batches_per_reactor=9999,
                             sample_interval_s=600, start_date="2025-03-01")  # fmt: skip
    (tmp_path / "data" / "lake" / "raw" / "bioreactor").mkdir(parents=True)
    up = subprocess.run([LAKEHOUSE, "up"], env=env, capture_output=True, text=True, timeout=600)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert "Run worker" in up.stdout and "Watcher" in up.stdout, up.stdout
        data = tmp_path / "data"
        _wait(lambda: (data / "run" / "run-worker.sock").exists(), 180, "warm run worker listening")
        _wait(lambda: "watching" in (data / "logs" / "lake-watcher.log").read_text(), 120, "lake watcher watching")
        status = subprocess.run([LAKEHOUSE, "status"], env=env, capture_output=True, text=True, timeout=120).stdout
        assert "Run worker running" in status and "Watcher    running" in status, status
        yield env, data, staged
    finally:
        subprocess.run([LAKEHOUSE, "down"], env=env, capture_output=True, timeout=300)
        shutil.rmtree(tmp_path, ignore_errors=True)


def _land(staged: Path, data: Path, day: str) -> float:
    incoming = data.parent / "incoming" / day
    shutil.copytree(staged / f"date={day}", incoming)
    landed = time.time()
    os.rename(incoming, data / "lake" / "raw" / "bioreactor" / f"date={day}")
    return landed


def _runs_for(instance: dg.DagsterInstance, day: str) -> list[dg.DagsterRun]:
    return [r.dagster_run for r in instance.get_run_records(dg.RunsFilter(tags={"dagster/partition": day}))]


def test_new_files_start_a_warm_run_at_once_and_it_can_be_terminated(stack):
    from orchestration.run_workers import WARM_TAG

    env, data, staged = stack
    first, second = sorted(p.name.removeprefix("date=") for p in staged.glob("date=*"))
    with dg.DagsterInstance.from_config(str(data / "dagster_home")) as instance:
        landed = _land(staged, data, first)
        run = _wait(lambda: next(iter(_runs_for(instance, first)), None), 60, f"a run for {first}")
        record = instance.get_run_record_by_id(run.run_id)
        assert record is not None
        # The watcher asked for it (the sensor's loop passes every 5 s), with the sensor's run key.
        assert record.create_timestamp.timestamp() - landed < 4, record.create_timestamp.timestamp() - landed
        assert run.tags.get("lakehouse/trigger") == "lake_watcher", run.tags
        assert run.tags.get("dagster/sensor_name") == "raw_file_sensor", run.tags
        run = _wait(lambda: (r := instance.get_run_by_id(run.run_id)) and r.is_finished and r, 600, "the run to end")
        assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
        assert run.tags.get(WARM_TAG) == "true", run.tags  # started by the warm run worker
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:{env['LAKEHOUSE_PG_PORT']}/lakehouse", connect_timeout=10
        ) as pg:
            rows = pg.execute("select count(*) from marts.mart_bioreactor_overview").fetchone()
        assert rows and rows[0] > 0
        lineage_id = DagsterRun(run.run_id, "").lineage_run_id
        marquez = f"http://127.0.0.1:{env['MARQUEZ_PORT']}/api/v1/jobs/runs/{lineage_id}"
        _wait(lambda: requests.get(marquez, timeout=5).json().get("state") == "COMPLETED", 60, "COMPLETED in Marquez")
        # dbt and dbt-ol ran warm: their lineage is as from the venv's: three dbt-ol wrapper runs under
        # the Dagster run, the staging model's run under a wrapper, the seed bridge's input on it.
        api = f"http://127.0.0.1:{env['MARQUEZ_PORT']}/api/v1"
        wrapper = naming.dbt_wrapper_job_name("bioreactor")
        wrappers = requests.get(f"{api}/namespaces/lakehouse/jobs/{wrapper}/runs", params={"limit": 100}, timeout=10)
        mine = [r for r in wrappers.json()["runs"] if r["facets"]["parent"]["run"]["runId"] == lineage_id]
        assert len(mine) == 3 and {r["state"] for r in mine} == {"COMPLETED"}, mine
        stg = naming.dbt_node_job_name("bioreactor", "lakehouse.staging.bioreactor.stg_bioreactor.build.run")
        stg_runs = requests.get(f"{api}/namespaces/lakehouse/jobs/{stg}/runs", timeout=10).json()["runs"]
        assert stg_runs[0]["state"] == "COMPLETED" and stg_runs[0]["facets"]["parent"]["job"]["name"] == wrapper
        graph = requests.get(f"{api}/lineage", params={"nodeId": f"job:lakehouse:{stg}", "depth": 1}, timeout=10)
        node = next(n for n in graph.json()["graph"] if n["id"] == f"job:lakehouse:{stg}")
        assert any(e["origin"].endswith(".tag_specs") for e in node["inEdges"]), node["inEdges"]
        time.sleep(11)  # two passes of the daemon's sensor loop: the sensor sees the day covered
        assert [r.run_id for r in _runs_for(instance, first)] == [run.run_id]

        _land(staged, data, second)
        run = _wait(lambda: next(iter(_runs_for(instance, second)), None), 60, f"a run for {second}")
        _wait(
            lambda: (r := instance.get_run_by_id(run.run_id)) and r.status == dg.DagsterRunStatus.STARTED, 120, "start"
        )
        assert instance.run_launcher.terminate(run.run_id)
        ended = _wait(lambda: (r := instance.get_run_by_id(run.run_id)) and r.is_finished and r, 120, "cancel")
        assert ended.status == dg.DagsterRunStatus.CANCELED, ended.status
        assert ended.tags.get(WARM_TAG) == "true"
        storage = instance.event_log_storage
        held = [
            s.run_id for key in storage.get_concurrency_keys() for s in storage.get_concurrency_info(key).claimed_slots
        ]
        assert run.run_id not in held


def test_the_dbt_shim_runs_the_venvs_dbt_when_no_warm_worker_listens(tmp_path):
    shim = Path(__file__).resolve().parents[2] / "orchestration" / "bin" / "warm" / "dbt"
    env = {**os.environ, "LAKEHOUSE_RUN_WORKER_SOCKET": str(tmp_path / "nobody.sock")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run([str(shim), "--version"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Core:" in done.stdout or "installed" in done.stdout, done.stdout

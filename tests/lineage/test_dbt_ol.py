"""THE agreement test: real dbt-ol on the project's dbt project names every dataset exactly as
lineage/naming.py does.

DuckDB target over a tiny raw view (made the way the raw asset makes it), the real publish to
Postgres, then the Postgres target. dbt-ol gets the environment lineage.events.dbt_ol_env builds
(the repo's openlineage.yml, namespace `lakehouse`, the Dagster run as parent via
OPENLINEAGE_CONTEXT) and a temporary data directory, so its events land in a temporary outbox
through the project's transport.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from lakehouse_core.settings import DBT_PROJECT_DIR, REPO_ROOT, get_settings
from lineage import naming
from lineage.events import DagsterRun, dbt_ol_env
from lineage.naming import DatasetId
from lineage.outbox import Outbox
from lineage.outbox import default_path as default_outbox_path
from orchestration.ingest.duckdb_raw import register_window
from orchestration.publish.postgres import publish_tables

pytestmark = pytest.mark.integration

VENV_BIN = Path(sys.executable).parent
DAGSTER_RUN = DagsterRun(run_id=str(uuid.uuid4()), job_name="transform_dbt_models")
DUCKDB_MODELS = [
    "stg_bioreactor",
    "int_bioreactor_downsample_5m",
    "int_bioreactor_batch_tag_daily",
    "dim_batch",
    "fact_bioreactor_batch_stats",
]
PUBLISHED = ["dim_batch", "fact_bioreactor_batch_stats"]


@dataclass
class DbtOlRun:
    env: dict[str, str]  # the environment dbt-ol ran with (LAKEHOUSE_*, OPENLINEAGE_*)
    outbox: Path
    events: list[dict[str, Any]]
    target: Path

    def model_runs(self, suffix: str) -> dict[str, dict[str, Any]]:
        """COMPLETE events of dbt node runs, keyed by model name (job `<db>.<schema>.<project>.<model><suffix>`)."""
        return {
            e["job"]["name"].removesuffix(suffix).split(".")[-1]: e
            for e in self.events
            if e["eventType"] == "COMPLETE" and e["job"]["name"].endswith(suffix)
        }


def _ids(datasets: list[dict[str, Any]]) -> list[DatasetId]:
    return sorted(DatasetId(d["namespace"], d["name"]) for d in datasets)


def _write_raw(settings) -> None:
    """A day of readings in the lake, exposed as raw.bioreactor_readings by the raw asset's own code."""
    day = "2025-01-03"
    folder = settings.raw_dir / f"date={day}"
    folder.mkdir(parents=True)
    parquet = folder / "part-0.parquet"
    with duckdb.connect() as con:
        con.execute(
            "copy (select 'B1' as batch_id, 'S1' as site, 'BR1' as equipment_id,"
            " timestamptz '2025-01-03 00:00:00+00' + to_minutes(i::int) as ts, t.tag,"
            " t.base + (i % 5) * 0.01 as value, t.unit"
            " from range(120) r(i),"
            " (values ('pH', 'pH', 7.0), ('DO', '%', 40.0), (' temp ', 'degC', 37.0)) t(tag, unit, base))"
            f" to '{parquet}' (format parquet)"
        )
    register_window(settings.duckdb_path, [day], [(day, parquet, 360, parquet.stat().st_size)])


def _dbt_ol(env: dict[str, str], target: str, workdir: Path) -> None:
    target_path = workdir / "target" / target
    command = [
        str(VENV_BIN / "dbt-ol"), "build",
        "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target", target, "--target-path", str(target_path),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, cwd=workdir, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]


@pytest.fixture(scope="module")
def dbt_ol_run(tmp_path_factory, postgres) -> DbtOlRun:
    tmp = tmp_path_factory.mktemp("dbt-ol")
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith(("OPENLINEAGE", "LAKEHOUSE_WINDOW", "DBT_"))]:
            mp.delenv(key)
        mp.delenv("LAKEHOUSE_DUCKDB_PATH", raising=False)
        # The production config (the repo's openlineage.yml, default outbox path) with a
        # temporary data directory: the outbox is <tmp>/data/lineage/outbox.sqlite3.
        mp.setenv("LAKEHOUSE_DATA_DIR", str(tmp / "data"))
        settings = get_settings()
        outbox = default_outbox_path()
        _write_raw(settings)
        env = {
            **os.environ,
            **settings.dbt_env(),
            **dbt_ol_env(DAGSTER_RUN, "bioreactor"),
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",  # dbt-ol starts `dbt` from PATH
            "DBT_LOG_PATH": str(tmp / "logs"),  # not /work/main/dbt/logs
        }
        _dbt_ol(env, "duckdb", tmp)
        publish_tables(settings.duckdb_path, postgres.url, "curated", PUBLISHED)
        _dbt_ol(env, "postgres", tmp)
    events = [json.loads(e.body) for e in Outbox(outbox).pending(limit=10_000)]
    return DbtOlRun(env=env, outbox=outbox, events=events, target=tmp / "target")


@pytest.fixture
def same_settings(dbt_ol_run: DbtOlRun, monkeypatch):
    """The naming authority, configured like the dbt-ol run."""
    for key in ("LAKEHOUSE_DATA_DIR", "LAKEHOUSE_DUCKDB_PATH", "OPENLINEAGE_NAMESPACE"):
        monkeypatch.setenv(key, dbt_ol_run.env[key])


def test_duckdb_models_match_the_naming_authority(dbt_ol_run: DbtOlRun, same_settings):
    runs = dbt_ol_run.model_runs(".build.run")
    assert set(DUCKDB_MODELS) <= set(runs)
    for model in DUCKDB_MODELS:
        assert _ids(runs[model]["outputs"]) == [naming.dataset_for_asset(model)], model
    # The bridge from the lake: dbt-ol's input for staging is the raw asset's output (and the
    # seed, which the seed bridge adds).
    assert sorted(_ids(runs["stg_bioreactor"]["inputs"])) == sorted(
        [naming.dataset_for_asset("raw_bioreactor_data"), naming.dataset_for_asset("tag_specs")]
    )
    assert _ids(runs["dim_batch"]["inputs"]) == [naming.dataset_for_asset("int_bioreactor_batch_tag_daily")]


def test_postgres_mart_matches_the_naming_authority(dbt_ol_run: DbtOlRun, same_settings):
    mart = dbt_ol_run.model_runs(".build.run")["mart_bioreactor_overview"]
    assert _ids(mart["outputs"]) == [naming.dataset_for_asset("mart_bioreactor_overview")]
    # The bridge from the publish step: dbt-postgres reads exactly what the publish assets write.
    assert _ids(mart["inputs"]) == sorted(naming.dataset_for_asset(["postgres", t]) for t in PUBLISHED)


def test_seed_and_raw_source(dbt_ol_run: DbtOlRun, same_settings):
    """The two non-model inputs: the raw source is only ever an input (no dbt job writes it; the
    raw asset's event does). dbt-ol (1.54) names no seed parents at all; the outbox transport's
    seed bridge (lineage/dbt_seeds.py) adds them from the manifest, so the models that ref
    `tag_specs` read it in Marquez. There is still no job for the seed itself."""
    raw = naming.dataset_for_asset("raw_bioreactor_data")
    seed = naming.dataset_for_asset("tag_specs")
    inputs = {d for e in dbt_ol_run.events for d in _ids(e.get("inputs", []))}
    outputs = {d for e in dbt_ol_run.events for d in _ids(e.get("outputs", []))}
    assert raw in inputs and raw not in outputs
    assert seed in inputs and seed not in outputs
    readers = {e["job"]["name"].split(".")[-3] for e in dbt_ol_run.events if seed in _ids(e.get("inputs", []))}
    assert {"stg_bioreactor", "int_bioreactor_batch_tag_daily"} <= readers, readers
    assert not [e for e in dbt_ol_run.events if "tag_specs" in e["job"]["name"]]


def test_jobs_and_parents(dbt_ol_run: DbtOlRun):
    assert dbt_ol_run.env["OPENLINEAGE_CONFIG"] == str(REPO_ROOT / "openlineage.yml")
    assert dbt_ol_run.outbox.is_relative_to(dbt_ol_run.env["LAKEHOUSE_DATA_DIR"])
    events = dbt_ol_run.events
    assert {e["job"]["namespace"] for e in events} == {"lakehouse"}
    wrappers = [e for e in events if e["job"]["name"] == "dagster.dbt-run-bioreactor"]
    assert [e["eventType"] for e in wrappers] == ["START", "COMPLETE", "START", "COMPLETE"]  # one per target
    for wrapper in wrappers:
        parent = wrapper["run"]["facets"]["parent"]
        assert parent["run"]["runId"] == DAGSTER_RUN.lineage_run_id
        assert parent["job"] == {"namespace": "lakehouse", "name": "dagster"}
    wrapper_runs = {e["run"]["runId"] for e in wrappers}
    for node in (e for e in events if e["job"]["name"] != "dagster.dbt-run-bioreactor"):
        parent = node["run"]["facets"]["parent"]
        assert parent["run"]["runId"] in wrapper_runs and parent["job"]["name"] == "dagster.dbt-run-bioreactor"
        assert parent["root"]["run"]["runId"] == DAGSTER_RUN.lineage_run_id
    assert "lakehouse.curated.bioreactor.dim_batch.build.run" in {e["job"]["name"] for e in events}


def test_manifest_relations_match_the_naming_authority(dbt_ol_run: DbtOlRun, same_settings):
    """Every node Dagster maps to an asset (meta.dagster.asset_key), in both targets' manifests,
    is the relation naming.py names: covers the seed and the sources too."""
    namespaces = {
        "duckdb": naming.duckdb_dataset("s", "t").namespace,
        "postgres": naming.postgres_dataset("s", "t").namespace,
    }
    checked = set()
    for target, namespace in namespaces.items():
        manifest = json.loads((dbt_ol_run.target / target / "manifest.json").read_text())
        for node in [*manifest["nodes"].values(), *manifest["sources"].values()]:
            key = (node.get("config", {}).get("meta") or node.get("meta") or {}).get("dagster", {}).get("asset_key")
            if not key or node["resource_type"] not in ("model", "seed", "source"):
                continue
            relation = node.get("alias") or node["identifier"]
            name = f"{node['database']}.{node['schema']}.{relation}"
            assert naming.dataset_for_asset(key) == DatasetId(namespace, name), key
            checked.add(tuple(key))
    assert checked == set(naming.known_assets())

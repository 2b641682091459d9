"""Lineage end to end: the pipeline materialized as users run it, its events delivered from the
outbox to a real Marquez (the fixture's; here the built-in server on an empty store), and the
result read back through the Marquez HTTP API only."""

from __future__ import annotations

import json
from collections import deque
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import requests

from lakehouse_core.marquez import MarquezTarget
from lineage import naming
from lineage.delivery import deliver_once
from lineage.events import DagsterRun
from lineage.outbox import Outbox
from tests.integration.test_pipeline_e2e import dagster_materialize
from tests.openlineage_spec import validator

pytestmark = pytest.mark.integration

NS = "lakehouse"
PROJECT = "bioreactor"  # dbt_project.yml `name`
DBT_MODELS = {
    # model -> (schema, target database stem / db)
    "stg_bioreactor": "staging",
    "int_bioreactor_downsample_5m": "intermediate",
    "int_bioreactor_batch_tag_daily": "intermediate",
    "dim_batch": "curated",
    "fact_bioreactor_batch_stats": "curated",
}


def deliver(outbox: Path, url: str) -> int:
    """Deliver the outbox to Marquez as `lineage deliver` does; every event must be accepted."""
    result = deliver_once(Outbox(outbox), MarquezTarget(url, "external"))
    counts = Outbox(outbox).counts()
    assert counts.pending == counts.failed == counts.rejected == 0, (result, counts)
    return counts.delivered


def get(url: str, path: str, **params) -> dict:
    response = requests.get(f"{url}/api/v1{path}", params=params, timeout=60)
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:300]}"
    return response.json()


def close_run(run_id: str) -> None:
    """The run succeeded; its COMPLETE was emitted by the instance's storage when Dagster stored
    the run's end (no daemon, no sensor involved)."""
    with dg.DagsterInstance.get() as instance:
        records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_SUCCESS).records
    assert records, f"run {run_id} did not succeed"


def latest_run_id() -> str:
    with dg.DagsterInstance.get() as instance:
        return instance.get_run_records(limit=1)[0].dagster_run.run_id


@contextmanager
def own_lake(root: Path):
    """A lake, DuckDB file, Dagster home and outbox of the test's own (the session's Postgres is
    shared); yields the outbox path."""
    outbox = root / "outbox.sqlite3"
    config = root / "openlineage.yml"
    config.write_text(f"transport:\n  type: lineage.transport.OutboxTransport\n  path: {outbox}\n  strict: true\n")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAKEHOUSE_RAW_DIR", str(root / "raw"))
        env.setenv("LAKEHOUSE_DUCKDB_PATH", str(root / "lakehouse.duckdb"))
        env.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        env.setenv("OPENLINEAGE_CONFIG", str(config))
        env.setenv("OPENLINEAGE_NAMESPACE", NS)
        yield outbox


@pytest.fixture(scope="module")
def lineage_run(settings, postgres, tmp_path_factory, marquez_factory):
    """One day materialized end to end, then the same raw asset again through the named job
    `ingest_raw_data`; everything delivered to an empty Marquez."""
    from orchestration.datagen import generate_bioreactor_data

    root = tmp_path_factory.mktemp("lineage-e2e")
    marquez = marquez_factory.start()
    with own_lake(root) as outbox:
        summary = generate_bioreactor_data(
            root / "raw", seed=5, sites=1, reactors_per_site=1, batches_per_reactor=1,
            sample_interval_s=900, start_date="2025-04-01",
        )  # fmt: skip
        day = sorted(d.isoformat() for d in summary.dates)[0]
        # A truncated upload: quarantined, so the asset check raw_files_valid fails.
        (root / "raw" / f"date={day}" / "truncated-upload.parquet").write_bytes(b"PAR1 not really parquet")
        result = dagster_materialize("*", day)
        assert result.returncode == 0, result.stderr[-5000:]
        first_run = latest_run_id()
        close_run(first_run)
        # The same asset through a named job: still one Marquez job, now with two runs.
        from orchestration.definitions import defs

        with dg.DagsterInstance.get() as instance:
            job = defs().resolve_job_def("ingest_raw_data")
            second = job.execute_in_process(partition_key=day, instance=instance)
            assert second.success
        close_run(second.run_id)
        stored = [json.loads(e.body) for e in Outbox(outbox).pending(limit=100_000)]
        delivered = deliver(outbox, marquez.url)
        yield {
            "root": root,
            "url": marquez.url,
            "day": day,
            "runs": (first_run, second.run_id),
            "delivered": delivered,
            "events": stored,
            "settings": settings.from_env(),
        }


def test_every_asset_and_model_is_one_job(lineage_run):
    url = lineage_run["url"]
    jobs = {j["name"]: j for j in get(url, f"/namespaces/{NS}/jobs", limit=1000)["jobs"]}
    expected = {
        "dagster",
        "dagster.asset.raw_bioreactor_data",
        "dagster.asset.postgres.dim_batch",
        "dagster.asset.postgres.fact_bioreactor_batch_stats",
        naming.dbt_wrapper_job_name(PROJECT),
    }
    assert expected <= set(jobs), sorted(jobs)
    for model, schema in DBT_MODELS.items():
        name = naming.dbt_node_job_name(PROJECT, f"lakehouse.{schema}.{PROJECT}.{model}.build.run")
        assert name in jobs, f"{name} missing from {sorted(jobs)}"
    mart = naming.dbt_node_job_name(PROJECT, f"lakehouse.marts.{PROJECT}.mart_bioreactor_overview.build.run")
    assert mart in jobs
    # No per-Dagster-job copies, no placeholder parents: every job is filed under `dagster`.
    assert all(name == "dagster" or name.startswith("dagster.") for name in jobs), sorted(jobs)
    assert jobs["dagster.asset.raw_bioreactor_data"]["parentJobName"] == "dagster"


def test_an_asset_run_by_two_dagster_jobs_stays_one_job(lineage_run):
    url = lineage_run["url"]
    runs = get(url, f"/namespaces/{NS}/jobs/dagster.asset.raw_bioreactor_data/runs", limit=100)["runs"]
    assert len(runs) == 2
    assert {r["state"] for r in runs} == {"COMPLETED"}
    dagster_runs = get(url, f"/namespaces/{NS}/jobs/dagster/runs", limit=100)["runs"]
    jobs_of_runs = {
        next(t["value"] for t in r["facets"]["tags"]["tags"] if t["key"] == "dagster.job") for r in dagster_runs
    }
    assert jobs_of_runs == {"__ASSET_JOB", "ingest_raw_data"}
    assert {r["state"] for r in dagster_runs} == {"COMPLETED"}
    assert {r["id"] for r in dagster_runs} == {DagsterRun(rid, "").lineage_run_id for rid in lineage_run["runs"]}


def test_graph_from_the_mart_reaches_the_raw_files(lineage_run):
    url = lineage_run["url"]
    mart = naming.dataset_for_asset("mart_bioreactor_overview")
    graph = get(url, "/lineage", nodeId=f"dataset:{mart.namespace}:{mart.name}", depth=30)["graph"]
    nodes = {n["id"]: n for n in graph}
    lake = naming.lake_dataset()
    target = f"dataset:{lake.namespace}:{lake.name}"
    assert target in nodes, sorted(nodes)
    # Walk upstream edges from the mart: the lake files must be reachable.
    start = f"dataset:{mart.namespace}:{mart.name}"
    seen, queue = {start}, deque([start])
    while queue:
        for edge in nodes[queue.popleft()]["inEdges"]:
            if edge["origin"] not in seen:
                seen.add(edge["origin"])
                queue.append(edge["origin"])
    assert target in seen
    for asset in ("raw_bioreactor_data", "stg_bioreactor", "dim_batch", ("postgres", "dim_batch")):
        ds = naming.dataset_for_asset(asset)
        assert f"dataset:{ds.namespace}:{ds.name}" in seen, asset


def test_dataset_fields_equal_the_real_columns(lineage_run, postgres):
    url = lineage_run["url"]
    mart = naming.dataset_for_asset("mart_bioreactor_overview")
    ns = requests.utils.quote(mart.namespace, safe="")
    dataset = get(url, f"/namespaces/{ns}/datasets/{requests.utils.quote(mart.name, safe='')}")
    with psycopg.connect(postgres.url) as pg:
        columns = pg.execute(
            "select column_name from information_schema.columns where table_schema = 'marts'"
            " and table_name = 'mart_bioreactor_overview' order by ordinal_position"
        ).fetchall()
    assert [f["name"] for f in dataset["fields"]] == [c[0] for c in columns]
    copy = naming.dataset_for_asset(("postgres", "dim_batch"))
    published = get(url, f"/namespaces/{requests.utils.quote(copy.namespace, safe='')}/datasets/{copy.name}")
    assert published["fields"], "the publish step's schema facet is missing"
    assert published["columnLineage"], "the publish step's identity column lineage is missing"


def test_dbt_runs_nest_under_the_dagster_run(lineage_run):
    url = lineage_run["url"]
    wrapper = naming.dbt_wrapper_job_name(PROJECT)
    wrapper_runs = get(url, f"/namespaces/{NS}/jobs/{wrapper}/runs", limit=100)["runs"]
    assert wrapper_runs
    first = DagsterRun(lineage_run["runs"][0], "").lineage_run_id
    for run in wrapper_runs:
        assert run["facets"]["parent"]["run"]["runId"] == first
        assert run["facets"]["parent"]["job"]["name"] == "dagster"
    model = naming.dbt_node_job_name(PROJECT, f"lakehouse.staging.{PROJECT}.stg_bioreactor.build.run")
    runs = get(url, f"/namespaces/{NS}/jobs/{model}/runs", limit=100)["runs"]
    assert runs and runs[0]["facets"]["parent"]["job"]["name"] == wrapper
    assert runs[0]["state"] == "COMPLETED"


def test_nominal_time_is_the_partition_window(lineage_run):
    url = lineage_run["url"]
    day = lineage_run["day"]
    runs = get(url, f"/namespaces/{NS}/jobs/dagster.asset.raw_bioreactor_data/runs", limit=100)["runs"]
    for run in runs:
        nominal = run["facets"]["nominalTime"]
        assert nominal["nominalStartTime"].startswith(day)
        assert run["args"]["nominal_start_time"].startswith(day)


def test_asset_checks_become_quality_assertions(lineage_run):
    url = lineage_run["url"]
    raw = naming.dataset_for_asset("raw_bioreactor_data")
    dataset = get(url, f"/namespaces/{requests.utils.quote(raw.namespace, safe='')}/datasets/{raw.name}")
    latest = {a["assertion"]: a["success"] for a in dataset["facets"]["dataQualityAssertions"]["assertions"]}
    # The second run found no bad file (the first had quarantined it): both checks passed.
    assert latest == {"raw_files_valid": True, "row_accounting": True}
    versions = get(url, f"/namespaces/{requests.utils.quote(raw.namespace, safe='')}/datasets/{raw.name}/versions")
    seen = [
        {a["assertion"]: a["success"] for a in v["facets"]["dataQualityAssertions"]["assertions"]}
        for v in versions["versions"]
        if "dataQualityAssertions" in v["facets"]
    ]
    # The first run quarantined the truncated upload: its check failed, the rows still added up.
    assert {"raw_files_valid": False, "row_accounting": True} in seen


def test_a_rerun_adds_runs_and_versions_never_datasets(lineage_run):
    url = lineage_run["url"]
    raw = naming.dataset_for_asset("raw_bioreactor_data")
    ns = requests.utils.quote(raw.namespace, safe="")
    names = [d["name"] for d in get(url, f"/namespaces/{ns}/datasets", limit=1000)["datasets"]]
    assert len(names) == len(set(names))
    expected = {naming.dataset_for_asset(a).name for a in ("raw_bioreactor_data", "stg_bioreactor", "dim_batch")}
    assert expected <= set(names)
    versions = get(url, f"/namespaces/{ns}/datasets/{raw.name}/versions", limit=100)["versions"]
    writers = {v["createdByRun"]["id"] for v in versions if v["createdByRun"]}
    assert len(writers) == 2  # the raw asset ran twice for the same day: two runs wrote versions
    namespaces = {n["name"] for n in get(url, "/namespaces")["namespaces"]}
    assert {NS, "file", raw.namespace, naming.dataset_for_asset("mart_bioreactor_overview").namespace} <= namespaces


def test_a_failing_model_fails_in_marquez(settings, postgres, tmp_path_factory, marquez_factory):
    """dbt staging against a DuckDB file without the raw view: the model fails, dbt-ol reports
    the FAIL with its error, and the Dagster run is closed as FAILED."""
    root = tmp_path_factory.mktemp("lineage-fail")
    marquez = marquez_factory.start()
    with own_lake(root) as outbox:  # a DuckDB file of its own: empty, so no raw view
        result = dagster_materialize("stg_bioreactor", "2025-04-02")
        assert result.returncode != 0
        run_id = latest_run_id()
        with dg.DagsterInstance.get() as instance:
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
        # The FAIL came from the instance's storage when Dagster stored the run's end.
        deliver(outbox, marquez.url)
        _, report = _diff_json(marquez.url)
    model = naming.dbt_node_job_name(PROJECT, f"lakehouse.staging.{PROJECT}.stg_bioreactor.build.run")
    # lineage diff: on the failed model's asset, exactly one drift: its job's latest run FAILED.
    on_stg = [(d["kind"], d["subject"], d["message"]) for d in report["drifts"] if d["asset"] == "stg_bioreactor"]
    assert [(kind, subject) for kind, subject, _ in on_stg] == [("status_mismatch", f"job:{NS}:{model}")], on_stg
    assert "is FAILED" in on_stg[0][2]
    runs = get(marquez.url, f"/namespaces/{NS}/jobs/{model}/runs", limit=10)["runs"]
    assert runs and runs[0]["state"] == "FAILED"
    # dbt-ol reads dbt's artifacts after the run: it marks the node FAILED but carries no error
    # text (only its --consume-structured-logs mode does); the Dagster run carries Dagster's.
    dagster_runs = get(marquez.url, f"/namespaces/{NS}/jobs/dagster/runs", limit=10)["runs"]
    assert [r["state"] for r in dagster_runs] == ["FAILED"]
    # ... with the failed step's own error: dbt's message about the missing relation.
    message = dagster_runs[0]["facets"]["errorMessage"]["message"]
    assert "dbt_staging_models" in message and "bioreactor_readings" in message, message


def test_stored_events_validate_against_the_spec(lineage_run):
    check = validator()
    assert len(lineage_run["events"]) == lineage_run["delivered"] > 20
    for event in lineage_run["events"]:
        check(event)


def test_the_seed_reaches_marquez_through_the_bridge(lineage_run):
    """dbt-ol names no seed parents; lineage/dbt_seeds.py adds them: tag_specs is a dataset,
    read by the models that ref it."""
    url = lineage_run["url"]
    seed = naming.dataset_for_asset("tag_specs")
    graph = get(url, "/lineage", nodeId=f"dataset:{seed.namespace}:{seed.name}", depth=1)["graph"]
    node = next(n for n in graph if n["id"] == f"dataset:{seed.namespace}:{seed.name}")
    readers = {e["destination"] for e in node["outEdges"]}
    stg = naming.dbt_node_job_name(PROJECT, f"lakehouse.staging.{PROJECT}.stg_bioreactor.build.run")
    assert f"job:{NS}:{stg}" in readers, readers


def _diff_json(url: str, *args: str):
    from typer.testing import CliRunner

    from lineage.cli import app

    result = CliRunner().invoke(app, ["diff", "--url", url, "--format", "json", *args])
    assert result.stdout.startswith("{"), result.output
    return result, json.loads(result.stdout)


def test_lineage_diff_after_a_full_run_is_clean(lineage_run):
    """`lineage diff` on the project's own code location (the production naming path) against
    what this run delivered, with this run's Dagster instance (stale lineage) and its real DuckDB
    and Postgres tables (columns): no drift at any level."""
    with own_lake(lineage_run["root"]):
        result, report = _diff_json(lineage_run["url"], "--fail-on", "info")
    assert report["drifts"] == [], json.dumps(report["drifts"], indent=2)
    summary = report["summary"]
    assert summary["assets"] == 10
    assert summary["stale_lineage_checked"] is True
    assert summary["tables_checked"] == 10, summary["notes"]  # every asset's table was compared
    assert result.exit_code == 0


def test_the_dagster_check_runs_the_same_diff(lineage_run):
    """The `lineage_diff` job evaluates marquez_lineage/no_drift: passed, with the drift table."""
    from orchestration.definitions import defs

    with own_lake(lineage_run["root"]), pytest.MonkeyPatch.context() as env:
        env.setenv("MARQUEZ_URL", lineage_run["url"])
        with dg.DagsterInstance.get() as instance:
            result = defs().resolve_job_def("lineage_diff").execute_in_process(instance=instance)
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.asset_key == dg.AssetKey("marquez_lineage") and evaluation.check_name == "no_drift"
    assert evaluation.passed, evaluation.metadata["drift"]
    assert evaluation.metadata["drifts"].value == 0 and evaluation.metadata["assets"].value == 10


def test_a_materialization_whose_events_are_lost_is_stale_lineage(lineage_run):
    """Runs last in this module (it adds a Dagster run): the raw asset materialized again with
    lineage off, as if its events were lost. The diff names exactly that asset's job."""
    from orchestration.definitions import defs

    with own_lake(lineage_run["root"]), pytest.MonkeyPatch.context() as env:
        env.setenv("LAKEHOUSE_LINEAGE", "off")
        with dg.DagsterInstance.get() as instance:
            rerun = (
                defs()
                .resolve_job_def("ingest_raw_data")
                .execute_in_process(partition_key=lineage_run["day"], instance=instance)
            )
        assert rerun.success
        result, report = _diff_json(lineage_run["url"])
    assert [(d["kind"], d["subject"]) for d in report["drifts"]] == [
        ("stale_lineage", f"job:{NS}:{naming.asset_job_name('raw_bioreactor_data')}")
    ]
    assert rerun.run_id in report["drifts"][0]["message"]
    assert result.exit_code == 1

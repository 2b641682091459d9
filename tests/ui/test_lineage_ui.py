"""The lineage UI in a real browser against a demo-sized run: two daily partitions of the whole
pipeline materialized as users run it, their events delivered to the fixture's Marquez, the UI
served by `python -m lineage_ui serve` pointed at that Marquez (what issue 13 asks to prove)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
import requests
from playwright.sync_api import expect

from lineage import naming
from tests.integration.test_lineage_e2e import close_run, deliver, latest_run_id, own_lake
from tests.integration.test_pipeline_e2e import dagster_materialize
from tests.ui.conftest import ui_server

pytestmark = pytest.mark.integration


def node_id(ds) -> str:
    return f"dataset:{ds.namespace}:{ds.name}"


def api(url: str, path: str, **params) -> dict:
    response = requests.get(f"{url}/api/v1{path}", params=params, timeout=60)
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:300]}"
    return response.json()


@pytest.fixture(scope="module")
def run(settings, postgres, tmp_path_factory, marquez_factory):
    """Two days of one reactor, materialized one partition per run (day 1, then day 2), delivered
    to an empty Marquez; the UI server on top. The test's lake stays configured while tests run, so
    `naming` names the same datasets the pipeline did."""
    from orchestration.datagen import generate_bioreactor_data

    root = tmp_path_factory.mktemp("lineage-ui")
    marquez = marquez_factory.start()
    # The run-end flush of the lineage sensors delivers to the test's Marquez too, never to another one.
    with own_lake(root) as outbox, pytest.MonkeyPatch.context() as env:
        env.setenv("MARQUEZ_URL", marquez.url)
        summary = generate_bioreactor_data(
            root / "raw", seed=11, sites=1, reactors_per_site=1, batches_per_reactor=1,
            sample_interval_s=900, start_date="2025-04-01",
        )  # fmt: skip
        days = sorted(d.isoformat() for d in summary.dates)[:2]
        assert len(days) == 2, days
        runs = []
        for day in days:
            result = dagster_materialize("*", day)
            assert result.returncode == 0, result.stderr[-5000:]
            runs.append(latest_run_id())
            close_run(runs[-1])
        deliver(outbox, marquez.url)
        report = root / "diff" / "last.json"
        with ui_server(root / "logs", MARQUEZ_URL=marquez.url, LINEAGE_DIFF_REPORT=str(report)) as ui:
            yield {"ui": ui, "marquez": marquez.url, "days": days, "report": report, "root": root}


def test_home_lists_the_lakehouse_namespace_with_counts(run, page):
    page.goto(run["ui"] + "/")
    table = page.get_by_test_id("namespaces")
    row = table.locator("tr", has=page.get_by_role("link", name="lakehouse", exact=True))
    expect(row).to_be_visible()
    jobs = api(run["marquez"], "/namespaces/lakehouse/jobs", limit=1)["totalCount"]
    expect(row.locator("td").nth(2)).to_have_text(str(jobs))
    # Recent runs: one row per job with a run, each linking to its run page.
    expect(page.get_by_test_id("recent-runs").locator("tbody tr")).to_have_count(jobs)


def test_search_the_mart_and_its_graph_reaches_the_raw_files(run, page):
    page.goto(run["ui"] + "/")
    expect(page.get_by_test_id("namespaces")).to_be_visible()
    page.keyboard.press("/")  # focuses the search box
    page.keyboard.type("mart_bioreactor_overview")
    option = page.get_by_role("option").filter(has_text="lakehouse.marts.mart_bioreactor_overview").first
    expect(option).to_be_visible()
    # Keyboard only: move to the dataset result and open it.
    options = page.get_by_role("option")
    texts = options.all_inner_texts()
    index = next(i for i, t in enumerate(texts) if t.lower().startswith("dataset") and "mart_bioreactor_overview" in t)
    for _ in range(index):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("dataset-name")).to_have_text("lakehouse.marts.mart_bioreactor_overview")
    page.get_by_role("link", name="Lineage graph").click()
    expect(page.locator(".graph-canvas[data-ready=true]")).to_be_visible()
    mart = node_id(naming.dataset_for_asset("mart_bioreactor_overview"))
    raw_files = node_id(naming.lake_dataset())
    expect(page.locator(f'[data-node-id="{raw_files}"]')).to_be_visible()
    # One click on the mart highlights its whole upstream path, back to the raw files.
    page.locator(f'[data-node-id="{mart}"]').click()
    expect(page.locator(f'[data-node-id="{raw_files}"]')).to_have_class(re.compile(r"\bmark-upstream\b"))
    stg = node_id(naming.dataset_for_asset("stg_bioreactor"))
    expect(page.locator(f'[data-node-id="{stg}"]')).to_have_class(re.compile(r"\bmark-upstream\b"))
    expect(page.get_by_test_id("side-panel")).to_contain_text("upstream")
    assert "sel=" in page.url  # the selection is in the URL: shareable


def test_dataset_page_shows_the_real_columns(run, page, postgres):
    mart = naming.dataset_for_asset("mart_bioreactor_overview")
    page.goto(f"{run['ui']}/dataset?ns={quote(mart.namespace, safe='')}&name={quote(mart.name, safe='')}")
    with psycopg.connect(postgres.url) as pg:
        columns = [
            r[0]
            for r in pg.execute(
                "select column_name from information_schema.columns where table_schema = 'marts'"
                " and table_name = 'mart_bioreactor_overview' order by ordinal_position"
            ).fetchall()
        ]
    cells = page.get_by_test_id("fields").locator("td.field-name")
    expect(cells).to_have_text(columns)
    expect(page.get_by_test_id("versions").locator("tbody tr").first).to_be_visible()


def test_job_page_shows_its_runs(run, page):
    job = "dagster.asset.raw_bioreactor_data"
    page.goto(f"{run['ui']}/job?ns=lakehouse&name={quote(job, safe='')}")
    expect(page.get_by_test_id("job-name")).to_have_text(job)
    runs = api(run["marquez"], f"/namespaces/lakehouse/jobs/{job}/runs", limit=100)["runs"]
    assert len(runs) == 2
    rows = page.get_by_test_id("runs").locator("tbody tr")
    expect(rows).to_have_count(2)
    for r in runs:
        expect(page.get_by_test_id("runs")).to_contain_text(r["id"][-8:])
    for day in run["days"]:
        expect(page.get_by_test_id("runs")).to_contain_text(day)
    # A run page: partition, and the child runs of the Dagster run (the asset's run under it).
    page.get_by_role("link", name=runs[-1]["id"][-8:]).click()
    expect(page.get_by_test_id("run-id")).to_have_text(runs[-1]["id"])
    parent = runs[-1]["facets"]["parent"]["run"]["runId"]
    page.get_by_role("link", name=parent[-8:]).click()
    expect(page.get_by_test_id("run-id")).to_have_text(parent)
    expect(page.get_by_test_id("child-runs")).to_contain_text(runs[-1]["id"][-8:])


def test_lineage_as_of_an_older_partition_shows_its_versions(run, page):
    first_day, second_day = run["days"]
    mart = naming.dataset_for_asset("mart_bioreactor_overview")
    # The mart's dbt run for each partition, and the mart version each one wrote.
    job = naming.dbt_node_job_name("bioreactor", "lakehouse.marts.bioreactor.mart_bioreactor_overview.build.run")
    runs = api(run["marquez"], f"/namespaces/lakehouse/jobs/{job}/runs", limit=100)["runs"]
    assert len(runs) == 2
    by_day = {}
    for r in runs:
        parent = api(run["marquez"], f"/jobs/runs/{r['facets']['parent']['run']['runId']}")
        dagster_run = api(run["marquez"], f"/jobs/runs/{parent['facets']['parent']['run']['runId']}")
        day = dagster_run["facets"]["nominalTime"]["nominalStartTime"][:10]
        (out,) = [o for o in r["outputDatasetVersions"] if o["datasetVersionId"]["name"] == mart.name]
        by_day[day] = (r, out["datasetVersionId"]["version"])
    assert set(by_day) == {first_day, second_day}
    old_run, old_version = by_day[first_day]
    assert old_version != by_day[second_day][1]

    page.goto(f"{run['ui']}/lineage?node={quote(f'job:lakehouse:{job}', safe='')}")
    expect(page.locator(".graph-canvas[data-ready=true]")).to_be_visible()
    picker = page.get_by_label("as of run")
    expect(picker.locator("option")).to_have_count(3)  # now + the two runs
    picker.select_option(old_run["id"])
    expect(page.get_by_test_id("asof-banner")).to_contain_text(old_run["id"][-8:])
    expect(page.locator(".graph-canvas[data-ready=true]")).to_be_visible()
    mart_node = page.locator(f'[data-node-id="{node_id(mart)}"]')
    expect(mart_node).to_have_attribute("data-version", old_version)
    # Upstream too: the stg version this partition's run chain read, back to the raw files.
    stg = naming.dataset_for_asset("stg_bioreactor")
    assert old_run["inputDatasetVersions"]
    for read in old_run["inputDatasetVersions"]:
        v = read["datasetVersionId"]
        node = page.locator(f'[data-node-id="dataset:{v["namespace"]}:{v["name"]}"]')
        expect(node).to_have_attribute("data-version", v["version"])
    expect(page.locator(f'[data-node-id="{node_id(stg)}"]')).to_be_visible()
    expect(page.locator(f'[data-node-id="{node_id(naming.lake_dataset())}"]')).to_be_visible()
    assert "run=" in page.url


def test_an_injected_orphan_appears_in_the_drift_overlay(run, page):
    page.goto(run["ui"] + "/drift")
    if not run["report"].exists():
        expect(page.get_by_text("No drift report yet")).to_be_visible()
    # A table no asset owns, written in the pipeline's own DuckDB namespace by an ad-hoc job.
    stg = naming.dataset_for_asset("stg_bioreactor")
    orphan = f"{stg.name.rsplit('.', 1)[0]}.scratch_copy_{uuid.uuid4().hex[:6]}"
    event = {
        "eventType": "COMPLETE",
        "eventTime": dt.datetime.now(dt.UTC).isoformat(),
        "producer": "https://example.com/a-notebook",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "adhoc", "name": "notebook.scratch_copy"},
        "inputs": [{"namespace": stg.namespace, "name": stg.name}],
        "outputs": [{"namespace": stg.namespace, "name": orphan}],
    }
    response = requests.post(f"{run['marquez']}/api/v1/lineage", json=event, timeout=30)
    assert response.status_code in (200, 201), response.text
    diff = subprocess.run(
        [str(Path(sys.executable).parent / "lineage"), "diff", "--url", run["marquez"], "--format", "json"],
        env={**os.environ, "LINEAGE_DIFF_REPORT": str(run["report"])},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert diff.returncode in (0, 1), diff.stderr[-3000:]
    report = json.loads(run["report"].read_text())
    orphan_id = f"dataset:{stg.namespace}:{orphan}"
    assert any(d["kind"] == "orphan_dataset" and d["subject"] == orphan_id for d in report["drifts"]), report["drifts"]

    page.goto(run["ui"] + "/drift")
    row = page.get_by_test_id("drift-list").locator("tr", has_text=orphan)
    expect(row).to_contain_text("orphan dataset")
    expect(row.locator(".fix")).not_to_be_empty()
    row.get_by_role("link", name=orphan).click()
    expect(page.locator(".graph-canvas[data-ready=true]")).to_be_visible()
    node = page.locator(f'[data-node-id="{orphan_id}"]')
    expect(node).to_have_attribute("data-drift", "orphan_dataset")
    expect(node).to_contain_text("orphan dataset")
    expect(page.get_by_test_id("drift-legend")).to_contain_text("orphan dataset")
    node.click()
    expect(page.get_by_test_id("side-panel")).to_contain_text("Fix:")


def test_marquez_unreachable_says_so_and_what_to_do(run, page):
    with socket_closed_port() as dead:
        with ui_server(run["root"] / "logs", MARQUEZ_URL=f"http://127.0.0.1:{dead}") as ui:
            page.goto(ui + "/")
            alert = page.get_by_role("alert").first
            expect(alert).to_contain_text("Marquez unreachable")
            expect(alert).to_contain_text("MARQUEZ_URL")


@contextmanager
def socket_closed_port():
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


def test_graph_depth_expand_and_back_button(run, page):
    stg = node_id(naming.dataset_for_asset("stg_bioreactor"))
    # At depth 1 the DuckDB dim_batch is drawn, but not the publish step that copies it to Postgres.
    # It is selected through the URL (a shared link keeps the selection).
    dim_batch = node_id(naming.dataset_for_asset("dim_batch"))
    publish = "job:lakehouse:dagster.asset.postgres.dim_batch"
    page.goto(f"{run['ui']}/lineage?node={quote(stg, safe='')}&depth=1&sel={quote(dim_batch, safe='')}")
    expect(page.locator(".graph-canvas[data-ready=true]")).to_be_visible()
    before = page.locator(".lnode").count()
    expect(page.locator(f'[data-node-id="{dim_batch}"]')).to_have_count(1)
    expect(page.locator(f'[data-node-id="{publish}"]')).to_have_count(0)
    page.get_by_role("button", name="Expand: show its neighbours").click()
    expect(page.locator(".graph-canvas[data-ready=true]")).to_be_visible()
    expect(page.locator(f'[data-node-id="{publish}"]')).to_have_count(1)
    assert page.locator(".lnode").count() > before and "expand=" in page.url
    page.get_by_label("depth").select_option("20")
    expect(page.locator(f'[data-node-id="{node_id(naming.lake_dataset())}"]')).to_be_visible()
    page.go_back()  # the depth change is a history entry: back to depth 1 with the node expanded
    expect(page.get_by_label("depth")).to_have_value("1")
    assert "expand=" in page.url


def test_dataset_page_rows_per_partition_and_schema_difference(run, page):
    raw = naming.dataset_for_asset("raw_bioreactor_data")
    page.goto(f"{run['ui']}/dataset?ns={quote(raw.namespace, safe='')}&name={quote(raw.name, safe='')}")
    versions = api(
        run["marquez"],
        f"/namespaces/{quote(raw.namespace, safe='')}/datasets/{quote(raw.name, safe='')}/versions",
        limit=100,
    )["versions"]
    written = [v for v in versions if v["createdByRun"]]
    expect(page.get_by_test_id("versions").locator("tbody tr")).to_have_count(len(versions))
    # One bar per partition, with the row count the producing run reported.
    bars = page.locator("svg.rowchart rect")
    expect(bars).to_have_count(len(run["days"]))
    counts = {}
    for v in written:
        # A run's outputs carry other version ids than the versions list (as in real Marquez): match by
        # name; its START and COMPLETE may each have recorded one, the COMPLETE's has the statistics.
        (out,) = [
            o
            for o in v["createdByRun"]["outputDatasetVersions"]
            if o["datasetVersionId"]["name"] == raw.name and "outputStatistics" in o["facets"]
        ]
        counts[v["createdByRun"]["facets"]["nominalTime"]["nominalStartTime"][:10]] = out["facets"]["outputStatistics"][
            "rowCount"
        ]
    for day, rows in counts.items():
        expect(page.locator("svg.rowchart title", has_text=f"{day}: {rows:,} rows")).to_have_count(1)
    expect(page.get_by_test_id("schema-diff")).to_contain_text("Same columns and types")


def test_a_failed_run_shows_its_error_and_stack_trace(run, page):
    """A FAIL event with the errorMessage facet, as the pipeline sends for a failed step."""
    run_id = str(uuid.uuid4())
    now = dt.datetime.now(dt.UTC)
    common = {
        "producer": "https://example.com/tests/ui",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "job": {"namespace": "ui-tests", "name": "ui_test.failing_step"},
        "inputs": [],
        "outputs": [],
    }
    error = {
        "_producer": "https://example.com/tests/ui",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet",
        "message": "Division by zero in model stg_bioreactor",
        "programmingLanguage": "python",
        "stackTrace": 'Traceback (most recent call last):\n  File "step.py", line 3\nZeroDivisionError: division by zero',
    }
    for event_type, time, facets in (
        ("START", now - dt.timedelta(seconds=5), {}),
        ("FAIL", now, {"errorMessage": error}),
    ):
        event = {
            **common,
            "eventType": event_type,
            "eventTime": time.isoformat(),
            "run": {"runId": run_id, "facets": facets},
        }
        response = requests.post(f"{run['marquez']}/api/v1/lineage", json=event, timeout=30)
        assert response.status_code in (200, 201), response.text
    page.goto(run["ui"] + "/")
    # Failures first among the recent runs.
    first = page.get_by_test_id("recent-runs").locator("tbody tr").first
    expect(first).to_contain_text("FAILED")
    expect(first).to_contain_text("ui_test.failing_step")
    first.get_by_role("link", name="FAILED").click()
    expect(page.get_by_test_id("run-id")).to_have_text(run_id)
    expect(page.get_by_test_id("run-error")).to_contain_text("Division by zero in model stg_bioreactor")
    expect(page.get_by_test_id("run-error")).to_contain_text("ZeroDivisionError: division by zero")


def test_column_mode_shows_a_columns_upstream_columns(run, page):
    """The publish step's identity column lineage: the Postgres copy's batch_id comes from DuckDB's."""
    copy = naming.dataset_for_asset(("postgres", "dim_batch"))
    source = naming.dataset_for_asset("dim_batch")
    page.goto(f"{run['ui']}/dataset?ns={quote(copy.namespace, safe='')}&name={quote(copy.name, safe='')}")
    row = page.get_by_test_id("fields").locator(
        "tr", has=page.locator("td.field-name", has_text=re.compile(r"^batch_id$"))
    )
    row.get_by_role("link", name="column lineage").click()
    expect(page.locator(".graph-canvas[data-ready=true]")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Column lineage")
    expect(page.locator(f'[data-node-id="datasetField:{copy.namespace}:{copy.name}:batch_id"]')).to_have_count(1)
    expect(page.locator(f'[data-node-id="datasetField:{source.namespace}:{source.name}:batch_id"]')).to_have_count(1)

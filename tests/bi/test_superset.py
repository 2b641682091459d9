"""Superset on the mart, end to end: a day of data through the real pipeline, Superset 6.1 installed
in its own venv (reused when present: <repo>/.venv-superset), started as `make bi` starts it,
its dashboard provisioned through the REST API; then the dashboard in Chromium shows the mart's
numbers, and Marquez's graph runs from the raw files to the dashboard.

The first run installs Superset (a minute or two with PyPI; uv's cache makes later ones fast).
"""

from __future__ import annotations

import secrets
import socket
import time
from collections import defaultdict
from urllib.parse import quote

import psycopg
import pytest

from bi import dashboard
from lineage import naming
from tests.integration.test_lineage_e2e import deliver, get, own_lake
from tests.integration.test_pipeline_e2e import dagster_materialize

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def superset_stack(settings, postgres, tmp_path_factory, marquez_factory):
    """The pipeline over two batches, Superset up and provisioned, its lineage delivered to an
    empty Marquez. Yields what the tests need; stops Superset afterwards."""
    from lakehouse_core.settings import get_settings
    from orchestration.datagen import generate_bioreactor_data
    from orchestration.services import superset

    root = tmp_path_factory.mktemp("superset")
    marquez = marquez_factory.start()
    with own_lake(root) as outbox, pytest.MonkeyPatch.context() as env:
        env.setenv("LAKEHOUSE_BI_PASSWORD", secrets.token_urlsafe(16))
        env.setenv("LAKEHOUSE_SUPERSET_ADMIN_PASSWORD", secrets.token_urlsafe(16))
        env.setenv("LAKEHOUSE_SUPERSET_PORT", str(_free_port()))
        summary = generate_bioreactor_data(
            root / "raw", seed=11, sites=1, reactors_per_site=1, batches_per_reactor=2,
            sample_interval_s=900, start_date="2025-05-01",
        )  # fmt: skip
        days = sorted(d.isoformat() for d in summary.dates)
        result = dagster_materialize("*", f"{days[0]}...{days[-1]}")
        assert result.returncode == 0, result.stderr[-5000:]
        current = get_settings()
        try:
            up = superset.up(current, say=print)
            assert up.provisioned is not None, "the mart exists, so the dashboard must be provisioned"
            again = superset.up(current, say=print)  # `make bi` twice: same objects, a second lineage run
            delivered = deliver(outbox, marquez.url)
            yield {
                "settings": current,
                "up": up,
                "again": again,
                "marquez": marquez.url,
                "delivered": delivered,
                "url": f"http://127.0.0.1:{current.superset_port_number}",
            }
        finally:
            superset.stop(current)


def _mart_rows(settings) -> list[dict]:
    with psycopg.connect(settings.pg.url) as pg:
        cursor = pg.execute(
            f"select {', '.join(dashboard.TABLE_COLUMNS)} from marts.mart_bioreactor_overview order by batch_id, tag"
        )
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _shown(row: dict) -> list[str]:
    """A mart row as the table chart shows it (the formats of bi/dashboard.py)."""
    cells = []
    for column in dashboard.TABLE_COLUMNS:
        value = row[column]
        if column in dashboard.STAT_COLUMNS:
            cells.append(f"{value:.3f}")
        elif column == "time_in_spec_share":
            cells.append(f"{value * 100:.1f}%")
        else:
            cells.append(str(value))
    return cells


def test_provisioning_is_idempotent(superset_stack):
    first, second = superset_stack["up"], superset_stack["again"]
    assert not second.started and second.pid == first.pid
    assert second.provisioned.chart_ids == first.provisioned.chart_ids
    assert (second.provisioned.dataset_id, second.provisioned.dashboard_id) == (
        first.provisioned.dataset_id,
        first.provisioned.dashboard_id,
    )
    assert first.provisioned.lineage_emitted and second.provisioned.lineage_emitted


def test_the_dashboard_shows_the_marts_numbers(superset_stack, page):
    from playwright.sync_api import expect

    settings, url = superset_stack["settings"], superset_stack["url"]
    rows = _mart_rows(settings)
    assert len(rows) == 2 * 8, rows  # two batches, eight tags
    page.goto(f"{url}/login/")
    page.locator("#username, input[name=username]").first.fill(settings.superset_admin)
    page.locator("#password, input[name=password]").first.fill(settings.superset_admin_password)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: "/login" not in u)
    answers = []  # the answers to the dashboard's charts' queries, as the page received them
    page.on("response", lambda r: answers.append(r) if "/api/v1/chart/data" in r.url else None)
    page.goto(f"{url}/superset/dashboard/{dashboard.DASHBOARD_SLUG}/")
    expect(page.get_by_text(dashboard.DASHBOARD_TITLE).first).to_be_visible()

    # The table: every batch and tag, with the mart's mean / sd / min / max, time in spec, excursions.
    table = page.locator(".dashboard-component-chart-holder", has_text=dashboard.STATS_TABLE.name)
    body_rows = table.locator("table tbody tr")
    expect(body_rows).to_have_count(len(rows))
    shown = [[cell.strip() for cell in tr.locator("td").all_inner_texts()] for tr in body_rows.all()]
    assert shown == [_shown(row) for row in rows]

    # The chart over time: one series per tag, drawn by ECharts.
    chart = page.locator(".dashboard-component-chart-holder", has_text=dashboard.TIME_IN_SPEC.name)
    expect(chart.locator("canvas, svg").first).to_be_visible()
    # Its legend and lines are drawn on the canvas: what it drew is the query's answer, one column
    # per tag (the series), one row per batch start, each value the batch's time in spec.
    tags = sorted({row["tag"] for row in rows})
    deadline = time.monotonic() + 60
    while len(answers) < len(dashboard.CHARTS) and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert all(a.ok for a in answers), [(a.url, a.status) for a in answers]
    results = [q for a in answers for q in a.json()["result"]]
    series = [q for q in results if set(tags) <= set(q["colnames"])]
    assert series, [q["colnames"] for q in results]
    x_axis = next(c for c in series[0]["colnames"] if c not in tags)
    drawn = {(point[x_axis], tag): point[tag] for point in series[0]["data"] for tag in tags}
    assert len(drawn) == len(rows)
    expected = sorted(row["time_in_spec_share"] for row in rows)
    assert sorted(drawn.values()) == pytest.approx(expected)
    page.screenshot(path=str(settings.data_dir / "superset-dashboard.png"), full_page=True)


def test_marquez_graph_runs_from_the_raw_files_to_the_dashboard(superset_stack):
    settings, url = superset_stack["settings"], superset_stack["marquez"]
    namespace = naming.superset_namespace(port=settings.superset_port_number)
    lake = naming.lake_dataset()
    mart = naming.dataset_for_asset(dashboard.MART_ASSET)
    board = naming.superset_dashboard(dashboard.DASHBOARD_SLUG, namespace)
    superset_dataset = naming.superset_dataset(f"{dashboard.SCHEMA}.{dashboard.TABLE}", namespace)
    job_ns, job_name = naming.superset_job(namespace)

    graph = get(url, "/lineage", nodeId=f"dataset:{lake.namespace}:{lake.name}", depth=100)["graph"]
    out = defaultdict(set)
    for node in graph:
        for edge in node["outEdges"]:
            out[edge["origin"]].add(edge["destination"])
    # Downstream only: follow the edges forward from the lake directory.
    seen, frontier = set(), [f"dataset:{lake.namespace}:{lake.name}"]
    while frontier:
        node = frontier.pop()
        if node not in seen:
            seen.add(node)
            frontier.extend(out[node])
    for wanted in (mart, superset_dataset, board):
        assert f"dataset:{wanted.namespace}:{wanted.name}" in seen, (
            f"{wanted} not downstream of the lake: {sorted(seen)}"
        )
    job_node = f"job:{job_ns}:{job_name}"
    assert out[f"dataset:{mart.namespace}:{mart.name}"] >= {job_node}
    assert out[job_node] == {f"dataset:{superset_dataset.namespace}:{superset_dataset.name}",
                             f"dataset:{board.namespace}:{board.name}"}  # fmt: skip

    # Each provisioning is a run of the job (two: `make bi` twice), and the dataset carries its columns.
    runs = get(url, f"/namespaces/{quote(job_ns, safe='')}/jobs/{quote(job_name, safe='')}/runs", limit=10)["runs"]
    assert [r["state"] for r in runs] == ["COMPLETED", "COMPLETED"]
    path = f"/namespaces/{quote(superset_dataset.namespace, safe='')}/datasets/{quote(superset_dataset.name, safe='')}"
    fields = get(url, path)["fields"]
    assert {f["name"] for f in fields} >= set(dashboard.TABLE_COLUMNS)

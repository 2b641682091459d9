"""The lineage UI in headless Chromium: a 1,000-node graph laid out and rendered, and the first page load.

Goals (issue 13): a graph of 1,000 nodes lays out and renders in at most 2 s; the first page loads
in at most 1 s on localhost.

Three measures, each the median of --repeats runs, every run in a fresh browser context (cold
cache, as a first visit):

1. graph, synthetic: /bench/graph?n=1000 draws a layered graph of 1,000 nodes (500 jobs and 500
   datasets in 10 parallel chains, each job also reading the dataset 10 chain steps back) with the
   same component as /lineage. The page records the layout time and the render time (layout done
   -> React Flow's nodes committed and the browser painted) in window.__lineageUi. Above 250 nodes
   the UI lays out with its own linear-time layered layout (ui/src/graph/layered.ts); the same
   graph through ELK (what the UI uses up to 250 nodes) is measured too, --elk-repeats times.
2. graph, from Marquez: /lineage?node=<last dataset>&depth=N against a built-in Marquez holding the
   layered load of bench/marquez_server.py (job j reads jobs j-1 and j-50). Navigation start ->
   graph painted: the /lineage call through the UI's proxy, the layout and the render.
3. first page load: "/" against the same Marquez, navigation start -> the namespaces table with its
   counts painted (app shell, JS bundle, then the /api/v1 calls through the proxy; the page marks
   the moment with performance.mark, read back here: Playwright's own polling of a loaded machine
   adds tens to hundreds of ms, reported too).
The floor, measured in the same run: navigation to /healthz (a plain-text answer of the same
server: what any page costs in this browser on this machine).

    make bench-ui                                  # about 2 minutes
    .venv/bin/python -m bench.ui_graph --repeats 3 --jobs 300
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests
import typer

from bench.marquez_server import DATASET_NAMESPACE, BuiltIn, dataset_name, encoded_load, ingest_batch
from bench.measure import machine

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
WORK = REPO / "data" / "bench" / "ui"
CHROMIUM = os.environ.get("LINEAGE_UI_CHROMIUM", "/usr/bin/chromium")
GOALS = {"graph_1000_layout_render_ms": 2000, "first_page_ms": 1000}


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_ui(marquez_url: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    WORK.mkdir(parents=True, exist_ok=True)
    log = open(WORK / "lineage-ui.log", "w")
    env = {**os.environ, "MARQUEZ_URL": marquez_url, "LINEAGE_UI_PORT": str(port),
           "LINEAGE_DIFF_REPORT": str(WORK / "no-report.json")}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "lineage_ui", "serve"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"the lineage UI did not start; see {log.name}")


def _since_navigation(page) -> float:
    return page.evaluate("performance.now()")


def measure(browser, url: str, ready_selector: str, timeout_ms: int = 60_000, mark: str | None = None) -> dict:
    """Open `url` in a fresh context; ms from navigation start until `ready_selector` shows."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit")
        page.wait_for_selector(ready_selector, timeout=timeout_ms)
        ready = _since_navigation(page)
        painted = None
        if mark:
            page.wait_for_function(f"() => performance.getEntriesByName({mark!r}).length > 0", timeout=timeout_ms)
            painted = page.evaluate(f"performance.getEntriesByName({mark!r})[0].startTime")
        timings = page.evaluate("window.__lineageUi ? window.__lineageUi.graphs : []")
        nodes = page.locator(".react-flow__node").count() if "graph" in ready_selector else None
        return {"ready_ms": ready, "painted_ms": painted, "graphs": timings, "rendered_nodes": nodes}
    finally:
        context.close()


def med(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def main(
    repeats: int = typer.Option(7, help="Runs per measure (median reported)."),
    elk_repeats: int = typer.Option(3, help="Runs of the 1,000-node graph through ELK, for comparison."),
    nodes: int = typer.Option(1000, help="Nodes of the synthetic graph."),
    jobs: int = typer.Option(700, help="Jobs in the Marquez load (job j reads j-1 and j-50)."),
    depth: int = typer.Option(20, help="Depth of the /lineage graph drawn from the last dataset."),
    pg_port: int = typer.Option(5434, help="Port of the benchmark's own embedded Postgres."),
) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing: apt-get install -y chromium")
    if not (REPO / "ui" / "dist" / "index.html").exists():
        sys.exit("the lineage UI is not built: run `make ui`")
    started = time.perf_counter()
    load_before = os.getloadavg()
    backend = BuiltIn(pg_port, {})
    target = backend.start("ui_graph")
    ui = None
    try:
        result = ingest_batch(target, encoded_load(jobs, target.namespace), 500)
        if result is None:
            raise RuntimeError("the built-in server has no batch endpoint")
        last = f"dataset:{DATASET_NAMESPACE}:{dataset_name(target.namespace.replace('-', '_'), jobs - 1)}"
        lineage_nodes = len(
            requests.get(f"{target.url}/api/v1/lineage", params={"nodeId": last, "depth": depth}, timeout=120).json()[
                "graph"
            ]
        )
        ui, ui_url = start_ui(target.url)
        from urllib.parse import quote

        samples: dict[str, list[dict]] = {"floor": [], "synthetic": [], "marquez": [], "first_page": [], "elk": []}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
            measure(browser, f"{ui_url}/", "[data-testid=namespaces]")  # warm the server's first answers
            for i in range(repeats):
                samples["floor"].append(measure(browser, f"{ui_url}/healthz", "body"))
                samples["first_page"].append(
                    measure(browser, f"{ui_url}/", "[data-testid=namespaces]", mark="lineage-ui:home")
                )
                samples["synthetic"].append(
                    measure(browser, f"{ui_url}/bench/graph?n={nodes}", ".graph-canvas[data-ready=true]")
                )
                samples["marquez"].append(
                    measure(
                        browser,
                        f"{ui_url}/lineage?node={quote(last, safe='')}&depth={depth}",
                        ".graph-canvas[data-ready=true]",
                        120_000,
                    )
                )
                print(
                    f"run {i + 1}: floor {samples['floor'][-1]['ready_ms']:.0f} ms, first page {samples['first_page'][-1]['painted_ms']:.0f} ms, "
                    f"synthetic {samples['synthetic'][-1]['graphs'][-1]}, marquez {samples['marquez'][-1]['ready_ms']:.0f} ms "
                    f"{samples['marquez'][-1]['graphs'][-1]}",
                    flush=True,
                )
            for i in range(elk_repeats):
                samples["elk"].append(
                    measure(
                        browser, f"{ui_url}/bench/graph?n={nodes}&layout=elk", ".graph-canvas[data-ready=true]", 180_000
                    )
                )
                print(f"elk run {i + 1}: {samples['elk'][-1]['graphs'][-1]}", flush=True)
            version = browser.version
            browser.close()
    finally:
        if ui is not None:
            ui.terminate()
            ui.wait(timeout=10)
        backend.close()

    def graph_stats(runs: list[dict]) -> dict:
        last_graph = [r["graphs"][-1] for r in runs]
        return {
            "nodes": last_graph[0]["nodes"],
            "edges": last_graph[0]["edges"],
            "layout_ms": med([g["layoutMs"] for g in last_graph]),
            "render_ms": med([g["renderMs"] for g in last_graph]),
            "layout_render_ms": med([g["layoutMs"] + g["renderMs"] for g in last_graph]),
            "navigation_to_graph_ms": med([r["ready_ms"] for r in runs]),
            "all_layout_render_ms": [round(g["layoutMs"] + g["renderMs"], 1) for g in last_graph],
        }

    report = {
        "benchmark": "ui_graph",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "browser": f"Chromium {version} (headless, /usr/bin/chromium)",
        "repeats": repeats,
        "floor_healthz_ms": med([r["ready_ms"] for r in samples["floor"]]),
        "first_page_ms": med([r["painted_ms"] for r in samples["first_page"]]),
        "first_page_observed_ms": med([r["ready_ms"] for r in samples["first_page"]]),
        "all_first_page_ms": [round(r["painted_ms"], 1) for r in samples["first_page"]],
        "synthetic": graph_stats(samples["synthetic"]),
        "marquez": {
            **graph_stats(samples["marquez"]),
            "jobs": jobs,
            "depth": depth,
            "lineage_api_nodes": lineage_nodes,
        },
        "synthetic_elk": graph_stats(samples["elk"]) if samples["elk"] else None,
        "goals": GOALS,
        "total_s": round(time.perf_counter() - started, 1),
        "load_average": {"before": [round(x, 2) for x in load_before], "after": [round(x, 2) for x in os.getloadavg()]},
    }
    report["first_page_ratio_to_floor"] = round(report["first_page_ms"] / max(report["floor_healthz_ms"], 0.1), 1)
    report["met"] = {
        "graph_1000_layout_render_ms": report["synthetic"]["layout_render_ms"] <= GOALS["graph_1000_layout_render_ms"],
        "first_page_ms": report["first_page_ms"] <= GOALS["first_page_ms"],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ui_graph.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "ui_graph.md").write_text("\n".join(render(report)) + "\n")
    print("\n".join(render(report)))


def render(r: dict) -> list[str]:
    m, s, q = r["machine"], r["synthetic"], r["marquez"]
    yes = lambda ok: "yes" if ok else "NO"  # noqa: E731
    return [
        "# The lineage UI in the browser: a 1,000-node graph and the first page load",
        "",
        f"{r['date']}, {m.get('cpu_model') or m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB RAM; {r['browser']}; "
        f"median of {r['repeats']} runs, each in a fresh browser context (cold cache). Run with `make bench-ui`.",
        "",
        "| measure | median | goal | met |",
        "| --- | ---: | --- | --- |",
        f"| synthetic graph, {s['nodes']:,} nodes / {s['edges']:,} edges: layout (layered.ts) | {s['layout_ms']:,.0f} ms |  |  |",
        f"| ... React Flow render (layout done -> painted) | {s['render_ms']:,.0f} ms |  |  |",
        f"| ... layout + render | {s['layout_render_ms']:,.0f} ms | <= 2,000 ms | {yes(r['met']['graph_1000_layout_render_ms'])} |",
        f"| ... navigation start -> graph painted (bundle, layout, render) | {s['navigation_to_graph_ms']:,.0f} ms |  |  |",
        *(
            [
                f"| the same graph laid out by ELK instead (median of {len(r['synthetic_elk']['all_layout_render_ms'])}): layout + render | {r['synthetic_elk']['layout_render_ms']:,.0f} ms |  |  |"
            ]
            if r.get("synthetic_elk")
            else []
        ),
        f"| graph from Marquez ({q['jobs']} jobs, depth {q['depth']}: {q['nodes']:,} nodes / {q['edges']:,} edges): layout + render | {q['layout_render_ms']:,.0f} ms |  |  |",
        f"| ... navigation start -> graph painted (incl. /lineage through the proxy) | {q['navigation_to_graph_ms']:,.0f} ms |  |  |",
        f"| first page (`/`: app, namespaces with counts, recent runs), navigation start -> namespaces painted | {r['first_page_ms']:,.0f} ms | <= 1,000 ms | {yes(r['met']['first_page_ms'])} |",
        f"| ... the same, as Playwright saw the table (its polling included) | {r['first_page_observed_ms']:,.0f} ms |  |  |",
        f"| floor: navigation to `/healthz` (plain text, same server and browser) | {r['floor_healthz_ms']:,.0f} ms |  |  |",
        "",
        f"First page / floor: {r['first_page_ratio_to_floor']}x. All layout + render samples (synthetic): {s['all_layout_render_ms']}; "
        f"first page: {r['all_first_page_ms']}. Total wall time: {r['total_s']:.0f} s. Load average (1, 5, 15 min) "
        f"before {r['load_average']['before']}, after {r['load_average']['after']}: the machine is shared, so the "
        "floor shows what any page cost at that moment.",
    ]


if __name__ == "__main__":
    typer.run(main)

"""`lineage diff` at scale: a synthetic code location of 1,000 and 10,000 assets
(bench/diff_location.py) whose clean runs (START + COMPLETE per asset, inputs, outputs, schema)
are loaded into a fresh built-in Marquez server, then `lineage diff` is run as users run it (the
CLI, a new process: loading the location, reading an empty Dagster instance, reading Marquez,
comparing, keeping the report). Measured: wall time, HTTP calls, peak RSS; median of --repeats.
The goal: at most 10 s at 10,000 assets, cost linear in assets (the ratio 10k/1k is stated).

    python -m bench.lineage_diff            # about 5 minutes
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests
import typer

from bench.marquez_server import BuiltIn, wait_applied
from bench.measure import machine, median, run_measured
from lineage import naming

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
WORK = REPO / "data" / "bench" / "lineage_diff"
PRODUCER = "https://github.com/lakehouse/bench/lineage_diff"


def _events(n: int) -> list[dict]:
    os.environ["BENCH_DIFF_ASSETS"] = str(n)
    from bench import diff_location as loc

    base = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    fields = [{"name": c, "type": t} for c, t in loc.COLUMNS.items()]
    events = []
    for j in range(n):
        run = str(uuid.uuid4())
        job = {"namespace": naming.job_namespace(), "name": naming.asset_job_name(loc.name(j))}
        inputs = [{"namespace": loc.NAMESPACE, "name": f"lineage_diff.main.{loc.name(u)}"} for u in loc.upstream(j)]
        output = {
            "namespace": loc.NAMESPACE,
            "name": f"lineage_diff.main.{loc.name(j)}",
            "facets": {"schema": {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                "fields": fields,
            }},
        }  # fmt: skip
        for k, kind in enumerate(("START", "COMPLETE")):
            moment = base + dt.timedelta(milliseconds=2 * j + k)
            events.append({
                "eventType": kind, "eventTime": moment.isoformat().replace("+00:00", "Z"), "producer": PRODUCER,
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
                "run": {"runId": run}, "job": job, "inputs": inputs, "outputs": [output],
            })  # fmt: skip
    return events


def _load(url: str, events: list[dict], batch: int = 500) -> float:
    started = time.perf_counter()
    with requests.Session() as session:
        session.trust_env = False
        for i in range(0, len(events), batch):
            r = session.post(f"{url}/api/v1/lineage/batch", json=events[i : i + batch], timeout=300)
            if r.status_code not in (200, 201):
                raise RuntimeError(f"loading events: {r.status_code} {r.text[:300]}")
    return time.perf_counter() - started


def _create_instance(home: Path) -> None:
    """A user's Dagster home exists before they diff: create its storage outside the timing."""
    import dagster as dg

    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.get_run_records(limit=1)


def _diff_once(url: str, n: int, home: Path, label: str) -> dict:
    report = WORK / f"report_{label}.json"
    env = {
        **os.environ,
        "BENCH_DIFF_ASSETS": str(n),
        "DAGSTER_HOME": str(home),
        "LINEAGE_DIFF_REPORT": str(WORK / f"last_{label}.json"),
    }
    command = [sys.executable, "-m", "lineage.cli", "diff", "-m", "bench.diff_location", "--url", url,
               "--format", "json", "-o", str(report), "--fail-on", "info"]  # fmt: skip
    m = run_measured(command, env, str(REPO), str(WORK / f"diff_{label}.log"))
    body = json.loads(report.read_text())
    if body["drifts"] or body["summary"]["assets"] != n:
        raise RuntimeError(f"expected a clean diff of {n} assets: {body['summary']}")
    timings = body["summary"]["timings_s"]
    timings["process_start_and_imports"] = round(m.wall_s - sum(timings.values()), 3)
    return {"wall_s": m.wall_s, "peak_rss_mib": m.peak_rss_bytes / 2**20, "http_calls": body["summary"]["http_calls"],
            "timings": timings}  # fmt: skip


def main(
    sizes: str = typer.Option("1000,10000", help="Asset counts, comma-separated."),
    repeats: int = typer.Option(3, help="Diff runs per size (the median is reported)."),
    pg_port: int = typer.Option(5434, help="Port of the benchmark's own embedded Postgres."),
) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    backend = BuiltIn(pg_port, {})
    rows = []
    load_before = os.getloadavg()
    try:
        for n in (int(s) for s in sizes.split(",")):
            target = backend.start(f"diff_{n}")
            try:
                events = _events(n)
                started = time.perf_counter()
                load_s = _load(target.url, events)
                applied_s = wait_applied(target, started)
                with tempfile.TemporaryDirectory(prefix="bench-dagster-home-") as home:
                    _create_instance(Path(home))
                    runs = [_diff_once(target.url, n, Path(home), f"{n}_{r}") for r in range(repeats)]
            finally:
                backend.stop(target)
            row = {
                "assets": n,
                "events": len(events),
                "load_s": round(load_s, 2),
                "applied_s": round(applied_s, 2) if applied_s else None,
                "wall_s": [round(r["wall_s"], 3) for r in runs],
                "wall_s_median": round(median([r["wall_s"] for r in runs]), 3),
                "peak_rss_mib_median": round(median([r["peak_rss_mib"] for r in runs]), 1),
                "http_calls": runs[0]["http_calls"],
                "phases_s_median": {k: round(median([r["timings"][k] for r in runs]), 3) for k in runs[0]["timings"]},
            }
            rows.append(row)
            print(f"{n:>6} assets: diff {row['wall_s_median']:.2f} s (runs {row['wall_s']}), "
                  f"{row['http_calls']} HTTP calls, peak RSS {row['peak_rss_mib_median']:.0f} MiB")  # fmt: skip
    finally:
        backend.close()
    report = {
        "benchmark": "lineage_diff",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
        "machine": machine(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "repeats": repeats,
        "sizes": rows,
    }
    if len(rows) >= 2:
        small, large = rows[0], rows[-1]
        report["ratio"] = {
            "assets": large["assets"] / small["assets"],
            "wall_s": round(large["wall_s_median"] / small["wall_s_median"], 2),
            "http_calls": round(large["http_calls"] / small["http_calls"], 2),
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lineage_diff.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "lineage_diff.md").write_text(render(report))
    print(render(report))


def render(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# `lineage diff` at scale",
        "",
        f"{report['date']}, commit {report['commit']}; {m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB; "
        f"load average before {report['load_average_before']}, after {report['load_average_after']}.",
        "",
        "A synthetic code location (bench/diff_location.py: t{j} reads t{j-1} and t{j-50}, 12 declared columns "
        "each), its clean runs loaded into a fresh built-in Marquez server (START + COMPLETE per asset), then "
        "`lineage diff` run as a user runs it (a new process: location, empty Dagster instance, Marquez, report "
        f"kept). Median of {report['repeats']} runs. Goal: <= 10 s at 10,000 assets, linear in assets.",
        "",
        "| assets | events loaded | diff wall time (median) | runs | HTTP calls | peak RSS |",
        "| ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for r in report["sizes"]:
        lines.append(f"| {r['assets']:,} | {r['events']:,} | {r['wall_s_median']:.2f} s | {r['wall_s']} | "
                     f"{r['http_calls']} | {r['peak_rss_mib_median']:.0f} MiB |")  # fmt: skip
    lines += ["", "Where the time goes (median seconds per phase):", ""]
    for r in report["sizes"]:
        phases = ", ".join(f"{k} {v:.2f}" for k, v in r["phases_s_median"].items())
        lines.append(f"- {r['assets']:,} assets: {phases}")
    if "ratio" in report:
        q = report["ratio"]
        lines += [
            "",
            f"Ratio {q['assets']:.0f}x the assets: {q['wall_s']}x the wall time, {q['http_calls']}x the HTTP calls.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    typer.run(main)

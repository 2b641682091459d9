"""`lineage replay` of a 10,000-event backlog into the built-in Marquez server.

The backlog is what an outage leaves behind: N events (START + COMPLETE of N/2 runs of the
layered load `marquez_server.py` uses, a 12-column schema facet per output) appended to a fresh
outbox through the project's own Outbox (durable appends, as the emitters write them). Then
the backlog is delivered by `deliver_once` (what `lineage replay` runs, without the progress
bar): through the batch endpoint, and one event per request (what a real Marquez gets), each
on a fresh database of its own with its own `python -m marquez serve`, alternating, median
of --repeats. Delivered means acknowledged (stored durably), so the figure is events/s
acknowledged; the projector applying them runs alongside and is timed too (until
/healthcheck's pendingEvents is 0).

    .venv/bin/python -m bench.outbox_replay                 # 10,000 events, 3 repeats
    .venv/bin/python -m bench.outbox_replay --events 2000 --repeats 1
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import requests
import typer

from bench.marquez_server import BuiltIn, job_events
from bench.measure import machine
from lakehouse_core.marquez import MarquezTarget
from lineage.delivery import deliver_once
from lineage.outbox import Outbox

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
GOAL_EVENTS_PER_S = 1000.0


def fill(outbox: Outbox, events: int) -> float:
    """The backlog, in one transaction (setup, not measured); returns the seconds one durable
    append per event (what emitters do) takes, from the first 200 appended that way."""
    bodies = [json.dumps(e) for j in range(events // 2) for e in job_events(j, "bench")]
    sample = min(200, len(bodies))
    began = time.perf_counter()
    for body in bodies[:sample]:
        outbox.append(body)
    per_event = (time.perf_counter() - began) / sample
    outbox.append_many(bodies[sample:])
    return per_event * events


def applied_after(url: str, timeout_s: float = 900) -> float:
    began = time.perf_counter()
    while time.perf_counter() - began < timeout_s:
        pending = requests.get(f"{url}/healthcheck", timeout=30).json().get("pendingEvents", 0)
        if not pending:
            return time.perf_counter() - began
        time.sleep(0.2)
    return float("nan")


def replay(builtin: BuiltIn, events: int, batch: bool, label: str, work: Path, wait_projector: bool) -> dict:
    outbox = Outbox(work / f"{label}.sqlite3")
    append_s = fill(outbox, events)
    target = builtin.start(label)
    try:
        began = time.perf_counter()
        result = deliver_once(outbox, MarquezTarget(target.url, "external"), batch=batch)
        wall = time.perf_counter() - began
        applied = applied_after(target.url) if wait_projector else float("nan")
        stored = requests.get(f"{target.url}/api/v1/events/lineage", params={"limit": 1}, timeout=60).json()[
            "totalCount"
        ]
    finally:
        builtin.stop(target)
    if result.delivered != events or stored != events or result.error:
        raise RuntimeError(f"{label}: delivered {result.delivered}, stored {stored} of {events}: {result.error}")
    return {
        "label": label,
        "events": events,
        "append_s": round(append_s, 3),
        "append_per_event_ms": round(append_s / events * 1000, 3),
        "deliver_s": round(wall, 3),
        "events_per_s": round(events / wall, 1),
        "projector_behind_s": round(applied, 3),
        "stored": stored,
    }


def main(
    events: int = typer.Option(10_000, help="Backlog size (even)."),
    repeats: int = typer.Option(3, help="Runs of each side, alternating."),
    one_by_one_events: int = typer.Option(
        2_000, help="Backlog for the one-by-one side (its rate, not its size, is compared)."
    ),
    wait_projector: bool = typer.Option(False, help="Also time the server's projector applying the backlog (minutes)."),
    pg_port: int = typer.Option(5437, help="Port of the bench's embedded Postgres."),
) -> None:
    load_at_start = [round(x, 1) for x in os.getloadavg()]
    builtin = BuiltIn(pg_port, {})
    runs: dict[str, list[dict]] = {"batch": [], "one_by_one": []}
    try:
        with tempfile.TemporaryDirectory(prefix="outbox-replay-") as tmp:
            for i in range(repeats):
                for side, batch, n in (("batch", True, events), ("one_by_one", False, one_by_one_events)):
                    run = replay(builtin, n, batch, f"replay_{side}_{i}", Path(tmp), wait_projector)
                    runs[side].append(run)
                    print(json.dumps(run))
    finally:
        builtin.close()
    summary = {
        side: {
            "events_per_s_median": statistics.median(r["events_per_s"] for r in rs),
            "deliver_s_median": statistics.median(r["deliver_s"] for r in rs),
            "append_per_event_ms_median": statistics.median(r["append_per_event_ms"] for r in rs),
        }
        for side, rs in runs.items()
    }
    report = {
        "benchmark": "outbox_replay",
        "load_average": load_at_start,
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "events": events,
        "one_by_one_events": one_by_one_events,
        "repeats": repeats,
        "goal": f">= {GOAL_EVENTS_PER_S:g} events/s with the batch endpoint",
        "summary": summary,
        "batch_vs_one_by_one": round(
            summary["batch"]["events_per_s_median"] / summary["one_by_one"]["events_per_s_median"], 2
        ),
        "met": summary["batch"]["events_per_s_median"] >= GOAL_EVENTS_PER_S,
        "runs": runs,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "outbox_replay.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "outbox_replay.md").write_text("\n".join(render(report)) + "\n")
    print("\n".join(render(report)))


def render(report: dict) -> list[str]:
    s = report["summary"]
    lines = [
        "# Replaying a lineage backlog into the built-in Marquez (`bench/outbox_replay.py`)",
        "",
        f"{report['when']}, {report['machine']}. Backlog of {report['events']:,} events "
        f"(START + COMPLETE of {report['events'] // 2:,} runs, 12-column schema facets; {report['one_by_one_events']:,} "
        f"for the one-by-one side), median of {report['repeats']}, each run on a fresh database with its own server, "
        f"load average {report['load_average']} at the start.",
        "",
        "| delivery | events/s acknowledged (stored durably) | backlog delivered in | projector done after delivery |",
        "| --- | --- | --- | --- |",
    ]
    for side, name in (
        ("batch", "batch endpoint (`lineage replay`)"),
        ("one_by_one", "one event per request (`--one-by-one`, real Marquez)"),
    ):
        behind = statistics.median(r["projector_behind_s"] for r in report["runs"][side])
        behind_text = "not timed" if behind != behind else f"{behind:.2f} s"
        lines.append(
            f"| {name} | {s[side]['events_per_s_median']:,.0f} | {s[side]['deliver_s_median']:.2f} s | {behind_text} |"
        )
    lines += [
        "",
        f"Goal {report['goal']}: **{'met' if report['met'] else 'NOT met'}** "
        f"({s['batch']['events_per_s_median']:,.0f} events/s; {report['batch_vs_one_by_one']}x one by one).",
        f"One durable outbox append (what an emitter pays per event, synchronous=FULL): "
        f"{s['batch']['append_per_event_ms_median']:.2f} ms.",
    ]
    return lines


if __name__ == "__main__":
    typer.run(main)

"""Benchmark: one new daily partition, end to end through Dagster, against the same work done
directly, and against history.

1. One new day through Dagster (`dagster asset materialize --select '*' --partition DAY`)
   vs the same work without an orchestrator (bench/daily_direct.py: the same window intake as the
   raw asset, the same three dbt-ol commands with the same window, the same publish),
   on a lakehouse holding 1 day of history (goal: ratio <= 1.3), with the fixed overhead
   broken down from the Dagster run's own event log.
2. One new day after 365 days of history vs the same new day (its files copied) after 1 day,
   both through Dagster, dbt tests included (goal: ratio <= 1.1).

Lineage is on throughout (dbt-ol, events into the benchmark's outbox). Reruns of a day are
idempotent (the window is replaced), so every repeat starts from the same state; the sides
alternate within each repeat. The load average of the machine is recorded with every run.

    python -m bench.daily_run [--repeats 3]

Results: bench/results/daily_run.{json,md}.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import typer

from bench.measure import machine, median, run_measured

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
# 3 sites x 2 reactors, 8 tags, one reading every 5 minutes: ~14,000 raw rows a day (~5M in 366
# days), so the 365-day history is set up in one backfill of a few minutes.
GENERATOR = dict(seed=5, sites=("LON", "BOS", "SGP"), reactors_per_site=2, batches_per_reactor=9999,
                 sample_interval_s=300, start_date="2025-01-01")  # fmt: skip
# Figures before issue 14's changes (same machine, same data; bench/results/partitions_incremental.md
# and the issue): one new day end to end ~43-47 s.
BEFORE = {"dagster_new_day_s": 47.1, "history_60_over_1": 0.979}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _children_cpu_s() -> float:
    """CPU seconds (user + system) of every finished descendant so far: a command's share of the
    2 shared cores, much less sensitive than wall time to what other engineers run meanwhile.
    The Postgres server's own work (Dagster's storage, the publish) is not in it."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_events(dagster_home: Path) -> dict:
    """Timestamps of the latest run's events: run start/end, each step's start/end and its dbt
    command's start/end (dagster-dbt logs both)."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_records(limit=1)[0].dagster_run
        records = instance.all_logs(run.run_id)
    out: dict = {"steps": {}}
    for e in records:
        t = e.timestamp
        if e.dagster_event is not None:
            kind = e.dagster_event.event_type
            if kind == dg.DagsterEventType.RUN_START:
                out["run_start"] = t
            elif kind in (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE):
                out["run_end"] = t
            elif kind in (
                dg.DagsterEventType.STEP_START,
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            ):
                out["steps"].setdefault(e.step_key, {})[
                    "start" if kind == dg.DagsterEventType.STEP_START else "end"
                ] = t
        elif e.step_key and e.user_message.startswith("Running dbt command"):
            out["steps"].setdefault(e.step_key, {})["dbt_start"] = t
        elif e.step_key and e.user_message.startswith("Finished dbt command"):
            out["steps"].setdefault(e.step_key, {})["dbt_end"] = t
    return out


def breakdown(started: float, ended: float, events: dict) -> dict:
    """Where the wall time of one `dagster asset materialize` went (seconds)."""
    steps = {}
    for key, s in events["steps"].items():
        row = {"step_s": round(s["end"] - s["start"], 2)}
        if "dbt_start" in s:
            row["dbt_s"] = round(s["dbt_end"] - s["dbt_start"], 2)
            row["head_s"] = round(s["dbt_start"] - s["start"], 2)
            row["tail_s"] = round(s["end"] - s["dbt_end"], 2)
        steps[key] = row
    step_sum = sum(r["step_s"] for r in steps.values())
    run_s = events["run_end"] - events["run_start"]
    return {
        "before_run_start_s": round(events["run_start"] - started, 2),
        "run_s": round(run_s, 2),
        "between_steps_s": round(run_s - step_sum, 2),
        "after_run_end_s": round(ended - events["run_end"], 2),
        "steps": steps,
    }


def main(repeats: int = typer.Option(3), pg_port: int = typer.Option(5434)) -> None:
    bench = REPO / "data" / "bench" / "daily"
    bench.mkdir(parents=True, exist_ok=True)
    os.environ.update({"LAKEHOUSE_DATA_DIR": str(bench.parent), "LAKEHOUSE_PG_PORT": str(pg_port),
                       "OPENLINEAGE_CONFIG": str(bench / "openlineage.yml")})  # fmt: skip
    os.environ.pop("LAKEHOUSE_PG_URL", None)
    os.environ.pop("LAKEHOUSE_LINEAGE", None)  # lineage on
    (bench / "openlineage.yml").write_text(
        f"transport:\n  type: lineage.transport.OutboxTransport\n  path: {bench / 'outbox.sqlite3'}\n"
    )
    from lakehouse_core.settings import get_settings
    from orchestration.datagen import generate_bioreactor_data
    from orchestration.ingest.lake_scan import lake_days
    from orchestration.services.dagster_dev import prepare_dagster_home
    from orchestration.services.postgres import ensure_postgres

    ensure_postgres(get_settings())
    bin_dir = Path(sys.executable).parent

    def env(name: str) -> dict[str, str]:
        return {**os.environ, "LAKEHOUSE_RAW_DIR": str(bench / f"raw_{name}"),
                "LAKEHOUSE_DUCKDB_PATH": str(bench / f"{name}.duckdb"),
                "DAGSTER_HOME": str(bench / f"home_{name}")}  # fmt: skip

    def home(name: str) -> Path:
        os.environ["DAGSTER_HOME"] = str(bench / f"home_{name}")
        return prepare_dagster_home(get_settings())

    def lake(name: str, days: int) -> list[str]:
        raw = bench / f"raw_{name}"
        if not raw.exists():
            generate_bioreactor_data(raw, days=days, progress=True, **GENERATOR)
        return lake_days(raw)

    def short_lake(long_days: list[str]) -> list[str]:
        """The long lake's last two days (the day before the new one, and the new one), copied:
        the new day is the same data with 1 day of history as with 365."""
        raw = bench / "raw_h1"
        if not raw.exists():
            for day in long_days[-2:]:
                shutil.copytree(bench / "raw_h365" / f"date={day}", raw / f"date={day}")
        return lake_days(raw)

    def dagster(name: str, partition: str, log: str) -> tuple:
        flag = "--partition-range" if "..." in partition else "--partition"
        cmd = [str(bin_dir / "dagster"), "asset", "materialize", "-m", "orchestration.definitions",
               "--select", "*", flag, partition]  # fmt: skip
        load, cpu = _load(), _children_cpu_s()
        started = time.time()
        m = run_measured(cmd, env(name), str(REPO), str(bench / f"{log}.log"))
        m.cpu_s = _children_cpu_s() - cpu
        return m, load, breakdown(started, started + m.wall_s, _run_events(bench / f"home_{name}"))

    def direct(name: str, day: str, log: str) -> tuple:
        cmd = [sys.executable, "-m", "bench.daily_direct", day, str(bench / f"dbt_target_{name}")]
        load, cpu = _load(), _children_cpu_s()
        m = run_measured(cmd, env(name), str(REPO), str(bench / f"{log}.log"))
        m.cpu_s = _children_cpu_s() - cpu
        parts = json.loads(Path(bench / f"{log}.log").read_text().strip().splitlines()[-1])
        return m, load, parts

    long_days = lake("h365", 366)
    short_days = short_lake(long_days)
    for name in ("h365", "h1"):
        home(name)
    if not (bench / "h365.duckdb").exists():
        print("setting up 365 days of history (one backfill run)")
        dagster("h365", f"{long_days[0]}...{long_days[364]}", "h365_setup")
    if not (bench / "h1.duckdb").exists():
        dagster("h1", short_days[0], "h1_setup")
    new_long, new_short = long_days[365], short_days[1]
    dagster("h365", new_long, "h365_warmup")  # first run of the new day: dbt's partial parse, caches
    dagster("h1", new_short, "h1_warmup")
    direct("h1", new_short, "direct_warmup")

    runs: dict[str, list] = {"dagster_h1": [], "direct_h1": [], "dagster_h365": []}
    for i in range(repeats):
        runs["dagster_h1"].append(dagster("h1", new_short, f"dagster_h1_{i}"))
        runs["direct_h1"].append(direct("h1", new_short, f"direct_h1_{i}"))
        runs["dagster_h365"].append(dagster("h365", new_long, f"dagster_h365_{i}"))
        print(f"run {i + 1}: dagster (1 day of history) {runs['dagster_h1'][-1][0].wall_s:.1f} s, "
              f"direct {runs['direct_h1'][-1][0].wall_s:.1f} s, dagster (365 days) {runs['dagster_h365'][-1][0].wall_s:.1f} s")  # fmt: skip

    def med(side: str) -> float:
        return median([m.wall_s for m, _, _ in runs[side]])

    def med_cpu(side: str) -> float:
        return median([m.cpu_s for m, _, _ in runs[side]])

    c1, c_direct, c365 = med_cpu("dagster_h1"), med_cpu("direct_h1"), med_cpu("dagster_h365")

    d1, direct_s, d365 = med("dagster_h1"), med("direct_h1"), med("dagster_h365")
    # The breakdown of the median Dagster run, and the direct run's parts, for the same repeat.
    mid = sorted(range(repeats), key=lambda i: runs["dagster_h1"][i][0].wall_s)[repeats // 2]
    report = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "repeats": repeats,
        "rows_per_day": GENERATOR,
        "before": BEFORE,
        "new_day_dagster_vs_direct": {
            "dagster_s": [round(m.wall_s, 2) for m, _, _ in runs["dagster_h1"]],
            "direct_s": [round(m.wall_s, 2) for m, _, _ in runs["direct_h1"]],
            "load_avg_1m": [[a, b] for (_, a, _), (_, b, _) in zip(runs["dagster_h1"], runs["direct_h1"])],
            "median_dagster_s": round(d1, 2), "median_direct_s": round(direct_s, 2),
            "ratio": round(d1 / direct_s, 3),
            # Each repeat's own pair (the sides run back to back), whose median weighs the
            # host's swings differently from the ratio of the medians.
            "ratio_paired_median": round(median([d.wall_s / r.wall_s for (d, _, _), (r, _, _)
                                                 in zip(runs["dagster_h1"], runs["direct_h1"])]), 3),
            "dagster_cpu_s": [round(m.cpu_s, 2) for m, _, _ in runs["dagster_h1"]],
            "direct_cpu_s": [round(m.cpu_s, 2) for m, _, _ in runs["direct_h1"]],
            "median_dagster_cpu_s": round(c1, 2), "median_direct_cpu_s": round(c_direct, 2),
            "cpu_ratio": round(c1 / c_direct, 3),
            "dagster_breakdown_median_run": runs["dagster_h1"][mid][2],
            "direct_parts_same_repeat": runs["direct_h1"][mid][2],
            "peak_rss_mib_dagster": round(max(m.peak_rss_bytes for m, _, _ in runs["dagster_h1"]) / 2**20),
        },
        "new_day_history_365_vs_1": {
            "history_365_s": [round(m.wall_s, 2) for m, _, _ in runs["dagster_h365"]],
            "history_1_s": [round(m.wall_s, 2) for m, _, _ in runs["dagster_h1"]],
            "load_avg_1m_365": [a for _, a, _ in runs["dagster_h365"]],
            "median_365_s": round(d365, 2), "median_1_s": round(d1, 2), "ratio": round(d365 / d1, 3),
            "history_365_cpu_s": [round(m.cpu_s, 2) for m, _, _ in runs["dagster_h365"]],
            "median_365_cpu_s": round(c365, 2), "median_1_cpu_s": round(c1, 2), "cpu_ratio": round(c365 / c1, 3),
            "breakdown_365_median_run": runs["dagster_h365"][
                sorted(range(repeats), key=lambda i: runs["dagster_h365"][i][0].wall_s)[repeats // 2]][2],
        },
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "daily_run.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "daily_run.md").write_text(render(report) + "\n")
    print(render(report))


def render(report: dict) -> str:
    m, a, h = report["machine"], report["new_day_dagster_vs_direct"], report["new_day_history_365_vs_1"]
    b = a["dagster_breakdown_median_run"]
    lines = [
        "# One new daily partition: Dagster vs direct dbt, and vs history",
        "",
        f"{report['date']}, {m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB; median of "
        f"{report['repeats']} runs per side, sides alternating; lineage on (dbt-ol, outbox). 1-minute load "
        f"average at each run's start: Dagster/direct {a['load_avg_1m']}, 365 days {h['load_avg_1m_365']} "
        "(the 2 cores are shared with other engineers' work).",
        "",
        "| comparison | median s | against | median s | ratio | goal |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
        f"| one new day through Dagster | {a['median_dagster_s']} | the same work run directly | "
        f"{a['median_direct_s']} | {a['ratio']} | <= 1.3 |",
        f"| one new day after 365 days | {h['median_365_s']} | one new day after 1 day | {h['median_1_s']} | "
        f"{h['ratio']} | <= 1.1 |",
        "",
        "Each repeat's pair, Dagster / direct (s): "
        + "; ".join(f"{x} / {y} = {x / y:.2f}" for x, y in zip(a["dagster_s"], a["direct_s"]))
        + f"; median of the pairs' ratios {a.get('ratio_paired_median', 'n/a')}.",
        "",
        "The same runs in CPU seconds of the command's whole process tree (user + system; the Postgres "
        "server's work not included), less sensitive to the other engineers' load than wall time:",
        "",
        "| comparison | median CPU s | against | median CPU s | ratio |",
        "| --- | ---: | --- | ---: | ---: |",
        f"| one new day through Dagster | {a['median_dagster_cpu_s']} | the same work run directly | "
        f"{a['median_direct_cpu_s']} | {a['cpu_ratio']} |",
        f"| one new day after 365 days | {h['median_365_cpu_s']} | one new day after 1 day | {h['median_1_cpu_s']} | "
        f"{h['cpu_ratio']} |",
        "",
        "Where the Dagster run's time goes (the median run; seconds):",
        "",
        f"- before the run starts (Python start-up, imports, definitions, run creation): {b['before_run_start_s']}",
        f"- the run: {b['run_s']}, of which between steps: {b['between_steps_s']}",
        f"- after the run ends (process exit): {b['after_run_end_s']}",
        "",
        "| step | step s | dbt command s | head s (step start to dbt) | tail s (dbt end to step end) |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for key, s in b["steps"].items():
        lines.append(
            f"| `{key}` | {s['step_s']} | {s.get('dbt_s', '')} | {s.get('head_s', '')} | {s.get('tail_s', '')} |"
        )
    parts = ", ".join(f"{k} {v}" for k, v in a["direct_parts_same_repeat"].items())
    before = report["before"]
    lines += ["", f"The direct run of the same repeat (seconds): {parts}.", "",
              f"Before issue 14 (bench/results/partitions_incremental.md, the same machine): one new day end to end "
              f"{before['dagster_new_day_s']} s with 1 day of history (the issue: ~43 s, ~15 s of it before the run "
              f"started, ~17 s in the staging step); new day after 60 days over after 1 day: {before['history_60_over_1']}."]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    typer.run(main)

"""Benchmark: what lineage costs the pipeline, and how fast its events reach Marquez.

The whole pipeline (`dagster asset materialize -m orchestration.definitions --select '*'
--partition-range FIRST...LAST`) with lineage on (dbt through dbt-ol, every event appended to
the outbox) against lineage off (`LAKEHOUSE_LINEAGE=off`: plain dbt, no events), on the same
generated data, in the same run, alternating (on/off, then off/on, ...), median of N runs each.
Every run gets a fresh DuckDB file and a fresh DAGSTER_HOME, so every run does the same work;
the Postgres copies go to the same bench Postgres.

"While the services run": for the whole benchmark a built-in Marquez (`python -m marquez serve`
on a free port, a throwaway database in the bench's embedded Postgres, port 5434) and the
delivery loop (`python -m lineage.cli deliver --follow`, what `lakehouse up` runs) are up, for
both sides. Every run emits to one outbox of this benchmark (`data/bench/lineage_overhead/`,
chosen by an `openlineage.yml` given through OPENLINEAGE_CONFIG, the loop reads the same file).

After each lineage-on run the Dagster run is closed (`lineage.dagster.close_run`, what the
run-status sensors or `lakehouse demo` do), then the benchmark waits (bounded) until the loop
owes Marquez nothing, and reads from the outbox, per event of that run, `delivered_at -
created_at`: the delivery latency from emission to Marquez's acknowledgement. Lineage-off runs
are checked to emit nothing.

To show where a difference goes, each run's step durations are read from its Dagster event log
(dbt steps vs Python asset steps), and the cost of one `lineage.events.emit` into a scratch
outbox (a durable SQLite append) is measured on its own.

    python -m bench.lineage_overhead                              # 5M raw rows, 5 runs each side
    python -m bench.lineage_overhead --rows 300000 --repeats 1    # a quick look (development)

Five runs a side by default: the runs of one side spread by about 10% on 2 cores, more than the
5% the goal allows; the per-repeat differences (both sides back to back) are reported too.

Results: bench/results/lineage_overhead.{json,md} for the full run (5M rows, >= 3 repeats);
other sizes write to data/bench/lineage_overhead/ instead.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import requests
import typer

from bench.marquez_server import BuiltIn, tree_cpu_s
from bench.measure import machine, median, run_measured
from bench.pipeline_vs_floor import raw_lake

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
BENCH = REPO / "data" / "bench"
WORK = BENCH / "lineage_overhead"
FULL_ROWS, FULL_REPEATS, MIN_REPEATS = 5_000_000, 5, 3
GOALS = {"ratio": 1.05, "latency_p95_s": 5.0}
SIDES = ("on", "off")


# --- the outbox ---------------------------------------------------------------------------


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def outbox_max_seq(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return con.execute("select coalesce(max(seq), 0) from events").fetchone()[0]


def outbox_rows(path: Path, after_seq: int) -> list[dict]:
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute(
            "select seq, event_type, job_name, status, created_at, delivered_at, last_error, "
            "json_extract(body, '$.producer') as producer from events where seq > ? order by seq",
            (after_seq,),
        ).fetchall()
    return [dict(r) for r in rows]


def wait_delivered(path: Path, after_seq: int, timeout_s: float) -> tuple[float, int]:
    """Seconds until no event after `after_seq` is owed (pending/failed); and how many still are."""
    start = time.perf_counter()
    while True:
        owed = sum(1 for r in outbox_rows(path, after_seq) if r["status"] in ("pending", "failed"))
        if owed == 0 or time.perf_counter() - start >= timeout_s:
            return time.perf_counter() - start, owed
        time.sleep(0.1)


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --- the Dagster side ---------------------------------------------------------------------


def _latest_run_id(instance) -> str | None:
    records = instance.get_run_records(limit=1)
    return records[0].dagster_run.run_id if records else None


def close_and_steps(dagster_home: Path, env: dict[str, str], close: bool) -> tuple[float | None, dict[str, dict]]:
    """Close the run in lineage (lineage on) and read its step durations from the event log.

    Runs in this process with the run's environment (DAGSTER_HOME, OPENLINEAGE_CONFIG, ...)."""
    import dagster as dg

    from lineage.dagster import close_run

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        close_s = None
        with dg.DagsterInstance.get() as instance:
            run_id = _latest_run_id(instance)
            if run_id is None:
                raise RuntimeError(f"no run recorded in {dagster_home}")
            if close:
                t0 = time.perf_counter()
                status = close_run(instance, run_id)
                close_s = time.perf_counter() - t0
                if status != "SUCCESS":
                    raise RuntimeError(f"run {run_id} ended {status}")
            steps = step_phases(instance, run_id)
        return close_s, steps
    finally:
        os.environ.clear()
        os.environ.update(saved)


# Events a step yields while it works (dagster-dbt yields them as dbt reports each node done).
_WORK_EVENTS = ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION", "STEP_OUTPUT")


def step_phases(instance, run_id: str) -> dict[str, dict[str, float]]:
    """Per step, seconds: `total` (STEP_START -> STEP_SUCCESS), `head` (start -> its first
    materialization / check / output: for a dbt step, starting the dbt executable (`--version`,
    then the build), dbt's start-up and its first node), `tail` (its last such event -> success:
    for a dbt step, what runs after dbt reported its last node, e.g. dbt-ol reading the
    artifacts and emitting), and `body` (the rest)."""
    start: dict[str, float] = {}
    end: dict[str, float] = {}
    work: dict[str, list[float]] = {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not entry.step_key:
            continue
        kind = event.event_type_value
        if kind == "STEP_START":
            start[entry.step_key] = entry.timestamp
        elif kind == "STEP_SUCCESS":
            end[entry.step_key] = entry.timestamp
        elif kind in _WORK_EVENTS:
            work.setdefault(entry.step_key, []).append(entry.timestamp)
    out = {}
    for key, t0 in start.items():
        if key not in end:
            continue
        t1, marks = end[key], work.get(key) or [end[key]]
        head, tail = min(marks) - t0, t1 - max(marks)
        out[key] = {"total": round(t1 - t0, 2), "head": round(head, 2), "body": round(t1 - t0 - head - tail, 2),
                    "tail": round(tail, 2)}  # fmt: skip
    return out


def is_dbt_step(step_key: str) -> bool:
    return "dbt" in step_key.lower()


def emit_cost(config_dir: Path, n: int = 200) -> dict:
    """Milliseconds per `lineage.events.emit` (a new OpenLineageClient from the config + one
    durable outbox append), into a scratch outbox, with a Dagster-side event of typical size."""
    from lineage.events import DagsterRun, JobRun, emit

    scratch = config_dir / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    config = scratch / "openlineage.yml"
    config.write_text(
        f"transport:\n  type: lineage.transport.OutboxTransport\n  path: {scratch / 'outbox.sqlite3'}\n  strict: true\n"
    )
    saved = os.environ.get("OPENLINEAGE_CONFIG")
    os.environ["OPENLINEAGE_CONFIG"] = str(config)
    os.environ.pop("LAKEHOUSE_LINEAGE", None)
    try:
        job = JobRun(DagsterRun("bench-emit-cost", "__ASSET_JOB"), None)
        emit(job.start())  # the outbox file is created by the first append
        t0 = time.perf_counter()
        for _ in range(n):
            if not emit(job.start()):
                raise RuntimeError("emit failed")
        per_emit = (time.perf_counter() - t0) / n
    finally:
        if saved is None:
            os.environ.pop("OPENLINEAGE_CONFIG", None)
        else:
            os.environ["OPENLINEAGE_CONFIG"] = saved
        shutil.rmtree(scratch, ignore_errors=True)
    return {"events": n, "ms_per_emit": round(per_emit * 1000, 2)}


# --- the services -------------------------------------------------------------------------


def start_loop(env: dict[str, str], outbox: Path, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "w")
    cmd = [sys.executable, "-m", "lineage.cli", "deliver", "--follow", "--outbox", str(outbox)]
    proc = subprocess.Popen(cmd, cwd=REPO, env={**env, "PYTHONUNBUFFERED": "1"}, stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    time.sleep(2.0)
    if proc.poll() is not None:
        raise RuntimeError(f"the delivery loop exited {proc.returncode}; see {log_path}")
    return proc


def stop_loop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def marquez_counts(url: str) -> dict:
    """Jobs and datasets per namespace in the benchmark's Marquez (a sanity check)."""
    out: dict[str, dict] = {}
    try:
        names = [n["name"] for n in requests.get(f"{url}/api/v1/namespaces", timeout=30).json()["namespaces"]]
        for ns in names:
            out[ns] = {}
            for kind in ("jobs", "datasets"):
                r = requests.get(
                    f"{url}/api/v1/namespaces/{quote(ns, safe='')}/{kind}", params={"limit": 1}, timeout=30
                )
                out[ns][kind] = r.json().get("totalCount") if r.status_code == 200 else None
    except (requests.RequestException, ValueError, KeyError) as exc:
        out["error"] = {"message": str(exc)}
    return out


def wrapper_cost(env: dict[str, str], repeats: int = 3) -> dict:
    """Seconds of `dbt --version` vs `dbt-ol --version` (run from dbt/, as dagster-dbt does once per
    dbt step before the build): the fixed cost of the dbt-ol wrapper process on each invocation."""
    bin_dir = str(Path(sys.executable).parent)
    run_env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"}
    times: dict[str, list[float]] = {"dbt": [], "dbt-ol": []}
    for _ in range(repeats):
        for exe in times:
            t0 = time.perf_counter()
            subprocess.run([str(Path(bin_dir) / exe), "--version"], cwd=REPO / "dbt", env=run_env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # fmt: skip
            times[exe].append(time.perf_counter() - t0)
    dbt_s, ol_s = median(times["dbt"]), median(times["dbt-ol"])
    return {"dbt_version_s": round(dbt_s, 2), "dbt_ol_version_s": round(ol_s, 2), "wrapper_s": round(ol_s - dbt_s, 2)}


def pending_in_marquez(url: str, timeout_s: float = 120) -> float | None:
    """Seconds until the built-in server has applied every stored event (its /healthcheck)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout_s:
        try:
            pending = requests.get(f"{url}/healthcheck", timeout=5).json().get("pendingEvents")
        except (requests.RequestException, ValueError):
            return None
        if pending is None:
            return None
        if pending == 0:
            return time.perf_counter() - start
        time.sleep(0.05)
    return None


def load_note() -> dict:
    """Load average and whether other heavy work (pytest) was running when the runs began."""
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout.splitlines()
    pytest = [a for a in out if "pytest" in a and "grep" not in a]
    return {"loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()], "pytest_processes": len(pytest)}


# --- the benchmark ------------------------------------------------------------------------


def main(
    rows: int = typer.Option(FULL_ROWS, help="Raw rows to generate (reused with bench.pipeline_vs_floor)."),
    repeats: int = typer.Option(FULL_REPEATS, help="Runs of each side (median reported)."),
    pg_port: int = typer.Option(5434, help="Port of the benchmark's own embedded Postgres."),
    settle_timeout: float = typer.Option(300, help="Seconds to wait after a run for the loop to owe nothing."),
) -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    os.environ.update({"LAKEHOUSE_DATA_DIR": str(BENCH), "LAKEHOUSE_PG_PORT": str(pg_port)})
    for key in [k for k in os.environ if k.startswith(("OPENLINEAGE_", "MARQUEZ_"))] + ["LAKEHOUSE_PG_URL",
                                                                                          "LAKEHOUSE_LINEAGE"]:  # fmt: skip
        os.environ.pop(key, None)
    from orchestration.ingest.lake_scan import lake_days

    raw_dir, generated = raw_lake(BENCH, rows)
    days = lake_days(raw_dir)
    load_at_start = load_note()
    started = dt.datetime.now().isoformat(timespec="seconds")

    # One outbox for the benchmark, fresh each time, named by an openlineage.yml (OPENLINEAGE_CONFIG).
    outbox = WORK / "outbox.sqlite3"
    for p in WORK.glob("outbox.sqlite3*"):
        p.unlink()
    config = WORK / "openlineage.yml"
    config.write_text(f"transport:\n  type: lineage.transport.OutboxTransport\n  path: {outbox}\n")

    services = BuiltIn(pg_port, {})  # ensures the bench Postgres; stops it at the end if it started it
    loop = None
    runs: dict[str, list[dict]] = {s: [] for s in SIDES}
    try:
        server = services.start("lineage_overhead")
        env = {
            **os.environ,
            "OPENLINEAGE_CONFIG": str(config),
            "MARQUEZ_URL": server.url,
            "LAKEHOUSE_RAW_DIR": str(raw_dir),
        }
        loop = start_loop(env, outbox, WORK / "delivery.log")
        print(f"Marquez {server.url} (database {server.db}), delivery loop pid {loop.pid}, outbox {outbox}")
        dagster = str(Path(sys.executable).parent / "dagster")
        cmd = [dagster, "asset", "materialize", "-m", "orchestration.definitions", "--select", "*",
               "--partition-range", f"{days[0]}...{days[-1]}"]  # fmt: skip
        template = REPO / "orchestration" / "dagster.yaml"
        for i in range(repeats):
            for side in SIDES if i % 2 == 0 else SIDES[::-1]:
                # The same DuckDB path every run (it names the DuckDB datasets in Marquez), a fresh file.
                run_dir = WORK / "run"
                shutil.rmtree(run_dir, ignore_errors=True)
                home = run_dir / "dagster_home"
                home.mkdir(parents=True)
                shutil.copy(template, home / "dagster.yaml")
                run_env = {**env, "DAGSTER_HOME": str(home), "LAKEHOUSE_DUCKDB_PATH": str(run_dir / "lakehouse.duckdb"),
                           "LAKEHOUSE_LINEAGE": side}  # fmt: skip
                before = outbox_max_seq(outbox)
                load0 = load_note()
                cpu0 = (tree_cpu_s(loop.pid), tree_cpu_s(server.pid))
                m = run_measured(cmd, run_env, str(REPO), str(WORK / f"run_{side}_{i}.log"))
                close_s, steps = close_and_steps(home, run_env, close=(side == "on"))
                record = {"run": i + 1, "wall_s": round(m.wall_s, 2), "peak_rss_mib": round(m.peak_rss_bytes / 2**20),
                          "steps_s": steps, "load_before": load0, "load_after": load_note()}  # fmt: skip
                if side == "on":
                    settle_s, owed = wait_delivered(outbox, before, settle_timeout)
                    events = outbox_rows(outbox, before)
                    lat = [(_ts(e["delivered_at"]) - _ts(e["created_at"])).total_seconds()
                           for e in events if e["status"] == "delivered"]  # fmt: skip
                    by_status: dict[str, int] = {}
                    for e in events:
                        by_status[e["status"]] = by_status.get(e["status"], 0) + 1
                    dbt_ol = sum(1 for e in events if e["producer"] and "dbt" in e["producer"])
                    record.update(
                        {
                            "close_run_s": round(close_s, 3),
                            "settled_after_s": round(settle_s, 2),
                            "still_owed": owed,
                            "events": len(events),
                            "events_by_status": by_status,
                            "events_from_dbt_ol": dbt_ol,
                            "events_from_dagster": len(events) - dbt_ol,
                            "latencies_s": [round(x, 4) for x in lat],
                            "rejected_reasons": sorted({e["last_error"] for e in events if e["status"] == "rejected"}),
                        }
                    )
                else:
                    record["events"] = outbox_max_seq(outbox) - before  # must be 0: nothing emitted
                cpu1 = (tree_cpu_s(loop.pid), tree_cpu_s(server.pid))
                record["services_cpu_s"] = {
                    "delivery_loop": round(cpu1[0] - cpu0[0], 2) if None not in (cpu0[0], cpu1[0]) else None,
                    "marquez": round(cpu1[1] - cpu0[1], 2) if None not in (cpu0[1], cpu1[1]) else None,
                }
                runs[side].append(record)
                shutil.rmtree(run_dir, ignore_errors=True)  # the DuckDB file: GBs at 50M
                extra = (f"  {record['events']} events, p95 {percentile(record['latencies_s'], 0.95):.2f} s"
                         if side == "on" and record["latencies_s"] else f"  {record['events']} events")  # fmt: skip
                print(f"{generated['rows']:>11,} rows  lineage {side:<3} run {i + 1}: {m.wall_s:7.1f} s  "
                      f"peak RSS {m.peak_rss_bytes / 2**20:6.0f} MiB{extra}")  # fmt: skip
        wrapper = wrapper_cost({**env, "LAKEHOUSE_LINEAGE": "on"})
        applied_s = pending_in_marquez(server.url)
        in_marquez = marquez_counts(server.url)
        loop_alive = loop.poll() is None
    finally:
        stop_loop(loop)
        services.close()  # the server, its database, and the bench Postgres if this run started it

    emit = emit_cost(WORK)
    report = summarize(
        runs, generated, repeats, started, load_at_start, emit, wrapper, in_marquez, applied_s, loop_alive
    )
    full = rows == FULL_ROWS and repeats >= MIN_REPEATS
    out_dir = RESULTS if full else WORK
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "lineage_overhead.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = render(report)
    (out_dir / "lineage_overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten: {out_dir / 'lineage_overhead'}.{{json,md}}")


def _spread(values: list[float]) -> dict:
    med = median(values)
    return {"median": round(med, 2), "min": round(min(values), 2), "max": round(max(values), 2),
            "spread_pct": round(100 * (max(values) - min(values)) / med, 1)}  # fmt: skip


def summarize(
    runs, generated, repeats, started, load_at_start, emit, wrapper, in_marquez, applied_s, loop_alive
) -> dict:
    on, off = runs["on"], runs["off"]
    on_s, off_s = _spread([r["wall_s"] for r in on]), _spread([r["wall_s"] for r in off])
    lat = [x for r in on for x in r["latencies_s"]]
    steps = {}
    for key in sorted({k for r in on + off for k in r["steps_s"]}):
        a = [r["steps_s"][key] for r in on if key in r["steps_s"]]
        b = [r["steps_s"][key] for r in off if key in r["steps_s"]]
        if a and b:
            row = {"dbt": is_dbt_step(key)}
            for phase in ("total", "head", "body", "tail"):
                on_m, off_m = median([x[phase] for x in a]), median([x[phase] for x in b])
                row[phase] = {
                    "on_median_s": round(on_m, 2),
                    "off_median_s": round(off_m, 2),
                    "delta_s": round(on_m - off_m, 2),
                }
            steps[key] = row
    events_per_run = [r["events"] for r in on]
    statuses: dict[str, int] = {}
    for r in on:
        for k, v in r["events_by_status"].items():
            statuses[k] = statuses.get(k, 0) + v
    return {
        "date": dt.date.today().isoformat(),
        "started": started,
        "machine": machine(),
        "load_at_start": load_at_start,
        "load_at_end": load_note(),
        "repeats": repeats,
        "raw_rows": generated["rows"],
        "raw_bytes": generated["bytes"],
        "goals": GOALS,
        "wall_s": {"on": on_s, "off": off_s},
        "ratio_on_over_off": round(on_s["median"] / off_s["median"], 3),
        # Each repeat runs both sides back to back: the median of the per-repeat differences
        # cancels slow drifts of the machine (other work starting or stopping) better.
        "paired_delta_s": [round(a["wall_s"] - b["wall_s"], 2) for a, b in zip(on, off)],
        "paired_delta_median_s": round(median([a["wall_s"] - b["wall_s"] for a, b in zip(on, off)]), 2),
        "paired_dbt_head_delta_s": [
            round(
                sum(v["head"] for k, v in a["steps_s"].items() if is_dbt_step(k))
                - sum(v["head"] for k, v in b["steps_s"].items() if is_dbt_step(k)),
                2,
            )
            for a, b in zip(on, off)
        ],  # fmt: skip
        "close_run_s_median": round(median([r["close_run_s"] for r in on]), 3),
        "steps": steps,
        "dbt_steps_delta_s": {
            p: round(sum(s[p]["delta_s"] for s in steps.values() if s["dbt"]), 2)
            for p in ("total", "head", "body", "tail")
        },
        "other_steps_delta_s": round(sum(s["total"]["delta_s"] for s in steps.values() if not s["dbt"]), 2),
        "emit_cost": emit,
        "dbt_ol_wrapper": {
            **wrapper,
            "dbt_steps": sum(1 for s in steps.values() if s["dbt"]),
            "invocations_per_run": 2 * sum(1 for s in steps.values() if s["dbt"]),
        },
        "services_cpu_s_median": {
            side: {
                k: median([r["services_cpu_s"][k] for r in runs[side] if r["services_cpu_s"][k] is not None] or [0])
                for k in ("delivery_loop", "marquez")
            }
            for side in SIDES
        },
        "latency_s": {
            "events": len(lat),
            "p50": round(percentile(lat, 0.5), 3) if lat else None,
            "p95": round(percentile(lat, 0.95), 3) if lat else None,
            "max": round(max(lat), 3) if lat else None,
            "mean": round(statistics.fmean(lat), 3) if lat else None,
        },
        "events_per_run": events_per_run,
        "events_from_dbt_ol_per_run": [r["events_from_dbt_ol"] for r in on],
        "events_by_status": statuses,
        "all_delivered": all(r["still_owed"] == 0 and set(r["events_by_status"]) == {"delivered"} for r in on),
        "off_runs_emitted": [r["events"] for r in off],
        "marquez_after": {
            "namespaces": in_marquez,
            "applied_after_s": None if applied_s is None else round(applied_s, 2),
        },
        "delivery_loop_alive_at_end": loop_alive,
        "runs": runs,
    }


def _namespaces(counts: dict) -> str:
    return ", ".join(f"`{ns}` {c.get('jobs')} jobs / {c.get('datasets')} datasets" for ns, c in counts.items())


def _run_rows(report: dict) -> list[str]:
    rows = []
    for i in range(report["repeats"]):
        for side in SIDES if i % 2 == 0 else SIDES[::-1]:
            r = report["runs"][side][i]
            b, a = r.get("load_before", {}), r.get("load_after", {})
            rows.append(f"| {i + 1} | {side} | {r['wall_s']} | {b.get('loadavg_1_5_15', ['?'])[0]} / "
                        f"{a.get('loadavg_1_5_15', ['?'])[0]} | {b.get('pytest_processes', '?')} / "
                        f"{a.get('pytest_processes', '?')} |")  # fmt: skip
    return rows


def render(report: dict) -> list[str]:
    m, w, lat = report["machine"], report["wall_s"], report["latency_s"]
    wr, cpu = report["dbt_ol_wrapper"], report["services_cpu_s_median"]
    load = report["load_at_start"]
    ok = lambda good: "yes" if good else "**no**"  # noqa: E731
    lines = [
        "# Lineage overhead: the pipeline with lineage on vs off",
        "",
        f"{report['date']}, {m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB; {report['raw_rows']:,} raw rows; "
        f"median of {report['repeats']} runs each side, alternating; a built-in Marquez and the delivery loop "
        f"running throughout. Load average at start {load['loadavg_1_5_15']} ({load['pytest_processes']} pytest "
        f"processes running).",
        "",
        "| | lineage on | lineage off | ratio on/off | goal |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| `dagster asset materialize --select '*'`, median s | {w['on']['median']} | {w['off']['median']} | "
        f"{report['ratio_on_over_off']} | <= {report['goals']['ratio']} ({ok(report['ratio_on_over_off'] <= report['goals']['ratio'])}) |",
        f"| runs, min - max s (spread) | {w['on']['min']} - {w['on']['max']} ({w['on']['spread_pct']}%) | "
        f"{w['off']['min']} - {w['off']['max']} ({w['off']['spread_pct']}%) | | |",
        f"| on - off per repeat (same pair of runs), s | {report['paired_delta_s']} | | median "
        f"{report['paired_delta_median_s']:+.2f} s = {100 * report['paired_delta_median_s'] / w['off']['median']:+.1f}% | |",
        f"| peak RSS MiB (max) | {max(r['peak_rss_mib'] for r in report['runs']['on'])} | "
        f"{max(r['peak_rss_mib'] for r in report['runs']['off'])} | | |",
        "",
        "Runs in the order they ran (load average 1 min before / after; pytest processes seen before / after):",
        "",
        "| run | lineage | wall s | load before / after | pytest before / after |",
        "| ---: | --- | ---: | --- | --- |",
        *_run_rows(report),
        "",
        f"Closing the Dagster run (`close_run`, after the command): {report['close_run_s_median']} s median, not in the ratio.",
        "",
        "| delivery latency, emission -> Marquez acknowledged | events | p50 s | p95 s | max s | goal |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| `delivered_at - created_at`, every event of the lineage-on runs | {lat['events']} | {lat['p50']} | "
        f"{lat['p95']} | {lat['max']} | p95 <= {report['goals']['latency_p95_s']} "
        f"({ok(lat['p95'] is not None and lat['p95'] <= report['goals']['latency_p95_s'])}) |",
        "",
        f"Events per lineage-on run: {report['events_per_run']} (from dbt-ol: {report['events_from_dbt_ol_per_run']}); "
        f"by status over all runs: {report['events_by_status']}; all delivered: {ok(report['all_delivered'])}. "
        f"Lineage-off runs emitted {report['off_runs_emitted']} events. "
        f"In Marquez afterwards: {_namespaces(report['marquez_after']['namespaces'])}.",
        "",
        "Where the difference goes: median step durations from the runs' Dagster event logs (on / off, s); "
        "head = step start to its first materialization (for dbt: `dbt --version`, dbt's start-up, the first "
        "node), tail = its last materialization to the step's end (for dbt: after dbt's last node, including "
        "dbt-ol reading the artifacts and emitting), body = the rest.",
        "",
        "| step | total on / off | on - off | head on - off | body on - off | tail on - off |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for key, s in sorted(report["steps"].items(), key=lambda kv: -abs(kv[1]["total"]["delta_s"])):
        t = s["total"]
        lines.append(f"| `{key}` | {t['on_median_s']} / {t['off_median_s']} | {t['delta_s']:+.2f} | "
                     f"{s['head']['delta_s']:+.2f} | {s['body']['delta_s']:+.2f} | {s['tail']['delta_s']:+.2f} |")  # fmt: skip
    d = report["dbt_steps_delta_s"]
    lines += [
        "",
        f"dbt steps together {d['total']:+.2f} s (head {d['head']:+.2f}, body {d['body']:+.2f}, tail {d['tail']:+.2f}; "
        f"the dbt heads, on - off per repeat: {report['paired_dbt_head_delta_s']} s), "
        f"the other steps {report['other_steps_delta_s']:+.2f} s. "
        f"dagster-dbt starts the dbt executable twice per dbt step (`--version`, then the build): "
        f"{wr['invocations_per_run']} dbt-ol wrapper starts per run at {wr['wrapper_s']} s each "
        f"(`dbt-ol --version` {wr['dbt_ol_version_s']} s vs `dbt --version` {wr['dbt_version_s']} s) = "
        f"{wr['invocations_per_run'] * wr['wrapper_s']:.1f} s, "
        f"{100 * wr['invocations_per_run'] * wr['wrapper_s'] / w['off']['median']:.1f}% of the lineage-off median. "
        f"One `lineage.events.emit` (client from the config + one durable outbox append) costs "
        f"{report['emit_cost']['ms_per_emit']} ms on its own: "
        f"{report['emit_cost']['ms_per_emit'] * median(report['events_per_run']) / 1000:.2f} s for a run's events.",
        "",
        f"CPU of the delivery loop / Marquez server during a run (median s): lineage on "
        f"{cpu['on']['delivery_loop']:.2f} / {cpu['on']['marquez']:.2f}, lineage off "
        f"{cpu['off']['delivery_loop']:.2f} / {cpu['off']['marquez']:.2f}.",
    ]
    return lines


if __name__ == "__main__":
    typer.run(main)

"""Benchmark: cost grows with new data, not with history.

1. One new day with 60 days of history vs one new day with 1 day of history
   (goal: ratio <= 1.2). The timed run is `dagster asset materialize --select '*'
   --partition <day>`; reruns of a day are idempotent, so every repeat starts from the
   same state.
2. A 30-day backfill (`--partition-range`, one run thanks to the single-run backfill
   policy, replacing 30 days on a lakehouse that already holds them: the incremental path)
   vs one full-refresh run of the same 30 days (an empty DuckDB file: every model built
   from scratch) (goal: ratio <= 1.5).

    python -m bench.partitions_incremental [--repeats 3]

Results: bench/results/partitions_incremental.{json,md}.
"""

import datetime as dt
import json
import os
import shutil
import sys
from pathlib import Path

import typer

from bench.measure import machine, median, run_measured

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
GENERATOR = dict(seed=5, sites=("LON", "BOS", "SGP"), reactors_per_site=2, batches_per_reactor=9999,
                 sample_interval_s=60, start_date="2025-01-01")  # fmt: skip


def main(repeats: int = typer.Option(3), pg_port: int = typer.Option(5434)) -> None:
    bench = REPO / "data" / "bench" / "partitions"
    bench.mkdir(parents=True, exist_ok=True)
    os.environ.update({"LAKEHOUSE_DATA_DIR": str(bench.parent), "LAKEHOUSE_PG_PORT": str(pg_port)})
    os.environ.pop("LAKEHOUSE_PG_URL", None)
    from lakehouse_core.settings import get_settings
    from orchestration.datagen import generate_bioreactor_data
    from orchestration.ingest.lake_scan import lake_days
    from orchestration.services.dagster_dev import prepare_dagster_home
    from orchestration.services.postgres import ensure_postgres

    ensure_postgres(get_settings())
    prepare_dagster_home(get_settings())
    dagster = str(Path(sys.executable).parent / "dagster")

    def env(name: str) -> dict[str, str]:
        return {**os.environ, "LAKEHOUSE_RAW_DIR": str(bench / f"raw_{name}"),
                "LAKEHOUSE_DUCKDB_PATH": str(bench / f"{name}.duckdb")}  # fmt: skip

    def materialize(name: str, partition: str, log: str):
        flag = "--partition-range" if "..." in partition else "--partition"
        cmd = [dagster, "asset", "materialize", "-m", "orchestration.definitions", "--select", "*", flag, partition]
        return run_measured(cmd, env(name), str(REPO), str(bench / f"{log}.log"))

    def lake(name: str, days: int) -> list[str]:
        raw = bench / f"raw_{name}"
        if not raw.exists():
            generate_bioreactor_data(raw, days=days, progress=True, **GENERATOR)
        return lake_days(raw)

    # 1. new day after 60 days vs after 1 day
    long_days, short_days = lake("h60", 61), lake("h1", 2)
    materialize("h60", f"{long_days[0]}...{long_days[59]}", "h60_setup")
    materialize("h1", short_days[0], "h1_setup")
    runs = {"h60": [], "h1": []}
    for i in range(repeats):
        runs["h60"].append(materialize("h60", long_days[60], f"h60_{i}"))
        runs["h1"].append(materialize("h1", short_days[1], f"h1_{i}"))
        print(
            f"run {i + 1}: 60-day history {runs['h60'][-1].wall_s:.1f} s, 1-day history {runs['h1'][-1].wall_s:.1f} s"
        )

    # 2. 30-day backfill (incremental path) vs full refresh from an empty lakehouse
    days30 = lake("d30", 30)
    window = f"{days30[0]}...{days30[-1]}"
    backfill, full = [], []
    materialize("d30", window, "d30_setup")
    for i in range(repeats):
        backfill.append(materialize("d30", window, f"backfill_{i}"))
        fresh = bench / "d30.duckdb"
        shutil.copy(fresh, bench / "d30.keep.duckdb")
        fresh.unlink()
        full.append(materialize("d30", window, f"full_{i}"))
        print(f"run {i + 1}: backfill {backfill[-1].wall_s:.1f} s, full refresh {full[-1].wall_s:.1f} s")
        (bench / "d30.keep.duckdb").unlink()

    h60, h1 = median([m.wall_s for m in runs["h60"]]), median([m.wall_s for m in runs["h1"]])
    b, f = median([m.wall_s for m in backfill]), median([m.wall_s for m in full])
    report = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "repeats": repeats,
        "new_day": {
            "history_60_days_s": [round(m.wall_s, 2) for m in runs["h60"]],
            "history_1_day_s": [round(m.wall_s, 2) for m in runs["h1"]],
            "median_60_s": round(h60, 2), "median_1_s": round(h1, 2), "ratio": round(h60 / h1, 3),
            "peak_rss_mib_60": round(max(m.peak_rss_bytes for m in runs["h60"]) / 2**20),
        },
        "backfill_30_days": {
            "backfill_s": [round(m.wall_s, 2) for m in backfill],
            "full_refresh_s": [round(m.wall_s, 2) for m in full],
            "median_backfill_s": round(b, 2), "median_full_refresh_s": round(f, 2), "ratio": round(b / f, 3),
        },
    }  # fmt: skip
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "partitions_incremental.json").write_text(json.dumps(report, indent=2) + "\n")
    m = report["machine"]
    lines = [
        "# Partitions: cost grows with new data, not with history",
        "",
        f"{report['date']}, {m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB; median of {repeats} runs.",
        "",
        "| comparison | median s | against | median s | ratio | goal |",
        "| --- | ---: | --- | ---: | ---: | ---: |",
        f"| one new day, 60 days of history | {h60:.1f} | one new day, 1 day of history | {h1:.1f} | {h60 / h1:.3f} | <= 1.2 |",
        f"| 30-day backfill (one run) | {b:.1f} | full refresh of the 30 days | {f:.1f} | {b / f:.3f} | <= 1.5 |",
    ]
    (RESULTS / "partitions_incremental.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    typer.run(main)

"""One daily partition without an orchestrator: the work a Dagster daily run does, done by hand.

What a user without Dagster runs for a new day, with lineage on (dbt through dbt-ol, events into
the outbox): validate, quarantine and register the day's raw files (`ingest_window`, which the raw
asset calls too),
the same three dbt commands the Dagster steps run, with the same window, and the publish to
Postgres in between. Timed by bench/daily_run.py against `dagster asset materialize`.

    python -m bench.daily_direct DAY TARGET_DIR

Prints one JSON line: the seconds each part took.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from lakehouse_core.settings import DBT_PROJECT_DIR, REPO_ROOT, get_settings
from orchestration.ingest.window import ingest_window
from orchestration.publish.postgres import publish_tables
from orchestration.services.postgres import ensure_postgres

# What the publish asset copies (orchestration/defs/publish.py; not imported: that pulls in Dagster,
# which a user without an orchestrator does not start).
CURATED_SCHEMA, CURATED_TABLES = "curated", ("dim_batch", "fact_bioreactor_batch_stats")
# The selections of the three dbt steps (orchestration/defs/dbt_models.py).
DBT_COMMANDS = [
    ("duckdb", ["tag:stg"]),
    ("duckdb", ["tag:int", "tag:curated"]),
    ("postgres", ["tag:mart"]),
]


def dbt_env(day: str) -> dict[str, str]:
    start = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
    bin_dir = str(Path(sys.executable).parent)  # an activated venv: dbt-ol starts `dbt` from PATH
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        **get_settings().dbt_env(),
        "LAKEHOUSE_WINDOW_START": start.isoformat(),
        "LAKEHOUSE_WINDOW_END": (start + dt.timedelta(days=1)).isoformat(),
        # As dagster-dbt starts dbt (the project's dbt_project.yml says the same).
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # dbt-ol as the Dagster steps run it (lineage/events.py dbt_ol_env), minus the parent run.
        "OPENLINEAGE_CONFIG": os.environ.get("OPENLINEAGE_CONFIG") or str(REPO_ROOT / "openlineage.yml"),
        "OPENLINEAGE_DBT_JOB_NAME": "dbt-run-bioreactor",
        "OPENLINEAGE_NAMESPACE": "lakehouse",
        "OPENLINEAGE_DBT_LOGGING": "WARNING",
    }


def target_dir(root: Path, target: str) -> Path:
    """A user's own dbt target folder per target, kept between runs (partial parsing)."""
    path = root / target
    if not path.exists():
        path.mkdir(parents=True)
        cache = DBT_PROJECT_DIR / "target" / target / "partial_parse.msgpack"  # orchestration/dbt_projects.py
        if cache.exists():
            shutil.copy2(cache, path / cache.name)
    return path


def main(day: str, targets: str) -> None:
    settings = get_settings()
    timings: dict[str, float] = {}
    start = time.perf_counter()
    intake = ingest_window(settings, [day])
    if not (intake.files_valid and intake.rows_add_up):
        raise SystemExit(f"the raw files of {day} did not pass their checks")
    timings["raw"] = time.perf_counter() - start
    env = dbt_env(day)
    dbt_ol = str(Path(sys.executable).parent / "dbt-ol")
    for i, (target, select) in enumerate(DBT_COMMANDS):
        if target == "postgres":
            t = time.perf_counter()
            publish_tables(settings.duckdb_path, ensure_postgres(settings).url, CURATED_SCHEMA, list(CURATED_TABLES))
            timings["publish"] = time.perf_counter() - t
        command = [dbt_ol, "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
                   "--target", target, "--target-path", str(target_dir(Path(targets), target)), "--select", *select]  # fmt: skip
        t = time.perf_counter()
        subprocess.run(command, env=env, cwd=DBT_PROJECT_DIR, check=True, stdout=subprocess.DEVNULL)
        timings[f"dbt_{i + 1}_{target}_{'+'.join(s.removeprefix('tag:') for s in select)}"] = time.perf_counter() - t
    timings["total_in_process"] = time.perf_counter() - start
    print(json.dumps({k: round(v, 3) for k, v in timings.items()}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""One `lineage diff`, as the CLI and the Dagster check run it: load the code location, read the
Dagster instance's last materializations when there is an instance, read Marquez, compare, and
keep the report as the last one (store.py)."""

from __future__ import annotations

import datetime as dt
import gc
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from lakehouse_core.marquez import MarquezTarget, resolve
from lakehouse_core.settings import get_settings
from lineage.diff import (
    ConfigurationError,
    DiffReport,
    MarquezReader,
    diff,
    expected_graph,
    load_definitions,
    open_run_threshold,
)
from lineage.diff.expected import import_location
from lineage.diff.materializations import dagster_runs, last_materializations
from lineage.diff.store import save_last
from lineage.diff.tables import read_real_tables

DEFAULT_LOCATION = "orchestration.definitions"


@dataclass
class DiffRun:
    report: DiffReport
    target: MarquezTarget
    saved_to: Path | None


def marquez_target(url: str | None = None) -> MarquezTarget:
    """`url`, else MARQUEZ_URL, else the built-in server. Raises ConfigurationError on a bad URL."""
    try:
        return resolve(url)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def dagster_instance(home: str | None):
    """The Dagster instance at `home`, else DAGSTER_HOME, else the project's (data/dagster_home,
    where `lakehouse up` keeps it); (None, why) when there is none."""
    from dagster import DagsterInstance

    home = home or str(get_settings().dagster_home)
    if not Path(home).is_dir():
        why = "stale lineage not checked, open runs only past the threshold (set DAGSTER_HOME)"
        return None, f"no Dagster instance at {home}: {why}"
    try:
        return DagsterInstance.from_config(home), f"Dagster instance {home}"
    except Exception as exc:  # a broken dagster.yaml, or its storage down: the user's to fix
        raise ConfigurationError(
            f"cannot open the Dagster instance at {home}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}; "
            "start its storage (`lakehouse up`) or pass --no-instance"
        ) from exc


def run_diff(
    module: str = DEFAULT_LOCATION,
    url: str | None = None,
    *,
    use_instance: bool = True,
    instance=None,
    read_tables: bool = True,
    dagster_home: str | None = None,
    save: bool = True,
    report_path: Path | None = None,
) -> DiffRun:
    """`instance`: an open Dagster instance to read (inside Dagster); else, with `use_instance`,
    the one at `dagster_home` / DAGSTER_HOME. Raises ConfigurationError, MarquezUnreachable or
    MarquezFailed (the CLI's exit 2)."""
    with _collector_paused():
        return _run_diff(module, url, use_instance, instance, read_tables, dagster_home, save, report_path)


@contextmanager
def _collector_paused():
    """Building the asset graph of thousands of assets and reading their lineage allocates
    millions of objects with hardly a reference cycle; the cyclic collector's repeated passes
    over them cost as much as the diff (about 2x at 10,000 assets). Reference counting still
    frees everything. Afterwards the survivors are frozen (left out of later collections, and
    of the ones at interpreter exit, which took seconds) and the collector resumes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def _run_diff(module, url, use_instance, instance, read_tables, dagster_home, save, report_path) -> DiffRun:
    clock = _Clock()
    target = marquez_target(url)
    location = import_location(module)
    expected = expected_graph(
        load_definitions(location),
        dataset_of=getattr(location, "lineage_dataset_of", None),
        external_inputs_of=getattr(location, "lineage_external_inputs", None),
        location=module,
    )
    if expected.problems:
        listed = "\n".join(f"  - {p}" for p in expected.problems)
        raise ConfigurationError(f"{len(expected.problems)} problem(s) mapping {module} to lineage:\n{listed}")
    clock.lap("location")
    note = "stale lineage not checked, open runs only past the threshold (--no-instance)"
    open_run_after = open_run_threshold()
    since = dt.datetime.now(dt.UTC) - open_run_after
    if instance is not None:
        expected.materialized = last_materializations(instance, expected.assets)
        expected.dagster_runs = dagster_runs(instance, since)
        note = "Dagster instance of the running code location"
    elif use_instance:
        instance, note = dagster_instance(dagster_home)
        if instance is not None:
            try:
                with instance:
                    expected.materialized = last_materializations(instance, expected.assets)
                    expected.dagster_runs = dagster_runs(instance, since)
            except Exception as exc:  # its storage (the project's Postgres) is down or unreadable
                raise ConfigurationError(
                    f"cannot read the Dagster instance ({note}): {type(exc).__name__}: {str(exc).splitlines()[0][:300]}; "
                    "start its storage (`lakehouse up`) or pass --no-instance"
                ) from exc
    clock.lap("dagster_instance")
    if read_tables:
        expected.tables = read_real_tables(a.dataset for a in expected.assets.values())
    clock.lap("tables")
    report = diff(expected, MarquezReader(target.url, api_key=target.api_key), open_run_after=open_run_after)
    clock.lap("marquez_and_compare")
    report.notes.append(note)
    if expected.tables is not None:
        report.notes.extend(expected.tables.notes)
    else:
        report.notes.append("real tables not read (--no-tables)")
    saved = save_last(report, report_path) if save else None
    clock.lap("save")
    report.timings = clock.laps
    return DiffRun(report, target, saved)


class _Clock:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now

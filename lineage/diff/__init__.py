"""`lineage diff`: reconcile a Dagster code location's asset graph with what Marquez holds.

    expected = expected_graph(load_definitions("orchestration.definitions"))   # expected.py
    expected.materialized = last_materializations(instance, expected.assets)   # materializations.py
    expected.tables = read_real_tables(datasets)                                # tables.py
    report = diff(expected, MarquezReader(url))                                 # observed.py, drift.py
    render_json(report), render_html(report)                                    # report.py, html.py

`run.py` does all of it as the CLI (`command.py`) and the Dagster check
(`orchestration/defs/lineage_diff.py`) run it; `store.py` keeps the last report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from lineage.diff.drift import SEVERITIES, Drift, compare
from lineage.diff.expected import ConfigurationError, ExpectedGraph, expected_graph, load_definitions
from lineage.diff.observed import MarquezFailed, MarquezReader, MarquezUnreachable, ObservedGraph

__all__ = [
    "ConfigurationError",
    "DiffReport",
    "Drift",
    "MarquezFailed",
    "MarquezReader",
    "MarquezUnreachable",
    "diff",
    "expected_graph",
    "load_definitions",
]


@dataclass
class DiffReport:
    marquez: str
    expected: ExpectedGraph
    observed: ObservedGraph
    drifts: list[Drift] = field(default_factory=list)
    http_calls: int = 0
    notes: list[str] = field(default_factory=list)  # what was not checked, and why
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase (lineage/diff/run.py)
    generated_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def at_least(self, level: str) -> list[Drift]:
        return [d for d in self.drifts if d.at_least(level)]

    def summary(self) -> dict:
        by_severity = {s: sum(d.severity == s for d in self.drifts) for s in SEVERITIES}
        by_kind: dict[str, int] = {}
        for d in self.drifts:
            by_kind[d.kind] = by_kind.get(d.kind, 0) + 1
        return {
            "location": self.expected.location,
            "job_namespace": self.expected.job_namespace,
            "dataset_namespaces": sorted(self.expected.dataset_namespaces()),
            "assets": len(self.expected.assets),
            "datasets_observed": len(self.observed.datasets),
            "jobs_observed": len(self.observed.jobs),
            "drifts": len(self.drifts),
            "by_severity": by_severity,
            "by_kind": dict(sorted(by_kind.items())),
            "http_calls": self.http_calls,
            "stale_lineage_checked": self.expected.materialized is not None,
            "tables_checked": len(self.expected.tables.columns) if self.expected.tables is not None else 0,
            "notes": list(self.notes),
            "timings_s": dict(self.timings),
        }


def diff(
    expected: ExpectedGraph,
    reader: MarquezReader,
    *,
    open_run_after: dt.timedelta | None = None,
    now: dt.datetime | None = None,
) -> DiffReport:
    """Read what Marquez holds for the expected graph's namespaces and compare. Raises
    MarquezUnreachable / MarquezFailed when Marquez cannot be read. `open_run_after`: default
    LINEAGE_DIFF_OPEN_RUN_HOURS."""
    if open_run_after is None:
        open_run_after = open_run_threshold()
    namespaces = expected.dataset_namespaces()
    observed = reader.read(expected.job_namespace, namespaces)
    absent = [a.dataset for a in expected.assets.values() if a.dataset not in observed.datasets]
    # Only when something is missing: look for it under other namespaces of the same scheme.
    elsewhere = reader.find_elsewhere(absent, exclude=namespaces) if absent else {}
    drifts = compare(expected, observed, elsewhere, open_run_after=open_run_after, now=now)
    return DiffReport(reader.url, expected, observed, drifts, reader.calls)


def open_run_threshold() -> dt.timedelta:
    """How long a run may stay open in Marquez with no Dagster run to compare (LINEAGE_DIFF_OPEN_RUN_HOURS)."""
    from lakehouse_core.settings import get_settings

    return dt.timedelta(hours=get_settings().diff_open_run_hours)

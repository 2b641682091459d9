"""The drift kinds, declared once: name, severity, label, colour and when each fires.

Everything that shows a drift kind reads this registry: `drift.py` (the constants and the order
drifts are sorted in), the terminal and Markdown tables (`report.py`), the HTML page (`html.py`),
the JSON report (its top-level `kinds`, which the lineage UI draws its labels, colours and
severities from) and the README's drift table (a test checks it lists exactly these kinds).

Adding a kind: one `DriftKind(...)` below, and the code in `drift.py` that finds it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

SEVERITIES = ("info", "warning", "error")


@dataclass(frozen=True)
class DriftKind:
    name: str  # the kind as the JSON report writes it (`missing_dataset`)
    severity: str  # info | warning | error: every drift of this kind has it
    label: str  # short, for people (`missing dataset`)
    color: str  # CSS colour of the kind in the UI and the HTML page
    when: str  # one line: when it fires

    def as_dict(self) -> dict:
        return asdict(self)


# In this order in every table and legend; drifts are sorted by severity first, then by it.
KINDS: tuple[DriftKind, ...] = (
    DriftKind(
        "missing_dataset", "error", "missing dataset", "#c4271d",
        "an asset's dataset is not in Marquez (never emitted, or soft-deleted)",
    ),
    DriftKind(
        "namespace_mismatch", "error", "namespace mismatch", "#1971c2",
        "an asset's dataset is not in Marquez under its namespace but is there under another namespace of the "
        "same scheme (`localhost` vs `127.0.0.1`); on a job: one of our jobs writes a dataset in such a "
        "look-alike namespace (even when the right dataset exists too)",
    ),
    DriftKind(
        "orphan_dataset", "warning", "orphan dataset", "#d9480f",
        "a dataset in one of our namespaces that no asset owns (a renamed asset, a stray event)",
    ),
    DriftKind(
        "orphan_job", "warning", "orphan job", "#5c940d",
        "a job in our job namespace that no asset owns (not `dagster`, an asset's `dagster.asset.<key>`, a dbt "
        "project's wrapper or a node job of a model, snapshot or test in the current dbt manifests): a retired or "
        "renamed asset's job still reading our tables",
    ),
    DriftKind(
        "missing_edge", "error", "missing edge", "#c2255c",
        "an expected upstream dataset is not an input of the producing job's current version (or the job does "
        "not write the dataset)",
    ),
    DriftKind(
        "unexpected_edge", "warning", "unexpected edge", "#9c36b5",
        "the producing job reads a dataset the asset does not depend on",
    ),
    DriftKind(
        "schema_drift", "warning", "schema drift", "#e8a400",
        "Marquez's fields differ from the declared columns (added, removed, retyped; dbt's documented columns "
        "are a lower bound) or from the real table's columns",
    ),
    DriftKind(
        "status_mismatch", "error", "status mismatch", "#e03131",
        "the producing job's latest run FAILED/ABORTED, or it never COMPLETED (or has no run at all)",
    ),
    DriftKind(
        "open_run", "warning", "open run", "#0c8599",
        "a run of one of our jobs is still RUNNING/NEW in Marquez although its Dagster run has ended (its end "
        "event was lost), or, with no Dagster run to compare, it has been open longer than "
        "LINEAGE_DIFF_OPEN_RUN_HOURS (default 6)",
    ),
    DriftKind(
        "stale_lineage", "error", "stale lineage", "#868e96",
        "Dagster materialized the asset in a run that started after the latest run Marquez holds for its job "
        "(that run's events were lost, or still wait in the outbox: `lineage status`); needs the Dagster instance",
    ),
)  # fmt: skip

BY_NAME: dict[str, DriftKind] = {k.name: k for k in KINDS}
ORDER: dict[str, int] = {k.name: i for i, k in enumerate(KINDS)}

assert len(BY_NAME) == len(KINDS), "drift kind names must be unique"
assert all(k.severity in SEVERITIES for k in KINDS), "a drift kind's severity must be one of SEVERITIES"


def kind(name: str) -> DriftKind:
    """The registered kind of that name; a name no kind has gets a neutral stand-in (a report
    written by a newer version read by an older one)."""
    return BY_NAME.get(name) or DriftKind(name, "warning", name.replace("_", " "), "#6b7a89", "")


def as_json() -> list[dict]:
    """The registry as the JSON report carries it (`kinds`), in registry order."""
    return [k.as_dict() for k in KINDS]

"""Drift: where the expected graph (Dagster, through the naming authority) and the observed graph
(Marquez) disagree. One cause gives one drift: a dataset reported missing or in the wrong
namespace is not reported again through its edges (nor on the job writing it there), an orphan
dataset is not reported again as an unexpected input of the job still reading it nor as an
orphan job when that job writes it, a look-alike output reported on its job is not reported
again as a missing edge, and a job with a status mismatch is not reported again for its open
runs.

The kinds, their severities and when each fires: `lineage/diff/kinds.py` (the one declaration).

Subjects are Marquez node ids: `dataset:<namespace>:<name>` or `job:<namespace>:<name>`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from lineage.diff.expected import ExpectedAsset, ExpectedGraph
from lineage.diff.kinds import BY_NAME, ORDER, SEVERITIES
from lineage.diff.kinds import KINDS as DRIFT_KINDS
from lineage.diff.materializations import DagsterRuns
from lineage.diff.observed import ObservedDataset, ObservedGraph, ObservedJob, scheme
from lineage.naming import DatasetId

# The names the code below finds, each declared (severity, label, colour, when) in kinds.py.
MISSING_DATASET = "missing_dataset"
ORPHAN_DATASET = "orphan_dataset"
MISSING_EDGE = "missing_edge"
UNEXPECTED_EDGE = "unexpected_edge"
SCHEMA_DRIFT = "schema_drift"
STATUS_MISMATCH = "status_mismatch"
NAMESPACE_MISMATCH = "namespace_mismatch"
STALE_LINEAGE = "stale_lineage"
ORPHAN_JOB = "orphan_job"
OPEN_RUN = "open_run"
KINDS = tuple(k.name for k in DRIFT_KINDS)  # registry order; `_drift` refuses a kind not registered there
# Rounding allowed between the Dagster run's start and its events' times: one machine's clock,
# but some producers write event times with millisecond precision.
_SKEW = dt.timedelta(milliseconds=50)

_BAD_STATES = ("FAILED", "ABORTED")
OPEN_RUN_AFTER = dt.timedelta(hours=6)  # the default of LINEAGE_DIFF_OPEN_RUN_HOURS
_LISTED = 3  # open runs named in one drift's message


@dataclass(frozen=True, order=True)
class Node:
    """A node of Marquez's lineage graph: what a drift is about."""

    type: str  # dataset | job
    namespace: str
    name: str

    @property
    def id(self) -> str:
        """Marquez's node id, as `/api/v1/lineage` writes it: `dataset:<ns>:<name>`, `job:<ns>:<name>`."""
        return f"{self.type}:{self.namespace}:{self.name}"

    def __str__(self) -> str:
        return self.id


@dataclass(frozen=True)
class Drift:
    kind: str
    severity: str  # info | warning | error
    node: Node
    message: str
    suggested_fix: str
    asset: str | None = None  # the Dagster asset concerned, when there is one

    @property
    def dataset_or_job(self) -> str:
        return self.node.id

    def at_least(self, level: str) -> bool:
        return SEVERITIES.index(self.severity) >= SEVERITIES.index(level)

    def as_dict(self) -> dict:
        return asdict(self)


def _drift(kind: str, node: Node, message: str, suggested_fix: str, asset: str | None = None) -> Drift:
    """A drift of a registered kind, with the kind's severity."""
    return Drift(kind, BY_NAME[kind].severity, node, message, suggested_fix, asset)


def dataset_node(d: DatasetId) -> Node:
    return Node("dataset", d.namespace, d.name)


def job_node(namespace: str, name: str) -> Node:
    return Node("job", namespace, name)


def compare(
    expected: ExpectedGraph,
    observed: ObservedGraph,
    elsewhere: dict[DatasetId, list[ObservedDataset]] | None = None,
    *,
    open_run_after: dt.timedelta = OPEN_RUN_AFTER,
    now: dt.datetime | None = None,
) -> list[Drift]:
    """All drift between the two graphs, errors first, then by kind and subject. `open_run_after`:
    how long a run may stay open in Marquez when there is no Dagster run to compare it with."""
    elsewhere = elsewhere or {}
    now = now or dt.datetime.now(dt.UTC)
    drifts: list[Drift] = []
    expected_by_ds = expected.by_dataset()
    found: dict[DatasetId, ObservedDataset] = {}  # expected dataset -> what Marquez holds for it
    alias: dict[DatasetId, DatasetId] = {}  # observed id in another namespace -> expected id
    missing: set[DatasetId] = set()

    for ds, asset in expected_by_ds.items():
        if ds in observed.datasets:
            found[ds] = observed.datasets[ds]
            continue
        others = [o for o in elsewhere.get(ds, []) if o.id.namespace != ds.namespace]
        if others:
            where = ", ".join(sorted(o.id.namespace for o in others))
            drifts.append(_drift(
                NAMESPACE_MISMATCH, dataset_node(ds),
                f"asset {asset.key}: Marquez has {ds.name} under {where}, not under {ds.namespace}",
                f"make the emitting side and the configuration use one host/path string ({ds.namespace} is what the "
                "naming authority gives), re-run the asset, then delete the copy in the other namespace",
                asset.key,
            ))  # fmt: skip
            for other in others:
                alias[other.id] = ds
            found[ds] = others[0]
            continue
        missing.add(ds)
        drifts.append(_drift(
            MISSING_DATASET, dataset_node(ds),
            f"asset {asset.key}: dataset {ds.name} is not in Marquez namespace {ds.namespace}",
            f"materialize {asset.key} with lineage on (or `lineage replay` if its events wait in the outbox)",
            asset.key,
        ))  # fmt: skip

    # Orphans: datasets in our namespaces no asset owns and no asset reads from outside.
    readers: dict[DatasetId, list[str]] = {}
    for job in observed.jobs.values():
        for ds in job.inputs | job.outputs:
            readers.setdefault(ds, []).append(job.name)
    orphans: set[DatasetId] = set()
    for ds in observed.datasets:
        if ds in expected_by_ds or ds in expected.external or ds in alias:
            continue
        orphans.add(ds)
        jobs = sorted(readers.get(ds, []))
        used = f"; jobs that read or write it: {', '.join(jobs)}" if jobs else ""
        drifts.append(_drift(
            ORPHAN_DATASET, dataset_node(ds),
            f"dataset {ds.name} in {ds.namespace} belongs to no asset of {expected.location or 'the code location'}{used}",
            "if an asset was renamed or removed, delete the old dataset in Marquez "
            "(DELETE /api/v1/namespaces/{ns}/datasets/{name}); otherwise add the asset (a dbt model, or a dbt source naming its asset "
            "in meta.dagster.asset_key: lineage/naming.py reads the dbt manifests)",
        ))  # fmt: skip

    # Outputs of our jobs in a look-alike namespace that name one of our datasets: the job-level
    # namespace mismatch reports them, so the edge check counts them as that dataset.
    lookalike = _lookalike(expected)
    renamed = {
        d: ours
        for writer in observed.jobs.values()
        for d in writer.outputs
        if lookalike(d) and (ours := _same_name(expected_by_ds, d)) is not None
    }
    edge_alias = {**renamed, **alias}

    for asset in sorted(expected.assets.values(), key=lambda a: a.key):
        if asset.dataset in missing:
            continue
        observed_ds = found[asset.dataset]
        real = expected.tables.of(asset.dataset) if expected.tables is not None else None
        drifts.extend(_schema_drift(asset, observed_ds, real))
        if asset.job is None:
            continue
        producer = observed.jobs.get(asset.job)
        status = _status_drift(expected.job_namespace, asset, producer)
        drifts.extend(status)
        if producer is not None and not status and expected.materialized is not None:
            drifts.extend(_stale_drift(expected.job_namespace, asset, producer, expected.materialized.get(asset.key)))
        if producer is None or (status and not producer.inputs and not producer.outputs):
            continue  # nothing recorded to compare edges with: the status drift says why
        drifts.extend(_edge_drift(expected, asset, producer, edge_alias, missing, orphans))

    not_ended = {d.node.name for d in drifts if d.kind == STATUS_MISMATCH}
    drifts.extend(_job_drift(expected, observed, alias, orphans, not_ended, lookalike, open_run_after, now))

    drifts.sort(key=lambda d: (-SEVERITIES.index(d.severity), ORDER[d.kind], d.node.id))
    return drifts


def _lookalike(expected: ExpectedGraph):
    """Whether a dataset is in a look-alike namespace: not one of ours (nor one our external
    inputs live in) but of the same scheme as one of ours (`postgres://localhost:5433` beside
    `postgres://127.0.0.1:5433`)."""
    ours = expected.dataset_namespaces()
    known = ours | {d.namespace for d in expected.external}
    schemes = {scheme(n) for n in ours}
    return lambda d: d.namespace not in known and scheme(d.namespace) in schemes


def _same_name(expected_by_ds: dict[DatasetId, ExpectedAsset], d: DatasetId) -> DatasetId | None:
    for ours in expected_by_ds:
        if ours.name == d.name and scheme(ours.namespace) == scheme(d.namespace):
            return ours
    return None


def _job_drift(
    expected: ExpectedGraph,
    observed: ObservedGraph,
    alias: dict[DatasetId, DatasetId],
    orphans: set[DatasetId],
    not_ended: set[str],
    lookalike,
    open_run_after: dt.timedelta,
    now: dt.datetime,
) -> list[Drift]:
    """What is wrong with the jobs of our namespace themselves: orphan jobs, our jobs writing in
    a look-alike namespace, and our jobs' runs left open."""
    ns = expected.job_namespace
    run_parents = {run: ids for job in observed.jobs.values() for run, ids in job.run_parents.items()}
    asset_of = {a.job: a.key for a in expected.assets.values() if a.job}
    ours = expected.dataset_namespaces() | {d.namespace for d in expected.external}
    drifts: list[Drift] = []
    for job in sorted(observed.jobs.values(), key=lambda j: j.name):
        node = job_node(ns, job.name)
        if job.name not in expected.owned_jobs:
            if job.outputs & orphans:
                continue  # the orphan dataset it writes names it
            touched = sorted(d for d in job.inputs | job.outputs if d.namespace in ours)
            uses = f"; it reads or writes {', '.join(_label(d) for d in touched)}" if touched else ""
            drifts.append(_drift(
                ORPHAN_JOB, node,
                f"job {job.name} in {ns} belongs to no asset of {expected.location or 'the code location'} "
                f"(nor to a model or test of the dbt manifests){uses}",
                "if the asset was retired or renamed, stop whatever still runs its old job and delete it in Marquez "
                f"(DELETE /api/v1/namespaces/{ns}/jobs/{job.name}); otherwise add the asset (or rebuild the dbt manifest)",
            ))  # fmt: skip
            continue
        elsewhere = sorted(d for d in job.outputs if lookalike(d) and d not in alias)
        if elsewhere:
            drifts.append(_drift(
                NAMESPACE_MISMATCH, node,
                f"job {job.name} writes {', '.join(_label(d) for d in elsewhere)}: not one of our dataset namespaces "
                f"({', '.join(sorted(expected.dataset_namespaces()))}) but one of the same scheme",
                "make the emitting side and the configuration use one host/path string (the naming authority's), "
                "re-run the job, then delete the copy in the other namespace",
                asset_of.get(job.name),
            ))  # fmt: skip
        if job.name not in not_ended:  # a status mismatch already says its latest run did not end well
            drifts.extend(_open_run_drift(
                ns, job, expected.dagster_runs, run_parents, open_run_after, now, asset_of.get(job.name)
            ))  # fmt: skip
    return drifts


def _open_run_drift(
    ns: str,
    job: ObservedJob,
    dagster: DagsterRuns | None,
    run_parents: dict[str, frozenset[str]],
    open_run_after: dt.timedelta,
    now: dt.datetime,
    asset: str | None,
) -> list[Drift]:
    """One drift for a job's runs Marquez still holds open although their Dagster run has ended
    (or, with no Dagster run to compare, for longer than `open_run_after`). A run's Dagster run
    is found by its lineage run id among the run's own id, its parent's and root's, and theirs
    (a dbt node's parent is dbt-ol's wrapper run, whose parent is the Dagster run)."""
    found = []
    for run in job.open_runs:
        related = run.related_ids.union(*(run_parents.get(r, frozenset()) for r in run.related_ids))
        if dagster is not None:
            if any(r in dagster.live for r in related):
                continue  # its Dagster run is still going
            ended = next((dagster.ended[r] for r in sorted(related) if r in dagster.ended), None)
            if ended is not None:
                at = f" at {ended.ended:%Y-%m-%d %H:%M:%S}Z" if ended.ended else ""
                found.append(f"run {run.id} is {run.state} but its Dagster run {ended.run_id} ended {ended.status}{at}")
                continue
        if run.started_at is None or now - run.started_at <= open_run_after:
            continue
        hours = (now - run.started_at).total_seconds() / 3600
        why = "no Dagster run of it is running" if dagster is not None else "no Dagster instance was read to compare"
        found.append(
            f"run {run.id} has been {run.state} since {run.started_at:%Y-%m-%d %H:%M:%S}Z ({hours:.1f} h, over "
            f"{open_run_after.total_seconds() / 3600:g} h) and {why}"
        )
    if not found:
        return []
    more = f" (and {len(found) - _LISTED} more)" if len(found) > _LISTED else ""
    return [_drift(
        OPEN_RUN, job_node(ns, job.name),
        f"job {job.name}: {'; '.join(found[:_LISTED])}{more}",
        "`lineage status`, then `lineage replay` if the run's end event waits in the outbox; if it was lost, "
        "post the run's COMPLETE/FAIL (or ABORT) event to Marquez so the run is closed",
        asset,
    )]  # fmt: skip


def _status_drift(job_namespace: str, asset: ExpectedAsset, job: ObservedJob | None) -> list[Drift]:
    assert asset.job is not None  # assets without a job are skipped before
    subject = job_node(job_namespace, asset.job)
    if job is None:
        return [_drift(
            STATUS_MISMATCH, subject,
            f"asset {asset.key}: Marquez has no job {asset.job} (no run of it was ever received)",
            f"materialize {asset.key} with lineage on, or `lineage replay` if its events wait in the outbox",
            asset.key,
        )]  # fmt: skip
    if job.latest_state in _BAD_STATES:
        return [_drift(
            STATUS_MISMATCH, subject,
            f"asset {asset.key}: the latest run of {asset.job} in Marquez is {job.latest_state}",
            f"look at the failed run in Marquez and Dagster, fix it and re-materialize {asset.key}",
            asset.key,
        )]  # fmt: skip
    if job.latest_state != "COMPLETED" and "COMPLETED" not in job.recent_states:
        return [_drift(
            STATUS_MISMATCH, subject,
            f"asset {asset.key}: {asset.job} never COMPLETED in Marquez (latest run: {job.latest_state or 'none'})",
            "its COMPLETE event was lost or is still owed: `lineage status`, then `lineage replay`",
            asset.key,
        )]  # fmt: skip
    return []


def _stale_drift(job_namespace: str, asset: ExpectedAsset, job: ObservedJob, materialized) -> list[Drift]:
    if materialized is None or job.latest_run_at is None or job.latest_run_at >= materialized.run_started - _SKEW:
        return []
    assert asset.job is not None  # assets without a job are skipped before
    return [_drift(
        STALE_LINEAGE, job_node(job_namespace, asset.job),
        f"asset {asset.key}: Dagster materialized it at {materialized.at:%Y-%m-%d %H:%M:%S}Z in run {materialized.run_id}, "
        f"after the latest run of {asset.job} in Marquez ({job.latest_run_at:%Y-%m-%d %H:%M:%S}Z)",
        f"`lineage status`, then `lineage replay` if run {materialized.run_id[:8]}'s events wait in the outbox; "
        f"if they were lost (lineage off, outbox deleted), re-materialize {asset.key} with lineage on",
        asset.key,
    )]  # fmt: skip


def _edge_drift(
    expected: ExpectedGraph,
    asset: ExpectedAsset,
    job: ObservedJob,
    alias: dict[DatasetId, DatasetId],
    missing: set[DatasetId],
    orphans: set[DatasetId],
) -> list[Drift]:
    drifts = []
    subject = dataset_node(asset.dataset)
    inputs = {alias.get(d, d) for d in job.inputs}
    outputs = {alias.get(d, d) for d in job.outputs}
    if asset.dataset not in outputs:
        drifts.append(_drift(
            MISSING_EDGE, subject,
            f"asset {asset.key}: job {job.name} does not write {asset.dataset.name} in its current version",
            f"re-materialize {asset.key}; if it still happens, its events name another output (lineage/naming.py)",
            asset.key,
        ))  # fmt: skip
    for up in asset.upstream:
        if up in missing or up in inputs:
            continue
        drifts.append(_drift(
            MISSING_EDGE, subject,
            f"asset {asset.key}: {_label(up)} is not an input of job {job.name}",
            f"re-materialize {asset.key} with lineage on; if the edge is still absent, its events do not list that input",
            asset.key,
        ))  # fmt: skip
    wanted = set(asset.upstream)
    for extra in sorted(inputs - wanted):
        if extra in orphans:
            continue  # the orphan drift names it
        drifts.append(_drift(
            UNEXPECTED_EDGE, subject,
            f"asset {asset.key}: job {job.name} reads {_label(extra)}, which is not a dependency of the asset",
            "declare the dependency in Dagster (deps=...), or stop the job reading it",
            asset.key,
        ))  # fmt: skip
    return drifts


def _label(d: DatasetId) -> str:
    return f"{d.name} (in {d.namespace})"


def _norm_type(value: str | None) -> str | None:
    return value.strip().lower() if value else None


def _schema_drift(asset: ExpectedAsset, observed: ObservedDataset, real: dict[str, str] | None = None) -> list[Drift]:
    """Declared columns (dbt manifest, asset metadata: names and types) and the real table's
    columns (names: each database spells types its own way) against Marquez's fields."""
    if not observed.fields:
        return []  # Marquez records no schema for it: nothing to compare
    actual = observed.fields
    parts = []
    if asset.columns is not None:
        declared = dict(asset.columns)
        removed = [c for c in declared if c not in actual]
        added = [c for c in actual if c not in declared] if asset.columns_complete else []
        retyped = [
            f"{c} {declared[c]} -> {actual[c]}"
            for c in declared
            if c in actual
            and _norm_type(declared[c])
            and _norm_type(actual[c])
            and _norm_type(declared[c]) != _norm_type(actual[c])
        ]
        if added:
            parts.append("added " + ", ".join(added))
        if removed:
            parts.append("removed " + ", ".join(removed))
        if retyped:
            parts.append("retyped " + ", ".join(retyped))
    if real:  # {} (no such table) is left to the missing/status checks
        unknown = [c for c in real if c not in actual]
        gone = [c for c in actual if c not in real]
        if unknown:
            parts.append("the table has " + ", ".join(unknown) + ", which Marquez does not record")
        if gone:
            parts.append("Marquez records " + ", ".join(gone) + ", which the table no longer has")
    if not parts:
        return []
    return [_drift(
        SCHEMA_DRIFT, dataset_node(asset.dataset),
        f"asset {asset.key}: Marquez's fields differ from the expected columns: {'; '.join(parts)}",
        f"if the table changed on purpose, update {asset.key}'s column schema (dbt yml / asset metadata) and "
        "re-materialize it so Marquez records the real columns; otherwise undo the change to the table",
        asset.key,
    )]  # fmt: skip

"""The Dagster side of emission: from an asset's execution context to OpenLineage run events.

Assets call `asset_lineage(...)` around their work. The Dagster run itself is opened and closed
by `on_run_event`, which the instance's event-log storage calls for every RUN_START,
RUN_SUCCESS, RUN_FAILURE and RUN_CANCELED it stores: the one place every run passes, however it
was launched (webserver, daemon, `dagster asset materialize`, `materialize()`), with or without
a daemon. Every event goes to the outbox (`lineage.events.emit`), never straight to Marquez, so
a step never waits on Marquez and never fails because of it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import dagster as dg

from lineage.events import AssetRun, DagsterRun, JobRun, OutputFacts, TimeWindow, emit
from lineage.naming import AssetKeyLike

log = logging.getLogger(__name__)

# Tags Dagster puts on a run for the partitions it covers.
_PARTITION_TAG = "dagster/partition"
_RANGE_START_TAG = "dagster/asset_partition_range_start"
_RANGE_END_TAG = "dagster/asset_partition_range_end"


def dagster_run_of(run: dg.DagsterRun) -> DagsterRun:
    return DagsterRun(run_id=run.run_id, job_name=run.job_name)


def window_of_run(run: dg.DagsterRun) -> TimeWindow | None:
    """The daily window [first day, last day + 1) a run covers, from Dagster's partition tags."""
    tags = run.tags
    first = tags.get(_RANGE_START_TAG) or tags.get(_PARTITION_TAG)
    last = tags.get(_RANGE_END_TAG) or tags.get(_PARTITION_TAG)
    if not first or not last:
        return None
    try:
        start = dt.datetime.fromisoformat(first).replace(tzinfo=dt.UTC)
        end = dt.datetime.fromisoformat(last).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    except ValueError:  # not a daily partition key: no nominal time rather than a wrong one
        return None
    return TimeWindow(start, end)


def _run_ended_at(instance: dg.DagsterInstance, run_id: str) -> dt.datetime:
    record = instance.get_run_record_by_id(run_id)
    ended = record.end_time if record and record.end_time else None
    return dt.datetime.fromtimestamp(ended, dt.UTC) if ended else dt.datetime.now(dt.UTC)


_END_STATUS = {"RUN_SUCCESS": "SUCCESS", "RUN_FAILURE": "FAILURE", "RUN_CANCELED": "CANCELED"}
RUN_EVENTS = frozenset({"RUN_START", *_END_STATUS})


def on_run_event(instance: dg.DagsterInstance, entry: dg.EventLogEntry) -> bool:
    """The Dagster run's START or its COMPLETE / FAIL / ABORT, at the time Dagster recorded it,
    for one stored run event; True when it was an event about the run's start or end."""
    event = entry.dagster_event
    if event is None or event.event_type.name not in RUN_EVENTS:
        return False
    run = instance.get_run_by_id(entry.run_id)
    if run is None:
        return False
    at = dt.datetime.fromtimestamp(entry.timestamp, dt.UTC)
    if event.event_type.name == "RUN_START":
        emit(JobRun(dagster_run_of(run), window_of_run(run)).start(at=at))
    else:
        emit_run_end(instance, run, _END_STATUS[event.event_type.name], event.message, at=at)
    return True


def _step_errors(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """The failed steps' own errors (dbt's message for a dbt step), which Dagster's run failure
    message only names."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
    errors = []
    for record in records:
        event = record.event_log_entry.dagster_event
        data = event.step_failure_data if event else None
        if event and data and data.error:
            errors.append(f"{event.step_key}: {data.error.message.strip()}")
    return "\n".join(errors) or None


def emit_run_end(
    instance: dg.DagsterInstance,
    run: dg.DagsterRun,
    status: str,
    error: str | None = None,
    at: dt.datetime | None = None,
) -> None:
    """The Dagster run's COMPLETE / FAIL / ABORT, at `at` (default: the time Dagster recorded its end)."""
    job_run = JobRun(dagster_run_of(run), window_of_run(run))
    at = at or _run_ended_at(instance, run.run_id)
    if status != "SUCCESS":
        steps = _step_errors(instance, run.run_id)
        error = "\n".join(e for e in (error, steps) if e) or None
    if status == "SUCCESS":
        emit(job_run.complete(at=at))
    elif status == "CANCELED":
        emit(job_run.abort(at=at))
    else:
        emit(job_run.fail(error or f"Dagster run {run.run_id} {status.lower()}", at=at))


@dataclass
class AssetLineage:
    """One asset materialization in progress; set `facts` before the block ends."""

    run: AssetRun
    facts: list[OutputFacts] = field(default_factory=list)


@contextmanager
def asset_lineage(
    context: dg.AssetExecutionContext,
    asset_key: AssetKeyLike,
    upstream: Sequence[AssetKeyLike] = (),
) -> Iterator[AssetLineage]:
    """START before the work, COMPLETE (with `facts`) after it, FAIL with the error if it raises.

    Emission never raises into the asset: `emit` logs and carries on."""
    run = context.run
    asset_run = AssetRun.for_asset(asset_key, dagster_run_of(run), upstream=upstream, window=window_of_run(run))
    emit(asset_run.start())
    lineage = AssetLineage(asset_run)
    try:
        yield lineage
    except BaseException as exc:
        emit(asset_run.fail(exc))
        raise
    emit(asset_run.complete(lineage.facts))


def close_run(instance: dg.DagsterInstance, run_id: str) -> str | None:
    """Emit the end of a finished Dagster run again (the storage emitted it when Dagster stored
    it): for an instance whose storage is not the project's (LAKEHOUSE_DAGSTER_STORAGE=sqlite).
    Returns the run's status, or None if it has not finished. An identical end event is
    harmless: the built-in Marquez stores it once."""
    run = instance.get_run_by_id(run_id)
    if run is None or not run.is_finished:
        return None
    status = run.status.value  # SUCCESS | FAILURE | CANCELED
    error = None
    if status == "FAILURE":
        records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        event = records[0].event_log_entry.dagster_event if records else None
        error = event.message if event else None
    emit_run_end(instance, run, status, error)
    return status

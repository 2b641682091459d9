"""The expected graph's last materializations, from the Dagster instance (`DAGSTER_HOME`): when
Dagster last materialized each asset, and when that run started. `lineage diff` compares them
with the latest run Marquez holds for the asset's job (stale lineage: Dagster materialized the
asset in a run Marquez has heard nothing of, because its events were lost or still wait in the
outbox)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Materialized:
    run_id: str
    at: dt.datetime  # the materialization event's time (UTC)
    run_started: dt.datetime  # the run's start (UTC): every event of that run is at or after it


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC)


def last_materializations(instance, asset_keys: Iterable[str]) -> dict[str, Materialized]:
    """For each asset key (path joined with "/"), its latest materialization in `instance`; assets
    never materialized are left out. Two queries whatever the number of assets."""
    import dagster as dg

    keys = {key: dg.AssetKey(key.split("/")) for key in asset_keys}
    latest = instance.get_latest_materialization_events(list(keys.values()))
    entries = {key: latest.get(asset_key) for key, asset_key in keys.items()}
    run_ids = sorted({e.run_id for e in entries.values() if e is not None})
    started: dict[str, float] = {}
    if run_ids:
        for record in instance.get_run_records(dg.RunsFilter(run_ids=run_ids)):
            started[record.dagster_run.run_id] = record.start_time or record.create_timestamp.timestamp()
    return {
        key: Materialized(entry.run_id, _utc(entry.timestamp), _utc(started.get(entry.run_id, entry.timestamp)))
        for key, entry in entries.items()
        if entry is not None
    }


@dataclass(frozen=True)
class EndedRun:
    run_id: str  # Dagster's run id
    status: str  # SUCCESS | FAILURE | CANCELED
    ended: dt.datetime | None  # UTC


@dataclass(frozen=True)
class DagsterRuns:
    """The Dagster runs an open Marquez run is compared with, by lineage run id
    (`DagsterRun.lineage_run_id`, the run id of the `dagster` job's run and the parent of its
    children): the runs not finished, and those that finished since `since`."""

    since: dt.datetime  # runs that ended before it are not in `ended`
    live: dict[str, str]  # lineage run id -> Dagster run id, of every run not finished
    ended: dict[str, EndedRun]  # lineage run id -> the run, of runs finished since `since`


def dagster_runs(instance, since: dt.datetime) -> DagsterRuns:
    """Two queries: the runs not finished (few), and the runs finished since `since` (a run
    Marquez still holds open and that started after `since` can only belong to one of these; one
    that started before is reported past the open-run threshold unless its Dagster run is live)."""
    import dagster as dg

    from lineage.events import DagsterRun

    def lineage_id(run_id: str) -> str:
        return DagsterRun(run_id, "").lineage_run_id

    finished = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
    unfinished = [s for s in dg.DagsterRunStatus if s not in finished]
    live = {lineage_id(r): r for r in instance.get_run_ids(dg.RunsFilter(statuses=unfinished))}
    ended = {}
    for record in instance.get_run_records(dg.RunsFilter(statuses=finished, updated_after=since)):
        run = record.dagster_run
        at = record.end_time or record.update_timestamp.timestamp()
        ended[lineage_id(run.run_id)] = EndedRun(run.run_id, run.status.value, _utc(at) if at else None)
    return DagsterRuns(since, live, ended)

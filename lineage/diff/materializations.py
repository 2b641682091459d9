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
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc)


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

"""Strict lineage (LAKEHOUSE_LINEAGE_STRICT_S=<seconds>): a run fails when its lineage is not in
Marquez within the deadline, instead of finishing and leaving the events in the outbox.

Only defined when the setting is on (no extra steps otherwise). A check `lineage_delivered` runs
after the last asset of each job (the raw asset ends `ingest_raw_data`, the mart ends the dbt
jobs) and delivers every event emitted so far; when Marquez has not acknowledged them all by
the deadline it raises, which fails the step and so the Dagster run. The run's own COMPLETE
comes after the run ends (run-status sensor) and is delivered by the delivery loop as usual.
"""

import dagster as dg

from lineage.delivery import LineageNotDelivered, require_delivered, strict_deadline_s

# The assets that end the jobs users run (orchestration/defs/jobs.py).
LAST_ASSETS = (dg.AssetKey("raw_bioreactor_data"), dg.AssetKey("mart_bioreactor_overview"))


def _check_for(asset_key: dg.AssetKey, deadline_s: float) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=asset_key,
        name="lineage_delivered",
        blocking=True,
        description=f"Strict lineage: every event emitted so far is acknowledged by Marquez within {deadline_s:g}s.",
    )
    def lineage_delivered(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        try:
            result = require_delivered(deadline_s)
        except LineageNotDelivered as exc:
            raise dg.Failure(description=str(exc)) from None
        return dg.AssetCheckResult(passed=True, metadata={"events_delivered_now": result.delivered})

    return lineage_delivered


@dg.definitions
def defs() -> dg.Definitions:
    deadline_s = strict_deadline_s()
    if deadline_s is None:
        return dg.Definitions()
    return dg.Definitions(asset_checks=[_check_for(key, deadline_s) for key in LAST_ASSETS])

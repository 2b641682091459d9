"""Every Dagster run's start and end, from where every run passes: the instance's event-log storage.

The storage stores each run's RUN_START and its RUN_SUCCESS / RUN_FAILURE / RUN_CANCELED, in the
process that has them (the run worker, the CLI running a run in-process, the daemon failing a run
whose worker died), however the run was launched: the webserver, the daemon's schedules and
sensors, `dagster asset materialize`, `dagster job execute`, `materialize()` on a persistent
instance, `lakehouse backfill`. So that is where the run's lineage is emitted (to the outbox), and
where its worker stamps itself for the health check (orchestration/run_workers.py). A run's end
also frees any pool slot it still holds (a run that died holding one would block the pool), and
tries to deliver the run's events within a small budget, so Marquez shows the run ended within
seconds; the delivery loop of `lakehouse up` takes whatever is left.
"""

from __future__ import annotations

import logging

from lineage.dagster import RUN_EVENTS, on_run_event

log = logging.getLogger(__name__)

# Seconds a run's end may spend pushing the run's events to Marquez.
FLUSH_BUDGET_S = 2.0


class EmitsRunLineage:
    """Mixin for an event-log storage (before the storage class in the bases)."""

    def store_event(self, event) -> None:
        super().store_event(event)  # type: ignore[misc]
        dagster_event = event.dagster_event
        if dagster_event is None or dagster_event.event_type.name not in RUN_EVENTS:
            return
        try:
            self._on_run_event(event, dagster_event.event_type.name)
        except Exception:  # lineage must never fail the run, nor Dagster's bookkeeping
            log.exception("lineage: the run event of %s was not emitted", event.run_id)

    def _on_run_event(self, event, kind: str) -> None:
        from orchestration.run_workers import WORKER_TAG, worker_stamp

        instance = self._instance  # type: ignore[attr-defined]
        if kind == "RUN_START":
            instance.add_run_tags(event.run_id, {WORKER_TAG: worker_stamp()})
        on_run_event(instance, event)
        if kind == "RUN_START":
            return
        if self.supports_global_concurrency_limits:  # type: ignore[attr-defined]
            self.free_concurrency_slots_for_run(event.run_id)  # type: ignore[attr-defined]
        from lineage.delivery import flush

        flush(FLUSH_BUDGET_S)

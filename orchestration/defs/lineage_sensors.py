"""Close the Dagster run in Marquez: COMPLETE, FAIL or ABORT when Dagster records its end.

The run's START comes from its first step (lineage/dagster.py); its end is only known to the
instance, so run-status sensors (evaluated by the daemon `dagster dev` runs) emit it, then try
to deliver what the run left in the outbox, within a small time budget.
"""

import dagster as dg

from lineage.dagster import emit_run_end

# Seconds the sensor may spend pushing the run's events to Marquez; the delivery loop of
# `lakehouse up` takes whatever is left.
FLUSH_BUDGET_S = 2.0


def _close(context: dg.RunStatusSensorContext, status: str, error: str | None = None) -> None:
    emit_run_end(context.instance, context.dagster_run, status, error)
    try:
        from lineage.delivery import flush
    except ImportError:  # delivery not installed in this deployment: the outbox keeps the events
        return
    flush(FLUSH_BUDGET_S)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="lineage_run_success",
    monitor_all_code_locations=False,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks the run COMPLETE in Marquez.",
)
def lineage_run_success(context: dg.RunStatusSensorContext):
    _close(context, "SUCCESS")


@dg.run_failure_sensor(
    name="lineage_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks the run FAILED in Marquez, with Dagster's failure message.",
)
def lineage_run_failure(context: dg.RunFailureSensorContext):
    message = context.failure_event.message if context.failure_event else None
    _close(context, "FAILURE", message)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.CANCELED,
    name="lineage_run_canceled",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks the run ABORTED in Marquez.",
)
def lineage_run_canceled(context: dg.RunStatusSensorContext):
    _close(context, "CANCELED")

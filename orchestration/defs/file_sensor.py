"""`raw_file_sensor`: new or changed Parquet files in the lake -> runs for exactly their days."""

import dagster as dg

from orchestration.defs.jobs import partition_pipeline
from orchestration.ingest.lake_scan import LakeCursor, scan_lake
from orchestration.settings import get_settings


@dg.sensor(
    name="raw_file_sensor",
    job=partition_pipeline,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the raw lake (date=YYYY-MM-DD folders) and runs the pipeline for the days with new files.",
)
def raw_file_sensor(context: dg.SensorEvaluationContext):
    raw_dir = get_settings().raw_dir
    result = scan_lake(raw_dir, LakeCursor.parse(context.cursor))
    for reason in result.refused:
        context.log.error(f"refused {reason}")
    if not result.days:
        return dg.SkipReason(f"no new or changed files under {raw_dir}")
    context.log.info(f"{len(result.files)} new or changed files for {', '.join(result.days)}")
    tick = result.cursor.ctime_ns
    return dg.SensorResult(
        # run_key: one run per day per batch of arrivals; a repeated tick with the same cursor adds none.
        run_requests=[dg.RunRequest(partition_key=day, run_key=f"{day}@{tick}") for day in result.days],
        cursor=result.cursor.dump(),
    )

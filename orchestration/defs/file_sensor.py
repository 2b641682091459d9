"""`raw_file_sensor`: new or changed Parquet files in the lake -> runs for exactly their days."""

import datetime as dt

import dagster as dg

from lakehouse_core.settings import get_settings
from orchestration.defs.jobs import ingest_raw_data, partition_pipeline
from orchestration.defs.raw_ingestion import RAW_ASSET_KEY
from orchestration.ingest.lake_scan import LakeCursor, scan_lake


@dg.sensor(
    name="raw_file_sensor",
    job=partition_pipeline,
    # Every pass of the daemon's sensor loop (one each 5 s): with 5 here, a tick just short of 5 s
    # after the last waited for the next pass, 10 s (bench/results/freshness.md). Scanning is stats only.
    # With `lakehouse up`, the lake watcher starts a day's run within ~0.5 s of its files landing;
    # this sensor then finds the day covered, and stays the fallback (watcher down, files that
    # landed while it was not running, `dagster dev` by hand).
    minimum_interval_seconds=1,
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
    days = [day for day in result.days if not already_covered(context.instance, day, result.arrived_ns[day])]
    return dg.SensorResult(
        # run_key: one run per day per batch of arrivals; a repeated tick with the same cursor adds none.
        run_requests=[dg.RunRequest(partition_key=day, run_key=run_key(day, result.cursor)) for day in days],
        cursor=result.cursor.dump(),
    )


def run_key(day: str, cursor: LakeCursor) -> str:
    """One run per day per batch of arrivals: the day and the newest arrival's ctime. The lake
    watcher (orchestration/services/lake_watcher.py) tags its runs with the same key, so a tick
    that saw the same files asks for no second run."""
    return f"{day}@{cursor.ctime_ns}"


def already_covered(instance: dg.DagsterInstance, day: str, arrived_ns: int) -> bool:
    """The day's newest file is already taken care of: the raw asset's partition was
    materialized after it arrived (say, by a backfill), or a run that ingests the day was
    created after it arrived (by the lake watcher, which starts runs as files land; or the S3
    sensor, which copies files in and asks for the run itself)."""
    arrived = arrived_ns / 1e9
    materialized = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RAW_ASSET_KEY, asset_partitions=[day], after_timestamp=arrived), limit=1
    )
    if materialized.records:
        return True
    runs = instance.get_run_records(
        dg.RunsFilter(
            tags={"dagster/partition": day},
            created_after=dt.datetime.fromtimestamp(arrived, tz=dt.UTC),
        ),
        limit=20,
    )
    ingesting = {partition_pipeline.name, ingest_raw_data.name}
    return any(record.dagster_run.job_name in ingesting for record in runs)

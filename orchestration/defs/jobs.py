"""Jobs and schedules users know by name."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.partitions import default_day

LONDON = ZoneInfo("Europe/London")

# Every asset of these jobs is daily-partitioned, and Dagster cannot run them without a day
# ("Cannot access partition_key for a non-partitioned run"). A run that names no partition
# (`dagster job execute -m orchestration.definitions -j transform_dbt_models`, `execute_job()`)
# is for the latest day with data in the lake, as found when the code location loads (each
# `dagster` command loads it afresh). A partition or a range given by the run (the schedule, the
# sensors, the UI's partition picker, `--tags '{"dagster/partition": "2025-01-03"}'`) replaces it.
_DEFAULT_DAY = {"dagster/partition": default_day()}

ingest_raw_data = dg.define_asset_job(
    "ingest_raw_data",
    selection=dg.AssetSelection.groups("raw_ingestion"),
    description="Validate a day's raw files and expose them to dbt.",
    run_tags=_DEFAULT_DAY,
)

transform_dbt_models = dg.define_asset_job(
    "transform_dbt_models",
    selection=dg.AssetSelection.groups("dbt_staging", "dbt_curated", "publish", "dbt_postgres_marts"),
    description="dbt staging -> curated on DuckDB, publish to Postgres, dbt marts on Postgres, for a day.",
    run_tags=_DEFAULT_DAY,
)

partition_pipeline = dg.define_asset_job(
    "partition_pipeline",
    selection=dg.AssetSelection.all(),
    description="Everything for the days that received files: raw intake -> dbt -> publish -> marts.",
    run_tags=_DEFAULT_DAY,
)


def yesterday_in_london(scheduled: dt.datetime) -> str:
    """The partition a nightly run is for: the day before the run's date in London."""
    return (scheduled.astimezone(LONDON).date() - dt.timedelta(days=1)).isoformat()


@dg.schedule(
    name="nightly_pipeline",
    job=transform_dbt_models,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/London",
    description="Every night at 02:00 London time: transform yesterday's partition (London date).",
)
def nightly_pipeline(context: dg.ScheduleEvaluationContext):
    day = yesterday_in_london(context.scheduled_execution_time)
    return dg.RunRequest(run_key=day, partition_key=day)

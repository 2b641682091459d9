"""Jobs and schedules users know by name."""

import datetime as dt
from zoneinfo import ZoneInfo

import dagster as dg


LONDON = ZoneInfo("Europe/London")

ingest_raw_data = dg.define_asset_job(
    "ingest_raw_data",
    selection=dg.AssetSelection.groups("raw_ingestion"),
    description="Validate a day's raw files and expose them to dbt.",
)

transform_dbt_models = dg.define_asset_job(
    "transform_dbt_models",
    selection=dg.AssetSelection.groups("dbt_staging", "dbt_curated", "publish", "dbt_postgres_marts"),
    description="dbt staging -> curated on DuckDB, publish to Postgres, dbt marts on Postgres, for a day.",
)

partition_pipeline = dg.define_asset_job(
    "partition_pipeline",
    selection=dg.AssetSelection.all(),
    description="Everything for the days that received files: raw intake -> dbt -> publish -> marts.",
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

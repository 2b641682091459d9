"""Jobs and schedules users know by name."""


import dagster as dg

ingest_raw_data = dg.define_asset_job(
    "ingest_raw_data",
    selection=dg.AssetSelection.groups("raw_ingestion"),
    description="Validate new raw files and expose them to dbt.",
)

transform_dbt_models = dg.define_asset_job(
    "transform_dbt_models",
    selection=dg.AssetSelection.groups("dbt_staging", "dbt_curated", "publish", "dbt_postgres_marts"),
    description="dbt staging -> curated on DuckDB, publish to Postgres, dbt marts on Postgres.",
)

nightly_pipeline = dg.ScheduleDefinition(
    name="nightly_pipeline",
    job=transform_dbt_models,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/London",
)

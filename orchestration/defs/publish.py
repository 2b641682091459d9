"""Publish the curated DuckDB tables to Postgres, where dbt-postgres builds the marts."""

from contextlib import ExitStack

import dagster as dg

from lineage.dagster import AssetLineage, asset_lineage
from lineage.events import OutputFacts
from lineage.naming import dataset_for_asset
from orchestration.defs.resources import LakehouseResource
from orchestration.partitions import daily_partitions, single_run
from orchestration.publish.postgres import publish_tables

CURATED_SCHEMA = "curated"
CURATED_TABLES = ("dim_batch", "fact_bioreactor_batch_stats")


@dg.multi_asset(
    name="publish_curated_to_postgres",
    specs=[
        dg.AssetSpec(
            key=dg.AssetKey(["postgres", table]),
            deps=[dg.AssetKey(table)],
            group_name="publish",
            kinds={"postgres"},
            description=f"Copy of the curated DuckDB table {table} in Postgres ({CURATED_SCHEMA}.{table}).",
        )
        for table in CURATED_TABLES
    ],
    can_subset=False,  # the tables are swapped in together, in one transaction
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool="duckdb_writer",  # reads the DuckDB file, which a writer would lock
)
def publish_curated_to_postgres(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    # The curated tables are small (one row per batch, per batch and tag) and are merged
    # from daily partials on every run, so each run republishes them whole, atomically.
    # Lineage: one run per copy, DuckDB table -> Postgres table, column for column.
    with ExitStack() as stack:
        runs = {
            table: stack.enter_context(asset_lineage(context, ["postgres", table], upstream=[table]))
            for table in CURATED_TABLES
        }
        yield from _publish(context, lakehouse, runs)


def _publish(context: dg.AssetExecutionContext, lakehouse: LakehouseResource, runs: dict[str, AssetLineage]):
    settings = lakehouse.settings()
    published = publish_tables(settings.duckdb_path, lakehouse.postgres_url(), CURATED_SCHEMA, list(CURATED_TABLES))
    for table in published:
        runs[table.table].facts = [
            OutputFacts(
                dataset_for_asset(["postgres", table.table]),
                columns=table.columns,
                row_count=table.rows,
                copied_from=dataset_for_asset(table.table),
            )
        ]
        context.log.info(f"published {table.rows} rows to {table.schema}.{table.table}")
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["postgres", table.table]),
            metadata={
                "dagster/row_count": table.rows,
                "dagster/table_name": f"{settings.pg.dbname}.{table.schema}.{table.table}",
                "dagster/column_schema": dg.TableSchema(
                    columns=[dg.TableColumn(name=name, type=dtype) for name, dtype in table.columns]
                ),
            },
        )

"""`raw_bioreactor_data`: validate one window's raw historian files and expose the good ones to dbt."""

import dagster as dg

from lineage.dagster import AssetLineage, asset_lineage
from lineage.events import OutputFacts
from lineage.naming import dataset_for_asset
from orchestration.defs.resources import LakehouseResource
from orchestration.ingest.duckdb_raw import RAW_SCHEMA, RAW_VIEW, raw_view_columns, register_window, window_row_count
from orchestration.ingest.lake_scan import day_of_folder
from orchestration.ingest.raw_files import check_files, list_raw_files, quarantine
from orchestration.partitions import daily_partitions, single_run, window_days

RAW_ASSET_KEY = dg.AssetKey("raw_bioreactor_data")


@dg.asset(
    key=RAW_ASSET_KEY,
    group_name="raw_ingestion",
    kinds={"parquet", "duckdb"},
    partitions_def=daily_partitions,
    backfill_policy=single_run,
    pool="duckdb_writer",
    description=(
        "Raw bioreactor sensor readings (process-historian long format) from the Parquet lake "
        "(date=YYYY-MM-DD folders), validated file by file and exposed to dbt as the DuckDB view "
        "raw.bioreactor_readings."
    ),
    check_specs=[
        dg.AssetCheckSpec("raw_files_valid", asset=RAW_ASSET_KEY, description="No raw file had to be quarantined."),
        dg.AssetCheckSpec(
            "row_accounting",
            asset=RAW_ASSET_KEY,
            description="Rows in the files' footers = rows DuckDB reads through the view + rows quarantined.",
        ),
    ],
)
def raw_bioreactor_data(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    # Lineage: the lake directory (input) -> the DuckDB view dbt's source reads (output).
    with asset_lineage(context, RAW_ASSET_KEY) as lineage:
        yield from _ingest(context, lakehouse, lineage)


def _ingest(context: dg.AssetExecutionContext, lakehouse: LakehouseResource, lineage: AssetLineage):
    settings = lakehouse.settings()
    days = window_days(context)
    files = [f for day in days for f in list_raw_files(settings.raw_dir / f"date={day}", root=settings.raw_dir)]
    report = check_files(files)
    rows_found = sum(c.rows for c in report.good + report.bad)
    for bad in report.bad:
        target = quarantine(bad, settings.raw_dir, settings.quarantine_dir)
        context.log.error(f"quarantined {bad.path}: {'; '.join(bad.problems)} (moved to {target})")

    good = [(day_of_folder(c.path.parent.name), c.path, c.rows, c.bytes) for c in report.good]
    for missing in register_window(settings.duckdb_path, days, good):
        context.log.warning(f"{missing} was validated earlier but is gone from the lake; dropped from the view")
    rows_visible = window_row_count(settings.duckdb_path, days)
    summary = report.summary()
    if not files:
        context.log.warning(f"no raw files for {days[0]}..{days[-1]} under {settings.raw_dir}")
    columns = raw_view_columns(settings.duckdb_path)
    files_valid = not report.bad
    rows_add_up = rows_found == rows_visible + report.rows_quarantined
    lineage.facts = [
        OutputFacts(
            dataset_for_asset(RAW_ASSET_KEY),
            columns=columns,
            row_count=rows_visible,
            size_bytes=summary["bytes_loaded"],
            assertions=[("raw_files_valid", files_valid, None), ("row_accounting", rows_add_up, None)],
        )
    ]
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows_visible,
            "dagster/table_name": f"{settings.duckdb_path.stem}.{RAW_SCHEMA}.{RAW_VIEW}",
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name=n, type=t) for n, t in columns]
            ),
            "lake_dir": dg.MetadataValue.path(str(settings.raw_dir)),
            "file_count": summary["files_loaded"],
            "bytes": summary["bytes_loaded"],
            "ts_min": summary["ts_min"] or "",
            "ts_max": summary["ts_max"] or "",
            "files_quarantined": summary["files_quarantined"],
            "rows_quarantined": summary["rows_quarantined"],
        }
    )
    yield dg.AssetCheckResult(
        check_name="raw_files_valid",
        passed=files_valid,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"quarantined": dg.MetadataValue.json(summary["quarantined"])},
    )
    yield dg.AssetCheckResult(
        check_name="row_accounting",
        passed=rows_add_up,
        metadata={
            "rows_found": rows_found,
            "rows_loaded": rows_visible,
            "rows_quarantined": report.rows_quarantined,
        },
    )

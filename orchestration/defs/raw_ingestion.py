"""`raw_bioreactor_data`: validate the raw historian files and expose the good ones to dbt."""


import dagster as dg

from orchestration.defs.resources import LakehouseResource
from orchestration.ingest.duckdb_raw import (
    RAW_SCHEMA,
    RAW_VIEW,
    publish_raw_view,
    raw_view_columns,
    raw_view_row_count,
)
from orchestration.ingest.raw_files import check_files, list_raw_files, quarantine

RAW_ASSET_KEY = dg.AssetKey("raw_bioreactor_data")


@dg.asset(
    key=RAW_ASSET_KEY,
    group_name="raw_ingestion",
    kinds={"parquet", "duckdb"},
    description=(
        "Raw bioreactor sensor readings (process-historian long format) from the Parquet lake, "
        "validated file by file and exposed to dbt as the DuckDB view raw.bioreactor_readings."
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
    settings = lakehouse.settings()
    files = list_raw_files(settings.raw_dir)
    report = check_files(files)
    rows_found = sum(c.rows for c in report.good + report.bad)
    for bad in report.bad:
        target = quarantine(bad, settings.raw_dir, settings.quarantine_dir)
        context.log.error(f"quarantined {bad.path}: {'; '.join(bad.problems)} (moved to {target})")

    publish_raw_view(settings.duckdb_path, [c.path for c in report.good])
    summary = report.summary()
    columns = raw_view_columns(settings.duckdb_path)
    rows_visible = raw_view_row_count(settings.duckdb_path)
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": rows_visible,
            "dagster/table_name": f"{settings.duckdb_path.stem}.{RAW_SCHEMA}.{RAW_VIEW}",
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name=name, type=dtype) for name, dtype in columns]
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
        passed=not report.bad,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"quarantined": dg.MetadataValue.json(summary["quarantined"])},
    )
    yield dg.AssetCheckResult(
        check_name="row_accounting",
        passed=rows_found == rows_visible + report.rows_quarantined,
        metadata={
            "rows_found": rows_found,
            "rows_loaded": rows_visible,
            "rows_quarantined": report.rows_quarantined,
        },
    )

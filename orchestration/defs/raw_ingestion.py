"""`raw_bioreactor_data`: validate one window's raw historian files and expose the good ones to dbt."""

import dagster as dg

from lineage.dagster import AssetLineage, asset_lineage
from lineage.events import OutputFacts
from lineage.naming import dataset_for_asset
from orchestration.defs.resources import LakehouseResource
from orchestration.ingest.duckdb_raw import RAW_SCHEMA, RAW_VIEW
from orchestration.ingest.raw_rows import ROW_REASONS, known_tags
from orchestration.ingest.window import ingest_window
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
        dg.AssetCheckSpec(
            "raw_files_valid",
            asset=RAW_ASSET_KEY,
            description="No raw file and no reading had to be quarantined (files: unreadable, empty, wrong "
            "schema, oversized, wrong day, rewritten after load; readings: " + ", ".join(ROW_REASONS) + ").",
        ),
        dg.AssetCheckSpec(
            "row_accounting",
            asset=RAW_ASSET_KEY,
            description="Rows in the files' footers = rows dbt reads through the view + rows quarantined "
            "(whole files and single readings).",
        ),
        *[
            dg.AssetCheckSpec(
                f"tag_domain_{tag}",
                asset=RAW_ASSET_KEY,
                description=f"{tag}: values within the physical range, present at every sampled instant of "
                "each batch, no gaps (orchestration/ingest/tag_domain.py).",
            )
            for tag in known_tags()
        ],
    ],
)
def raw_bioreactor_data(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    # Lineage: the lake directory (input) -> the DuckDB view dbt's source reads (output).
    with asset_lineage(context, RAW_ASSET_KEY) as lineage:
        yield from _ingest(context, lakehouse, lineage)


def _ingest(context: dg.AssetExecutionContext, lakehouse: LakehouseResource, lineage: AssetLineage):
    settings = lakehouse.settings()
    days = window_days(context)
    intake = ingest_window(settings, days)
    for bad, target in intake.quarantined_files:
        context.log.error(f"quarantined {bad.path}: {'; '.join(bad.problems)} (moved to {target})")
    for missing in intake.missing:
        context.log.warning(f"{missing} was validated earlier but is gone from the lake; dropped from the view")
    for reason, n in sorted(intake.bad_rows.items()):
        context.log.warning(f"quarantined {n} readings: {reason} (table raw.quarantined_readings)")
    if not intake.files:
        context.log.warning(f"no raw files for {days[0]}..{days[-1]} under {settings.raw_dir}")
    elif intake.rows_visible == 0:
        moved = ", ".join(str(target) for _, target in intake.quarantined_files) or "none"
        context.log.warning(
            f"no good readings for {days[0]}..{days[-1]}: nothing reaches dbt for this window "
            f"({len(intake.files)} files; quarantined: {moved})"
        )
    summary = intake.report.summary()
    readings_quarantined = dg.MetadataValue.json(dict(sorted(intake.bad_rows.items())))
    lineage.facts = [
        OutputFacts(
            dataset_for_asset(RAW_ASSET_KEY),
            columns=intake.columns,
            row_count=intake.rows_visible,
            size_bytes=summary["bytes_loaded"],
            assertions=[("raw_files_valid", intake.files_valid, None), ("row_accounting", intake.rows_add_up, None)],
        )
    ]
    yield dg.MaterializeResult(
        metadata={
            "dagster/row_count": intake.rows_visible,
            "dagster/table_name": f"{settings.duckdb_path.stem}.{RAW_SCHEMA}.{RAW_VIEW}",
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name=n, type=t) for n, t in intake.columns]
            ),
            "lake_dir": dg.MetadataValue.path(str(settings.raw_dir)),
            "file_count": summary["files_loaded"],
            "bytes": summary["bytes_loaded"],
            "ts_min": summary["ts_min"] or "",
            "ts_max": summary["ts_max"] or "",
            "files_quarantined": summary["files_quarantined"],
            "rows_in": intake.rows_found,
            "rows_quarantined": intake.rows_quarantined,
            "rows_in_quarantined_files": intake.report.rows_quarantined,
            "readings_quarantined": readings_quarantined,
            # True when no good reading reached the view: the run succeeds and writes nothing.
            "empty_window": intake.rows_visible == 0,
        }
    )
    yield dg.AssetCheckResult(
        check_name="raw_files_valid",
        passed=intake.files_valid,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "quarantined_files": dg.MetadataValue.json(summary["quarantined"]),
            "quarantined_readings": readings_quarantined,
        },
    )
    yield dg.AssetCheckResult(
        check_name="row_accounting",
        passed=intake.rows_add_up,
        metadata={
            "rows_in": intake.rows_found,
            "rows_loaded": intake.rows_visible,
            "rows_quarantined": intake.rows_quarantined,
        },
    )
    for tag, result in intake.domain.items():
        yield dg.AssetCheckResult(
            check_name=f"tag_domain_{tag}",
            passed=result.passed,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(result.problems) or None,
            metadata={
                "readings": result.readings,
                "out_of_range": result.out_of_range,
                "min_value": result.min_value,
                "max_value": result.max_value,
                "worst_completeness": result.worst_completeness,
                "mean_interval_s": result.mean_interval_s,
                "empty_hours": result.empty_hours,
            },
        )

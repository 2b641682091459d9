"""`raw_bioreactor_data`: validate one window's raw historian files and expose the good ones to dbt."""

import dagster as dg

from lineage.dagster import AssetLineage, asset_lineage
from lineage.events import OutputFacts
from lineage.naming import dataset_for_asset
from orchestration.defs.resources import LakehouseResource
from orchestration.ingest.duckdb_raw import (
    RAW_SCHEMA,
    RAW_VIEW,
    raw_view_columns,
    register_window,
    registered_hashes,
    window_row_count,
)
from orchestration.ingest.raw_files import check_files, content_hash, list_raw_files, quarantine
from orchestration.ingest.raw_rows import ROW_REASONS, known_tags, quarantined_rows
from orchestration.ingest.tag_domain import check_window
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
    folder_day = {
        f: day for day in days for f in list_raw_files(settings.raw_dir / f"date={day}", root=settings.raw_dir)
    }
    files = list(folder_day)
    report = check_files(files, folder_day)
    # A file loaded before whose bytes differ now was rewritten after load: what dbt built on is
    # gone, and the new content is not trusted silently. (Moved back from quarantine, it is new.)
    loaded = registered_hashes(settings.duckdb_path, [c.path for c in report.good])
    hashes = {c.path: content_hash(c.path) for c in report.good}
    for check in list(report.good):
        before = loaded.get(str(check.path.resolve()))
        if before is not None and before != hashes[check.path]:
            check.fail(
                "rewritten_after_load",
                f"content changed after it was loaded (sha256 {before[:12]}... then, {hashes[check.path][:12]}... now)",
            )
            report.good.remove(check)
            report.bad.append(check)
    rows_found = sum(c.rows for c in report.good + report.bad)
    for bad in report.bad:
        target = quarantine(bad, settings.raw_dir, settings.quarantine_dir)
        context.log.error(f"quarantined {bad.path}: {'; '.join(bad.problems)} (moved to {target})")

    good = [(folder_day[c.path], c.path, c.rows, c.bytes) for c in report.good]
    for missing in register_window(settings.duckdb_path, days, good, hashes, {c.path: c for c in report.good}):
        context.log.warning(f"{missing} was validated earlier but is gone from the lake; dropped from the view")
    bad_rows = quarantined_rows(settings.duckdb_path, days)
    for reason, n in sorted(bad_rows.items()):
        context.log.warning(f"quarantined {n} readings: {reason} (table raw.quarantined_readings)")
    rows_visible = window_row_count(settings.duckdb_path, days)
    domain = check_window(settings.duckdb_path, days)
    summary = report.summary()
    if not files:
        context.log.warning(f"no raw files for {days[0]}..{days[-1]} under {settings.raw_dir}")
    columns = raw_view_columns(settings.duckdb_path)
    rows_quarantined = report.rows_quarantined + sum(bad_rows.values())
    files_valid = not report.bad and not bad_rows
    rows_add_up = rows_found == rows_visible + rows_quarantined
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
            "rows_in": rows_found,
            "rows_quarantined": rows_quarantined,
            "rows_in_quarantined_files": report.rows_quarantined,
            "readings_quarantined": dg.MetadataValue.json(dict(sorted(bad_rows.items()))),
        }
    )
    yield dg.AssetCheckResult(
        check_name="raw_files_valid",
        passed=files_valid,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "quarantined_files": dg.MetadataValue.json(summary["quarantined"]),
            "quarantined_readings": dg.MetadataValue.json(dict(sorted(bad_rows.items()))),
        },
    )
    yield dg.AssetCheckResult(
        check_name="row_accounting",
        passed=rows_add_up,
        metadata={
            "rows_in": rows_found,
            "rows_loaded": rows_visible,
            "rows_quarantined": rows_quarantined,
        },
    )
    for tag, result in domain.items():
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

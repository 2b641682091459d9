"""One window's intake, without an orchestrator: validate the days' raw files, quarantine the bad
ones, register the good ones for dbt, and account for every row.

The `raw_bioreactor_data` asset reports the result to Dagster (metadata, checks, lineage);
bench/daily_direct.py runs the same function for a user without Dagster.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from lakehouse_core.settings import Settings
from orchestration.ingest.duckdb_raw import raw_view_columns, register_window, registered_hashes, window_row_count
from orchestration.ingest.raw_files import (
    FileCheck,
    IntakeReport,
    check_files,
    content_hash,
    list_raw_files,
    quarantine,
)
from orchestration.ingest.raw_rows import quarantined_rows
from orchestration.ingest.tag_domain import TagDomain, check_window


@dataclass
class WindowIntake:
    days: list[str]
    files: list[Path]
    report: IntakeReport
    quarantined_files: list[tuple[FileCheck, Path]]  # (the check, where the file was moved)
    missing: list[str]  # validated by an earlier run, gone from the lake now
    bad_rows: Counter  # reason -> readings of the window quarantined
    rows_found: int  # in the files' footers, good and bad files
    rows_visible: int  # what dbt reads through the view
    domain: dict[str, TagDomain]
    columns: list[tuple[str, str]]

    @property
    def rows_quarantined(self) -> int:
        return self.report.rows_quarantined + sum(self.bad_rows.values())

    @property
    def files_valid(self) -> bool:
        return not self.report.bad and not self.bad_rows

    @property
    def rows_add_up(self) -> bool:
        return self.rows_found == self.rows_visible + self.rows_quarantined


def ingest_window(settings: Settings, days: list[str]) -> WindowIntake:
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
    moved = [(bad, quarantine(bad, settings.raw_dir, settings.quarantine_dir)) for bad in report.bad]

    good = [(folder_day[c.path], c.path, c.rows, c.bytes) for c in report.good]
    missing = register_window(settings.duckdb_path, days, good, hashes, {c.path: c for c in report.good})
    return WindowIntake(
        days=days,
        files=files,
        report=report,
        quarantined_files=moved,
        missing=missing,
        bad_rows=quarantined_rows(settings.duckdb_path, days),
        rows_found=rows_found,
        rows_visible=window_row_count(settings.duckdb_path, days),
        domain=check_window(settings.duckdb_path, days),
        columns=raw_view_columns(settings.duckdb_path),
    )

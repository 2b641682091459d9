"""Where the last `lineage diff` report is kept, for the lineage UI's drift overlay and for the
Dagster check: `$LINEAGE_DIFF_REPORT`, else `<data dir>/lineage/diff/last.json`, in the JSON
format of `lineage/diff/report.py` (and the HTML page beside it, `last.html`). Written
atomically: a reader never sees half a report."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from lakehouse_core.settings import get_settings
from lineage.diff import DiffReport
from lineage.diff.report import as_json_dict


def last_report_path() -> Path:
    return get_settings().diff_report_path


def save_last(report: DiffReport, path: Path | None = None) -> Path:
    """Keep the report as JSON at `path`, and as the HTML page next to it (`last.html`)."""
    from lineage.diff.html import render_html

    path = path or last_report_path()
    _write_atomic(path, json.dumps(as_json_dict(report), indent=2))
    _write_atomic(path.with_suffix(".html"), render_html(report))
    return path


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_last(path: Path | None = None) -> dict | None:
    """The last report as JSON, or None when no diff has run yet."""
    path = path or last_report_path()
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None

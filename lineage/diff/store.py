"""Where the last `lineage diff` report is kept, for the lineage UI's drift overlay and for the
Dagster check: `$LINEAGE_DIFF_REPORT`, else `<data dir>/lineage/diff/last.json`, in the JSON
format of `lineage/diff/report.py`. Written atomically: a reader never sees half a report."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from lineage.diff import DiffReport
from lineage.diff.report import as_json_dict
from orchestration.settings import get_settings

ENV = "LINEAGE_DIFF_REPORT"


def last_report_path() -> Path:
    configured = os.environ.get(ENV)
    return Path(configured).resolve() if configured else get_settings().data_dir / "lineage" / "diff" / "last.json"


def save_last(report: DiffReport, path: Path | None = None) -> Path:
    path = path or last_report_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".last-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(as_json_dict(report), out, indent=2)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_last(path: Path | None = None) -> dict | None:
    """The last report as JSON, or None when no diff has run yet."""
    path = path or last_report_path()
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None

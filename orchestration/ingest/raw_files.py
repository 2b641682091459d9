"""Validate raw bioreactor Parquet files from their footers, without reading rows into Python.

A file is checked for what can make a whole file unusable: unreadable or truncated bytes,
no rows, missing columns, columns of the wrong type, bigger than the configured limit
(LAKEHOUSE_RAW_MAX_FILE_BYTES), or every reading outside the day its folder names (a file
filed under the wrong day). Bad files are moved to the quarantine area with a reason next to
them: `reasons` holds machine-readable codes (REASONS), `problems` the same in words. Good
files flow on; bad rows inside good files are the business of `raw_rows`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse_core.settings import get_settings

# Column -> predicate on the Arrow type, with the type family named in error messages.
REQUIRED_COLUMNS: dict[str, tuple[str, Callable[[pa.DataType], bool]]] = {
    "batch_id": ("string", pa.types.is_string),
    "site": ("string", pa.types.is_string),
    "equipment_id": ("string", pa.types.is_string),
    "ts": ("timestamp", pa.types.is_timestamp),
    "tag": ("string", pa.types.is_string),
    "value": ("floating point", pa.types.is_floating),
    "unit": ("string", pa.types.is_string),
}


# Machine-readable reasons a whole file is quarantined.
REASONS = (
    "unreadable", "empty", "missing_column", "wrong_type", "oversized", "wrong_day", "rewritten_after_load",
)  # fmt: skip
MAX_FILE_BYTES_ENV = "LAKEHOUSE_RAW_MAX_FILE_BYTES"


def max_file_bytes() -> int:
    """LAKEHOUSE_RAW_MAX_FILE_BYTES (default 1 GiB: a day of one site's historian export is megabytes)."""
    return get_settings().raw_max_file_bytes


def content_hash(path: Path) -> str:
    """sha256 of the file's bytes: what `loaded` means, to tell a rewrite from a touch."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class UnsafePathError(ValueError):
    """A path resolves outside the lake (`..`, or a symlink pointing out)."""


@dataclass
class FileCheck:
    path: Path
    rows: int = 0
    bytes: int = 0
    ts_min: dt.datetime | None = None
    ts_max: dt.datetime | None = None
    # Footer statistics (None when the writer left them out): let the row checks skip files
    # that cannot hold a bad reading (raw_rows).
    value_min: float | None = None
    value_max: float | None = None
    batch_min: str | None = None
    batch_max: str | None = None
    problems: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)  # codes from REASONS, one per problem

    @property
    def ok(self) -> bool:
        return not self.problems

    def fail(self, reason: str, problem: str) -> None:
        assert reason in REASONS, reason
        self.reasons.append(reason)
        self.problems.append(problem)


def is_within(path: Path, root: Path) -> bool:
    return path.resolve().is_relative_to(root.resolve())


def list_raw_files(directory: Path, root: Path | None = None) -> list[Path]:
    """Parquet files under `directory`, sorted; anything resolving outside the lake `root`
    (default: `directory`) is refused: `..` tricks and symlinks pointing out."""
    root = root or directory
    if not is_within(directory, root):
        raise UnsafePathError(f"{directory} is outside the lake {root}")
    if not directory.exists():
        return []
    files = sorted(p for p in directory.rglob("*.parquet") if p.is_file())
    for path in files:
        if not is_within(path, root):
            raise UnsafePathError(f"{path} resolves to {path.resolve()}, outside the lake {root}")
    return files


def _string_type(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _ts_range(meta: pq.FileMetaData, column_index: int) -> tuple:
    """(min, max) of a column over all row groups, from the footer; (None, None) if any lacks them."""
    lows, highs = [], []
    for rg in range(meta.num_row_groups):
        stats = meta.row_group(rg).column(column_index).statistics
        if stats is None or not stats.has_min_max:
            return None, None
        lows.append(stats.min)
        highs.append(stats.max)
    return (min(lows), max(highs)) if lows else (None, None)


def check_file(path: Path, day: str | None = None, max_bytes: int | None = None) -> FileCheck:
    """`day`: the `YYYY-MM-DD` its folder names; a file none of whose readings fall on that day
    (from the footer's ts statistics) is filed under the wrong day."""
    check = FileCheck(path=path, bytes=path.stat().st_size)
    limit = max_bytes if max_bytes is not None else max_file_bytes()
    if check.bytes > limit:  # refused before reading anything: it could exhaust memory or disk
        check.fail(
            "oversized", f"file of {check.bytes} bytes is over the limit of {limit} bytes ({MAX_FILE_BYTES_ENV})"
        )
        return check
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt footers
        check.fail("unreadable", f"unreadable Parquet ({type(exc).__name__}: {exc})")
        return check
    schema = parquet.schema_arrow
    meta = parquet.metadata
    check.rows = meta.num_rows
    if meta.num_rows == 0:
        check.fail("empty", "empty file: no rows")
    for name, (family, predicate) in REQUIRED_COLUMNS.items():
        if name not in schema.names:
            check.fail("missing_column", f"missing column {name!r}")
            continue
        actual = schema.field(name).type
        ok = _string_type(actual) if family == "string" else predicate(actual)
        if not ok:
            check.fail("wrong_type", f"column {name!r} has type {actual}, expected {family}")
    if check.ok:
        check.ts_min, check.ts_max = _ts_range(meta, schema.get_field_index("ts"))
        check.value_min, check.value_max = _ts_range(meta, schema.get_field_index("value"))
        check.batch_min, check.batch_max = _ts_range(meta, schema.get_field_index("batch_id"))
        if day is not None and check.ts_min is not None and check.ts_max is not None:
            first = dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)
            low, high = _utc(check.ts_min), _utc(check.ts_max)
            if high < first or low >= first + dt.timedelta(days=1):
                check.fail(
                    "wrong_day",
                    f"filed under date={day} but every reading is from {low.date()}..{high.date()} (UTC)",
                )
    return check


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def quarantine(check: FileCheck, raw_dir: Path, quarantine_dir: Path) -> Path:
    """Move a bad file out of the lake, keeping its relative path, with `<name>.reason.json` beside it."""
    relative = check.path.resolve().relative_to(raw_dir.resolve())
    target = quarantine_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # an earlier bad version of the same file is kept, not overwritten
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        target = target.with_name(f"{target.stem}.{stamp}{target.suffix}")
    shutil.move(str(check.path), target)
    reason = {
        "file": str(relative),
        "quarantined_at": dt.datetime.now(dt.UTC).isoformat(),
        "reasons": check.reasons,
        "problems": check.problems,
        "rows_in_footer": check.rows,
        "bytes": check.bytes,
    }
    target.with_name(target.name + ".reason.json").write_text(json.dumps(reason, indent=2))
    return target


@dataclass
class IntakeReport:
    good: list[FileCheck]
    bad: list[FileCheck]

    @property
    def rows_loaded(self) -> int:
        return sum(c.rows for c in self.good)

    @property
    def rows_quarantined(self) -> int:
        return sum(c.rows for c in self.bad)

    @property
    def bytes_loaded(self) -> int:
        return sum(c.bytes for c in self.good)

    def summary(self) -> dict:
        ts = [c.ts_min for c in self.good if c.ts_min] + [c.ts_max for c in self.good if c.ts_max]
        return {
            "files_loaded": len(self.good),
            "files_quarantined": len(self.bad),
            "rows_loaded": self.rows_loaded,
            "rows_quarantined": self.rows_quarantined,
            "bytes_loaded": self.bytes_loaded,
            "ts_min": min(ts).isoformat() if ts else None,
            "ts_max": max(ts).isoformat() if ts else None,
            "quarantined": [{"file": str(c.path), "reasons": c.reasons, "problems": c.problems} for c in self.bad],
        }


def check_files(files: list[Path], days: dict[Path, str] | None = None) -> IntakeReport:
    """Check each file; `days` maps a file to the day its folder names (for `wrong_day`)."""
    limit = max_file_bytes()
    checks = [check_file(p, (days or {}).get(p), limit) for p in files]
    return IntakeReport(good=[c for c in checks if c.ok], bad=[c for c in checks if not c.ok])

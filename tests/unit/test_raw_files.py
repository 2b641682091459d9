"""Raw file validation: each kind of unusable file is named with its problem and quarantined."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.ingest.raw_files import UnsafePathError, check_file, check_files, list_raw_files, quarantine


def _good_table(rows: int = 10) -> pa.Table:
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    return pa.table(
        {
            "batch_id": ["B1"] * rows,
            "site": ["LON"] * rows,
            "equipment_id": ["LON-R01"] * rows,
            "ts": pa.array([start + dt.timedelta(minutes=i) for i in range(rows)], pa.timestamp("us", tz="UTC")),
            "tag": ["pH"] * rows,
            "value": [7.0] * rows,
            "unit": ["pH"] * rows,
        }
    )


def _write(path: Path, table: pa.Table) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def test_good_file_reports_rows_bytes_and_time_range(tmp_path):
    path = _write(tmp_path / "date=2025-01-01" / "a.parquet", _good_table(10))
    check = check_file(path)
    assert check.ok, check.problems
    assert check.rows == 10
    assert check.bytes == path.stat().st_size
    assert check.ts_min == dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    assert check.ts_max == dt.datetime(2025, 1, 1, 0, 9, tzinfo=dt.UTC)


def test_unreadable_bytes_are_named(tmp_path):
    path = tmp_path / "garbage.parquet"
    path.write_bytes(b"this is not parquet at all")
    check = check_file(path)
    assert not check.ok
    assert check.problems[0].startswith("unreadable Parquet")


def test_truncated_file_is_unreadable(tmp_path):
    path = _write(tmp_path / "t.parquet", _good_table(100))
    path.write_bytes(path.read_bytes()[:-40])
    assert check_file(path).problems[0].startswith("unreadable Parquet")


def test_missing_column_and_wrong_type_are_named(tmp_path):
    table = _good_table().drop_columns(["unit"]).set_column(5, "value", pa.array(["x"] * 10))
    check = check_file(_write(tmp_path / "w.parquet", table))
    assert "missing column 'unit'" in check.problems
    assert "column 'value' has type string, expected floating point" in check.problems


def test_empty_file(tmp_path):
    check = check_file(_write(tmp_path / "e.parquet", _good_table(1).slice(0, 0)))
    assert check.problems == ["empty file: no rows"]


def test_quarantine_moves_file_with_reason(tmp_path):
    raw, quarantine_dir = tmp_path / "raw", tmp_path / "quarantine"
    good = _write(raw / "date=2025-01-01" / "good.parquet", _good_table(5))
    bad = raw / "date=2025-01-01" / "bad.parquet"
    bad.write_bytes(b"nope")
    report = check_files(list_raw_files(raw))
    assert [c.path for c in report.good] == [good]
    target = quarantine(report.bad[0], raw, quarantine_dir)
    assert not bad.exists() and target == quarantine_dir / "date=2025-01-01" / "bad.parquet"
    reason = json.loads(target.with_name("bad.parquet.reason.json").read_text())
    assert reason["file"] == "date=2025-01-01/bad.parquet"
    assert reason["problems"][0].startswith("unreadable Parquet")


def test_symlink_out_of_the_lake_is_refused(tmp_path):
    outside = _write(tmp_path / "elsewhere" / "x.parquet", _good_table(1))
    raw = tmp_path / "raw" / "date=2025-01-01"
    raw.mkdir(parents=True)
    (raw / "link.parquet").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="outside the lake"):
        list_raw_files(tmp_path / "raw")

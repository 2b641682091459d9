"""Row-level quarantine and the per-tag domain checks on real DuckDB over real Parquet files
(fast: no Dagster). The whole asset is exercised in test_bad_raw_input.py."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from orchestration.ingest.duckdb_raw import register_window, window_row_count
from orchestration.ingest.raw_files import check_files
from orchestration.ingest.raw_rows import find_bad_rows
from orchestration.ingest.tag_domain import check_window

UTC = dt.UTC
DAY = "2025-03-04"
T0 = dt.datetime(2025, 3, 4, tzinfo=UTC)
TAGS = {"pH": 7.0, "DO": 50.0, "Temp": 37.0, "Agitation": 300.0, "Glucose": 5.0, "OD600": 10.0, "AirFlow": 1.0,
        "Pressure": 0.5}  # fmt: skip


def _rows(batch: str, hours: range, step_min: int = 10, skip: set | None = None) -> list[tuple]:
    out = []
    for minute in range(hours.start * 60, hours.stop * 60, step_min):
        for tag, value in TAGS.items():
            if skip and (tag, minute) in skip:
                continue
            out.append(
                (batch, "LON", "R1" if batch != "B2" else "R2", T0 + dt.timedelta(minutes=minute), tag, value, "u")
            )
    return out


def _write(path: Path, rows: list[tuple]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    names = ["batch_id", "site", "equipment_id", "ts", "tag", "value", "unit"]
    table = pa.Table.from_pylist([dict(zip(names, r)) for r in rows])
    pq.write_table(
        table.cast(
            pa.schema(
                [
                    (n, t)
                    for n, t in zip(
                        names,
                        [pa.string()] * 3 + [pa.timestamp("us", tz="UTC")] + [pa.string(), pa.float64(), pa.string()],
                    )
                ]
            )
        ),
        path,
    )
    return path


@pytest.fixture
def lake(tmp_path):
    folder = tmp_path / f"date={DAY}"
    clean = _write(folder / "a-clean.parquet", _rows("B1", range(0, 6)))
    other = _write(folder / "b-other-reactor.parquet", _rows("B2", range(0, 6)))
    return tmp_path, folder, clean, other


def _bad(files: list[Path], checks: dict | None) -> list[tuple]:
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        find_bad_rows(con, [(DAY, f) for f in files], dt.datetime.now(UTC), checks)
        return con.execute("select path, row_number, reason from bad_rows order by all").fetchall()


def test_clean_files_are_skipped_from_their_footers_and_nothing_is_found(lake):
    _, _, clean, other = lake
    report = check_files([clean, other], {clean: DAY, other: DAY})
    assert _bad([clean, other], {c.path: c for c in report.good}) == _bad([clean, other], None) == []


def test_the_footer_shortcut_finds_exactly_what_a_full_scan_finds(lake):
    _, folder, clean, other = lake
    dirty = _write(folder / "c-dirty.parquet", [
        ("B1", "LON", "R1", T0 + dt.timedelta(hours=7), "Foam", 1.0, "-"),
        ("B1", "LON", "R1", T0 + dt.timedelta(hours=7), "pH", math.inf, "pH"),
        ("B1", "LON", "R1", T0 + dt.timedelta(hours=7), "Temp", math.nan, "degC"),  # garbage, like infinity
        ("B1", "LON", "R1", T0 + dt.timedelta(hours=7), "DO", None, "%"),  # a dropout: kept
        ("B1", "LON", "R1", T0 - dt.timedelta(hours=1), "pH", 7.0, "pH"),
        ("B1", "LON", "R1", T0 + dt.timedelta(minutes=10), "pH", 7.0, "pH"),  # re-sent: a duplicate
        ("B1", "LON", "R1", T0 + dt.timedelta(minutes=20), "DO", 51.0, "%"),  # a different value: conflict
    ])  # fmt: skip
    files = [clean, other, dirty]
    report = check_files(files, dict.fromkeys(files, DAY))
    fast = _bad(files, {c.path: c for c in report.good})
    assert fast == _bad(files, None)
    reasons = sorted(reason for _, _, reason in fast)
    assert reasons == sorted(["unknown_tag", "non_finite_value", "non_finite_value", "timestamp_outside_day",
                              "duplicate_reading", "conflicting_reading", "conflicting_reading"])  # fmt: skip
    conflict = [(Path(p).name, r) for p, r, reason in fast if reason == "conflicting_reading"]
    assert {name for name, _ in conflict} == {"a-clean.parquet", "c-dirty.parquet"}  # both versions


def test_a_nan_hidden_from_the_footers_is_still_found(lake):
    """Parquet writers leave NaN out of min/max: a file whose footers look clean may hold one."""
    _, folder, clean, other = lake
    rows = _rows("B3", range(0, 6))
    rows[5] = (*rows[5][:5], math.nan, rows[5][6])
    nan_file = _write(folder / "c-nan.parquet", rows)
    files = [clean, other, nan_file]
    report = check_files(files, dict.fromkeys(files, DAY))
    fast = _bad(files, {c.path: c for c in report.good})
    assert fast == _bad(files, None) == [(str(nan_file.resolve()), 5, "non_finite_value")]


def test_view_leaves_quarantined_rows_out_and_rows_add_up(lake, tmp_path):
    _, folder, clean, other = lake
    dirty = _write(folder / "c-dirty.parquet", [("B1", "LON", "R1", T0 + dt.timedelta(hours=7), "Foam", 1.0, "-"),
                                                ("B1", "LON", "R1", T0 + dt.timedelta(hours=7), "pH", 7.1, "pH")])  # fmt: skip
    files = [clean, other, dirty]
    report = check_files(files, dict.fromkeys(files, DAY))
    db = tmp_path / "lake.duckdb"
    register_window(
        db, [DAY], [(DAY, c.path, c.rows, c.bytes) for c in report.good], None, {c.path: c for c in report.good}
    )
    rows_in = sum(c.rows for c in report.good)
    assert window_row_count(db, [DAY]) == rows_in - 1
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from raw.bioreactor_readings where tag = 'Foam'").fetchone() == (0,)
        assert con.execute("select reason, tag from raw.quarantined_readings").fetchall() == [("unknown_tag", "Foam")]


def test_domain_checks_name_range_completeness_and_gaps(lake, tmp_path):
    _, folder, clean, other = lake
    # B3: pH missing for a whole hour and for many instants; Temp physically impossible once.
    gappy = _rows("B3", range(0, 6), skip={("pH", m) for m in range(60, 180, 10)})
    gappy = [(*r[:5], 400.0, r[6]) if (r[4], r[3]) == ("Temp", T0 + dt.timedelta(hours=5)) else r for r in gappy]
    _write(folder / "d-gappy.parquet", [(r[0], r[1], "R3", *r[3:]) for r in gappy])
    files = sorted(folder.glob("*.parquet"))
    report = check_files(files, dict.fromkeys(files, DAY))
    db = tmp_path / "lake.duckdb"
    register_window(
        db, [DAY], [(DAY, c.path, c.rows, c.bytes) for c in report.good], None, {c.path: c for c in report.good}
    )
    result = check_window(db, [DAY])
    assert result["Temp"].out_of_range == 1 and result["Temp"].max_value == 400.0 and not result["Temp"].passed
    assert result["pH"].incomplete_batches == ["B3"] and result["pH"].empty_hours == 2 and not result["pH"].passed
    assert result["DO"].passed and result["DO"].mean_interval_s == 600.0

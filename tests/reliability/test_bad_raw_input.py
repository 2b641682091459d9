"""Every kind of bad raw input, fed to the real raw asset (`dagster asset materialize`) next to a
generated day of good data: each is quarantined (the file, or the readings) with its reason,
the good data is loaded, rows in = rows loaded + rows quarantined exactly, the check fails in
Dagster, and the assertion reaches Marquez."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from lineage import naming
from tests.integration.test_lineage_e2e import deliver, get, own_lake
from tests.integration.test_pipeline_e2e import dagster_materialize, latest_metadata

pytestmark = pytest.mark.integration

UTC = dt.UTC
SCHEMA = pa.schema(
    [("batch_id", pa.string()), ("site", pa.string()), ("equipment_id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")),
     ("tag", pa.string()), ("value", pa.float64()), ("unit", pa.string())]
)  # fmt: skip
UNITS = {"pH": "pH", "DO": "%", "Temp": "degC", "Agitation": "rpm", "Glucose": "g/L", "OD600": "AU",
         "AirFlow": "L/min", "Pressure": "bar"}  # fmt: skip


def _write(path: Path, rows: list[tuple]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([dict(zip(SCHEMA.names, r)) for r in rows], schema=SCHEMA), path)
    return len(rows)


def _check(name: str) -> tuple[bool, dict]:
    with dg.DagsterInstance.get() as instance:
        record = instance.get_latest_asset_check_evaluation_record(
            dg.AssetCheckKey(dg.AssetKey("raw_bioreactor_data"), name)
        )
    assert record is not None, f"check {name} never ran"
    evaluation = record.event.dagster_event.event_specific_data
    return evaluation.passed, {k: v.value for k, v in evaluation.metadata.items()}


def _quarantined_rows(duckdb_path: Path) -> dict[str, int]:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return dict(con.execute("select reason, count(*) from raw.quarantined_readings group by 1").fetchall())


def test_every_kind_of_bad_input(tmp_path, monkeypatch, postgres, marquez_factory):
    from orchestration.datagen import generate_bioreactor_data

    monkeypatch.setenv("LAKEHOUSE_RAW_MAX_FILE_BYTES", "1000000")
    with own_lake(tmp_path) as outbox:
        raw = tmp_path / "raw"
        summary = generate_bioreactor_data(
            raw, seed=11, sites=1, reactors_per_site=1, batches_per_reactor=1, sample_interval_s=900,
            start_date="2025-06-01",
        )  # fmt: skip
        day = sorted(d.isoformat() for d in summary.dates)[0]
        folder = raw / f"date={day}"
        midnight = dt.datetime.fromisoformat(day).replace(tzinfo=UTC)
        (generated,) = list(folder.glob("*.parquet"))
        assert generated.stat().st_size < 1_000_000
        original = pq.read_table(generated).to_pylist()

        # Readings: a new batch with good rows (one pH value physically impossible: a domain
        # check, not a quarantine) and one bad row of each row-level kind.
        extra = ("B-EXTRA", "LON", "LON-R99")
        good = [(*extra, midnight + dt.timedelta(hours=1, minutes=15 * i), tag, 7.0 if tag == "pH" else 1.0, unit)
                for i in range(3) for tag, unit in UNITS.items()]  # fmt: skip
        good[0] = (*good[0][:5], 25.0, "pH")
        # NULL is the historian's mark for a lost sample: a dropout, loaded (staging drops it).
        good.append((*extra, midnight + dt.timedelta(hours=1, minutes=45), "Temp", None, "degC"))
        bad = {
            "unknown_tag": [(*extra, midnight + dt.timedelta(hours=2), "Foam", 1.0, "-"),
                            (*extra, midnight + dt.timedelta(hours=2), "", 1.0, "-")],
            "non_finite_value": [(*extra, midnight + dt.timedelta(hours=2), "pH", -math.inf, "pH"),
                                 (*extra, midnight + dt.timedelta(hours=2, minutes=15), "DO", math.inf, "%"),
                                 (*extra, midnight + dt.timedelta(hours=2, minutes=30), "Temp", math.nan, "degC")],
            "future_timestamp": [(*extra, dt.datetime(2099, 1, 1, tzinfo=UTC), "pH", 7.0, "pH")],
            "timestamp_outside_day": [(*extra, midnight - dt.timedelta(minutes=30), "pH", 7.0, "pH")],
        }  # fmt: skip
        rows_in = _write(folder / "mixed.parquet", good + [r for rows in bad.values() for r in rows])
        # A re-sent export: 20 readings already delivered in the generated file.
        resent = [tuple(r[c] for c in SCHEMA.names) for r in original[100:120]]
        rows_in += _write(folder / "resent.parquet", resent)
        # A different value for a reading already delivered: both versions are set aside.
        first = original[0]
        conflicting = (*[first[c] for c in SCHEMA.names[:5]], (first["value"] or 0.0) + 1.0, first["unit"])
        rows_in += _write(folder / "zz-correction.parquet", [conflicting])
        same_key = sum(
            1 for r in original
            if (r["batch_id"], r["equipment_id"], r["ts"], r["tag"].strip().lower())
            == (first["batch_id"], first["equipment_id"], first["ts"], first["tag"].strip().lower())
        )  # fmt: skip
        # Whole files: one filed under the wrong day, one over the size limit, one to be rewritten.
        wrong_day = [(*extra, midnight + dt.timedelta(days=3, hours=i), "pH", 7.0, "pH") for i in range(5)]
        rows_in += _write(folder / "late.parquet", wrong_day)
        noise = np.random.default_rng(1).random(200_000)
        pq.write_table(pa.table({"value": noise}), folder / "huge.parquet", compression="none")
        rows_in += _write(
            folder / "later-fix.parquet", [(*extra[:2], "LON-R98", midnight + dt.timedelta(hours=5), "pH", 7.1, "pH")]
        )
        rows_in += len(original)

        result = dagster_materialize("raw_bioreactor_data", day)
        assert result.returncode == 0, result.stderr[-5000:]
        settings_duckdb = tmp_path / "lakehouse.duckdb"

        # Files: quarantined with machine-readable reasons.
        from lakehouse_core.settings import get_settings

        qdir = get_settings().quarantine_dir
        reasons = {p.name.removesuffix(".reason.json"): json.loads(p.read_text()) for p in qdir.rglob("*.reason.json")}
        assert reasons["late.parquet"]["reasons"] == ["wrong_day"]
        assert reasons["huge.parquet"]["reasons"] == ["oversized"]
        assert not (folder / "late.parquet").exists() and not (folder / "huge.parquet").exists()

        # Readings: each kind with its reason; the rows themselves are kept.
        expected_rows = {kind: len(rows) for kind, rows in bad.items()}
        expected_rows["duplicate_reading"] = 20
        expected_rows["conflicting_reading"] = same_key + 1
        assert _quarantined_rows(settings_duckdb) == expected_rows

        metadata = latest_metadata("raw_bioreactor_data")
        quarantined = sum(expected_rows.values()) + len(wrong_day)  # the oversized file was never opened: 0 rows
        assert metadata["rows_in"] == rows_in
        assert metadata["rows_quarantined"] == quarantined
        assert metadata["dagster/row_count"] == rows_in - quarantined
        with duckdb.connect(str(settings_duckdb), read_only=True) as con:
            (visible,) = con.execute("select count(*) from raw.bioreactor_readings").fetchone()
            extra_rows = con.execute(
                "select count(*) from raw.bioreactor_readings where equipment_id = 'LON-R99'"
            ).fetchone()[0]
        assert visible == rows_in - quarantined
        assert extra_rows == len(good)  # the good readings of the mixed file flow on
        passed, check_meta = _check("row_accounting")
        assert passed and check_meta == {"rows_in": rows_in, "rows_loaded": visible, "rows_quarantined": quarantined}
        assert _check("raw_files_valid")[0] is False
        ph_passed, ph_meta = _check("tag_domain_pH")
        assert ph_passed is False and ph_meta["max_value"] == 25.0 and ph_meta["out_of_range"] == 1
        print(f"\nbad input, first run: rows in {rows_in}, loaded {visible}, quarantined {quarantined} "
              f"(files: wrong_day {len(wrong_day)}, oversized not opened; readings {expected_rows})")  # fmt: skip

        # The rewrite: a file loaded by the first run gets different content.
        _write(
            folder / "later-fix.parquet", [(*extra[:2], "LON-R98", midnight + dt.timedelta(hours=5), "pH", 6.5, "pH")]
        )
        result = dagster_materialize("raw_bioreactor_data", day)
        assert result.returncode == 0, result.stderr[-5000:]
        reasons = {p.name.removesuffix(".reason.json"): json.loads(p.read_text()) for p in qdir.rglob("*.reason.json")}
        assert reasons["later-fix.parquet"]["reasons"] == ["rewritten_after_load"]
        assert "content changed after it was loaded" in reasons["later-fix.parquet"]["problems"][0]
        metadata = latest_metadata("raw_bioreactor_data")
        assert metadata["rows_quarantined"] == sum(expected_rows.values()) + 1
        assert _check("row_accounting")[0] is True and _check("raw_files_valid")[0] is False

        # Marquez: both runs' assertions on the raw dataset.
        from tests.integration.test_lineage_e2e import close_run, latest_run_id

        marquez = marquez_factory.start()
        monkeypatch.setenv("MARQUEZ_URL", marquez.url)  # where the run-end flush delivers
        close_run(latest_run_id())
        deliver(outbox, marquez.url)
        raw_ds = naming.dataset_for_asset("raw_bioreactor_data")  # named after this test's DuckDB file
    ns = requests.utils.quote(raw_ds.namespace, safe="")
    versions = get(marquez.url, f"/namespaces/{ns}/datasets/{raw_ds.name}/versions")
    seen = [
        {a["assertion"]: a["success"] for a in v["facets"]["dataQualityAssertions"]["assertions"]}
        for v in versions["versions"]
        if "dataQualityAssertions" in v["facets"]
    ]
    assert seen and all(s == {"raw_files_valid": False, "row_accounting": True} for s in seen), seen


def test_a_day_whose_only_file_is_bad(tmp_path, postgres):
    """The file sensor starts exactly this run when one bad file lands on a new day: it succeeds,
    writes nothing, quarantines the file with its reason, says so in the run's metadata, and its
    lineage says 0 rows (it used to crash: DuckDB refuses an empty executemany)."""
    from lineage.outbox import Outbox

    with own_lake(tmp_path) as outbox:
        day = "2025-07-01"
        folder = tmp_path / "raw" / f"date={day}"
        late = dt.datetime(2025, 7, 9, tzinfo=UTC)  # every reading on another day than its folder's
        _write(
            folder / "late.parquet",
            [("B1", "LON", "LON-R01", late + dt.timedelta(hours=i), "pH", 7.0, "pH") for i in range(4)],
        )

        result = dagster_materialize("raw_bioreactor_data", day)
        assert result.returncode == 0, result.stderr[-5000:]
        from lakehouse_core.settings import get_settings

        reasons = {p.name: json.loads(p.read_text()) for p in get_settings().quarantine_dir.rglob("*.reason.json")}
        assert reasons["late.parquet.reason.json"]["reasons"] == ["wrong_day"]
        metadata = latest_metadata("raw_bioreactor_data")
        assert metadata["empty_window"] is True
        assert (metadata["dagster/row_count"], metadata["rows_in"], metadata["rows_quarantined"]) == (0, 4, 4)
        assert _check("row_accounting")[0] is True and _check("raw_files_valid")[0] is False

        raw_ds = naming.dataset_for_asset("raw_bioreactor_data")
        completes = [
            json.loads(e.body) for e in Outbox(outbox).events(limit=500)
            if e.event_type == "COMPLETE" and e.job_name == naming.asset_job_name("raw_bioreactor_data")
        ]  # fmt: skip
        assert completes, "the raw asset's run never completed in the lineage"
        (output,) = [o for o in completes[-1]["outputs"] if (o["namespace"], o["name"]) == raw_ds]
        assert output["outputFacets"]["outputStatistics"]["rowCount"] == 0

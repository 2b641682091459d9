"""The bioreactor data generator: file contract, historian artefacts, process behaviour, CLI."""

from __future__ import annotations

import datetime as dt
import math
import tracemalloc
from collections import Counter, defaultdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from orchestration.datagen import TAGS, generate_bioreactor_data
from orchestration.datagen.cli import app

CANONICAL = {"pH": "pH", "DO": "%", "Temp": "degC", "Agitation": "rpm", "Glucose": "g/L", "OD600": "AU",
             "AirFlow": "L/min", "Pressure": "bar"}  # fmt: skip
SMALL = dict(sites=("LON", "BOS"), reactors_per_site=2, batches_per_reactor=1, sample_interval_s=300)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    out = tmp_path_factory.mktemp("lake") / "raw"
    summary = generate_bioreactor_data(out, seed=3, **SMALL)
    table = pa.concat_tables(pq.read_table(path) for path in summary.files)
    return summary, table


def _canonical(tag: str) -> str:
    return {name.lower(): name for name in CANONICAL}[tag.strip().lower()]


def _series(table: pa.Table) -> dict[tuple[str, str], list[tuple[dt.datetime, float]]]:
    """(batch, canonical tag) -> finite readings in time order."""
    series = defaultdict(list)
    for row in table.to_pylist():
        if row["value"] is not None and math.isfinite(row["value"]):
            series[(row["batch_id"], _canonical(row["tag"]))].append((row["ts"], row["value"]))
    return {key: sorted(values) for key, values in series.items()}


def test_schema_is_exact_and_ts_reads_back_as_utc(lake):
    summary, _ = lake
    expected = [
        ("batch_id", pa.string(), False),
        ("site", pa.string(), False),
        ("equipment_id", pa.string(), False),
        ("ts", pa.timestamp("us", tz="UTC"), False),
        ("tag", pa.string(), False),
        ("value", pa.float64(), True),
        ("unit", pa.string(), False),
    ]
    for path in summary.files:
        schema = pq.read_schema(path)
        assert [(f.name, f.type, f.nullable) for f in schema] == expected
    first = pq.read_table(summary.files[0]).column("ts")[0].as_py()
    assert first.tzinfo is not None and first.utcoffset() == dt.timedelta(0)


def test_same_arguments_give_the_same_bytes(tmp_path):
    a = generate_bioreactor_data(tmp_path / "a", seed=11, **SMALL)
    b = generate_bioreactor_data(tmp_path / "b", seed=11, **SMALL)
    c = generate_bioreactor_data(tmp_path / "c", seed=12, **SMALL)
    assert [p.relative_to(a.out_dir) for p in a.files] == [p.relative_to(b.out_dir) for p in b.files]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a.files, b.files))
    assert a.files[0].read_bytes() != (c.out_dir / a.files[0].relative_to(a.out_dir)).read_bytes()


def test_layout_is_date_and_site_of_the_readings(lake):
    summary, table = lake
    assert summary.rows == table.num_rows
    assert summary.bytes == sum(p.stat().st_size for p in summary.files)
    assert summary.batches == 4
    for path in summary.files:
        assert path.relative_to(summary.out_dir).parts[0].startswith("date=")
        part = pq.read_table(path, columns=["site", "ts"])
        dates = {ts.date() for ts in part.column("ts").to_pylist()}
        assert dates == {dt.date.fromisoformat(path.parent.name.removeprefix("date="))}
        assert set(part.column("site").to_pylist()) == {path.name.removeprefix("part-").removesuffix(".parquet")}
    assert summary.dates == sorted({dt.date.fromisoformat(p.parent.name[5:]) for p in summary.files})


def test_every_canonical_tag_with_its_unit(lake):
    _, table = lake
    units = {(row["tag"], row["unit"]) for row in table.to_pylist() if row["tag"] in CANONICAL}
    assert units == set(CANONICAL.items())
    assert [t.name for t in TAGS] == list(CANONICAL)


def test_messy_tags_are_spelling_variants_of_canonical_tags(lake):
    _, table = lake
    tags = Counter(table.column("tag").to_pylist())
    messy = {tag: n for tag, n in tags.items() if tag not in CANONICAL}
    assert messy, "expected some historian-style tag spellings"
    assert 0.002 < sum(messy.values()) / table.num_rows < 0.01
    assert {_canonical(tag) for tag in messy} <= set(CANONICAL)
    assert any(tag != tag.strip() for tag in messy), "some carry stray whitespace"
    assert any(tag.strip() not in CANONICAL for tag in messy), "some differ in case"
    # Each messy row stands for its canonical unit.
    for row in table.to_pylist():
        assert row["unit"] == CANONICAL[_canonical(row["tag"])]


def test_dropouts_spikes_and_duplicate_rows(lake):
    _, table = lake
    values = table.column("value").to_pylist()
    nulls = sum(v is None for v in values)
    # A lost sample is null, as the historian stores it; NaN would be garbage (quarantined at intake).
    assert not any(v is not None and math.isnan(v) for v in values)
    assert 0.0005 < nulls / len(values) < 0.005
    rows = [tuple(r.values()) for r in table.to_pylist()]
    duplicates = len(rows) - len(set(rows))
    assert 0.0003 < duplicates / len(rows) < 0.003
    # A duplicate is written right after the original, as a historian re-sends a reading.
    assert sum(a == b for a, b in zip(rows, rows[1:])) >= duplicates * 0.9
    # A spike: one reading far from both neighbours (further than any process event moves the tag).
    limits = {"pH": 0.5, "Temp": 2.0, "Agitation": 150.0}
    spikes = 0
    for (_, tag), readings in _series(table).items():
        if tag in limits:
            v = [value for _, value in readings]
            spikes += sum(min(abs(b - a), abs(b - c)) > limits[tag] for a, b, c in zip(v, v[1:], v[2:]))
    assert spikes > 0, "expected single wild readings"


def test_batches_overlap_across_reactors_and_run_back_to_back_on_one(tmp_path):
    summary = generate_bioreactor_data(tmp_path / "lake", seed=5, **{**SMALL, "batches_per_reactor": 3})
    spans: dict[str, list] = {}
    for path in summary.files:
        for row in pq.read_table(path, columns=["batch_id", "equipment_id", "ts"]).to_pylist():
            span = spans.setdefault(row["batch_id"], [row["equipment_id"], row["ts"], row["ts"]])
            span[1], span[2] = min(span[1], row["ts"]), max(span[2], row["ts"])
    assert len(spans) == 12
    batches = sorted(spans.items(), key=lambda item: item[1][1])
    cross = [(a, b) for a, sa in batches for b, sb in batches if sa[0] != sb[0] and sa[1] < sb[1] < sa[2]]
    assert cross, "batches on different reactors should overlap in time"
    by_reactor = defaultdict(list)
    for batch, (equipment, start, end) in batches:
        assert batch.startswith(f"B-{equipment}-")
        by_reactor[equipment].append((start, end))
    for runs in by_reactor.values():
        assert all(end < next_start for (_, end), (next_start, _) in zip(runs, runs[1:]))


def test_fed_batch_behaviour(lake):
    _, table = lake
    series = _series(table)
    batches = {batch for batch, _ in series}
    do_all = []
    for batch in batches:
        od = [v for _, v in series[(batch, "OD600")]]
        glucose = [v for _, v in series[(batch, "Glucose")]]
        agitation = [v for _, v in series[(batch, "Agitation")]]
        assert _median(od[:12]) < 2 and _median(od[-72:]) > 60, "OD600 grows from inoculum to stationary phase"
        assert _median(glucose[:6]) > 6.5 and min(glucose) < 2, "glucose starts ~8 g/L and is consumed"
        late = glucose[len(glucose) // 2 :]
        assert max(late) - min(late) > 2, "feeding keeps glucose oscillating after the first depletion"
        assert _median(agitation[:6]) < 260 and max(agitation) > 700, "the DO cascade ramps agitation"
        do_all += [v for _, v in series[(batch, "DO")]]
    assert sum(30 <= v <= 100 for v in do_all) / len(do_all) > 0.9


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def test_target_rows_is_approximated(tmp_path):
    summary = generate_bioreactor_data(tmp_path / "t", sites=1, reactors_per_site=1, target_rows=30_000)
    assert abs(summary.rows - 30_000) / 30_000 < 0.02


def test_a_days_window_is_a_prefix_of_a_longer_run(tmp_path):
    options = dict(sites=2, reactors_per_site=1, sample_interval_s=600)
    longer = generate_bioreactor_data(tmp_path / "longer", batches_per_reactor=3, **options)
    window = generate_bioreactor_data(tmp_path / "window", days=8, **options)
    assert window.dates[0] == dt.date(2025, 1, 1) and window.dates[-1] == dt.date(2025, 1, 8)
    assert window.batches > 2  # the batches running at the window's end are cut, not dropped
    for path in window.files:
        assert path.read_bytes() == (longer.out_dir / path.relative_to(window.out_dir)).read_bytes()


def test_refuses_a_non_empty_directory_and_cleans_only_a_lake(tmp_path):
    out = tmp_path / "lake"
    generate_bioreactor_data(out, **SMALL)
    with pytest.raises(FileExistsError, match="not empty"):
        generate_bioreactor_data(out, **SMALL)
    again = generate_bioreactor_data(out, clean=True, **SMALL)
    assert all(p.exists() for p in again.files)
    (out / "notes.txt").write_text("not ours")
    with pytest.raises(FileExistsError, match="notes.txt"):
        generate_bioreactor_data(out, clean=True, **SMALL)
    assert (out / "notes.txt").exists() and all(p.exists() for p in again.files)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"sample_interval_s": 0}, "sample_interval_s must be > 0"),
        ({"sites": ("LON", "lon")}, "uppercase"),
        ({"sites": ("LON", "LON")}, "unique"),
        ({"batch_days": (5, 2)}, "batch_days"),
        ({"reactors_per_site": 0}, "reactors_per_site"),
        ({"start_date": "01/02/2025"}, "ISO date"),
        ({"target_rows": 10}, "too small"),
    ],
)
def test_bad_options_are_named(tmp_path, options, message):
    with pytest.raises(ValueError, match=message):
        generate_bioreactor_data(tmp_path / "lake", **options)
    assert not (tmp_path / "lake").exists()


def test_memory_does_not_grow_with_the_number_of_batches(tmp_path):
    def peak(batches: int) -> int:
        tracemalloc.start()
        out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        generate_bioreactor_data(out, sites=1, reactors_per_site=1, batches_per_reactor=batches)
        peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak_bytes

    peak(1)  # warm-up: first-use allocations (imports, caches) are not per-row memory
    small, large = peak(1), peak(5)  # ~40k vs ~280k rows: holding them all would take ~7x
    assert large < small * 1.5 + 2**20


def test_cli_writes_and_summarises(tmp_path):
    out = tmp_path / "lake"
    args = ["--out", str(out), "--sites", "LON", "--reactors-per-site", "1", "--batches-per-reactor", "1",
            "--sample-interval", "600", "--no-progress"]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Rows" in result.output and "Files" in result.output
    assert sorted(out.glob("date=*/part-LON.parquet"))

    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 2 and "not empty" in " ".join(refused.output.split())
    assert CliRunner().invoke(app, [*args, "--clean"]).exit_code == 0


def test_cli_rejects_bad_options(tmp_path):
    result = CliRunner().invoke(app, ["--out", str(tmp_path / "x"), "--sample-interval", "0"])
    assert result.exit_code == 2 and "must be > 0" in " ".join(result.output.split())
    result = CliRunner().invoke(app, ["--out", str(tmp_path / "x"), "--reactors-per-site", "0"])
    assert result.exit_code == 2
    assert CliRunner().invoke(app, ["--help"]).exit_code == 0

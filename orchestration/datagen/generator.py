"""Stream a synthetic process-historian export to Parquet: `generate_bioreactor_data`.

Batches run back to back on each reactor, separated by a turnaround (cleaning, sterilising),
and reactors start at staggered times so batches overlap across reactors. The lake is
written date by date: for each UTC date and site, `date=YYYY-MM-DD/part-<site>.parquet` holds
that day's readings of every batch running at the site, ordered by (batch_id, ts, tag) and
appended slice by slice through one ParquetWriter. Only the batches running on the current
date live in memory, and only one slice of at most MAX_SLICE_SAMPLES samples at a time, so
memory stays bounded whatever the total.

Historian artefacts added on write: ~0.5 % of rows carry a messy spelling of their tag
(' ph ', 'TEMP'), and ~0.1 % of readings are written twice (exact duplicate rows).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from orchestration.datagen.simulate import N_TAGS, BatchProcess, draw_params
from orchestration.datagen.tags import TAGS, messy_variants

DEFAULT_OUT_DIR = Path("data/lake/raw/bioreactor")
DEFAULT_SITES = ("LON", "BOS", "SGP")
# Used in this order when `sites` is a count.
SITE_CODES = DEFAULT_SITES + ("BSL", "TKY", "DUB", "SFO", "CPH", "SHA", "RTP", "MUC", "SYD")

MESSY_TAG_RATE = 0.005
DUPLICATE_RATE = 0.001
TURNAROUND_H = (8.0, 24.0)  # between batches on one reactor
STAGGER_JITTER_H = 2.0
MAX_SLICE_SAMPLES = 1 << 17  # ~1M rows: bounds the memory of one simulated slice
ROW_GROUP_ROWS = 1 << 20

MINUTE_US = 60_000_000
HOUR_US = 60 * MINUTE_US
DAY_US = 24 * HOUR_US
_EPOCH = dt.date(1970, 1, 1)
_ROWS_PER_SAMPLE = N_TAGS * (1 + DUPLICATE_RATE)

# Independent random streams per purpose, so e.g. the schedule does not shift the noise.
_STREAM_SCHEDULE, _STREAM_PROCESS, _STREAM_SENSORS, _STREAM_HISTORIAN = 1, 2, 3, 4

SCHEMA = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("site", pa.string(), nullable=False),
        pa.field("equipment_id", pa.string(), nullable=False),
        pa.field("ts", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("tag", pa.string(), nullable=False),
        pa.field("value", pa.float64(), nullable=True),
        pa.field("unit", pa.string(), nullable=False),
    ]
)
# Nothing time- or host-dependent goes into the file, so equal inputs give equal bytes.
_WRITER_OPTIONS = {
    "compression": "zstd",
    "use_dictionary": ["batch_id", "site", "equipment_id", "tag", "unit"],
    "write_statistics": True,
}

# Tag strings as dictionary codes: the canonical names first (code == column), then variants.
_VARIANTS = [messy_variants(t.name) for t in TAGS]
_TAG_STRINGS = pa.array([t.name for t in TAGS] + [v for variants in _VARIANTS for v in variants])
_VARIANT_COUNT = np.array([len(v) for v in _VARIANTS])
_VARIANT_START = N_TAGS + np.concatenate([[0], np.cumsum(_VARIANT_COUNT)[:-1]])
_UNIT_STRINGS = pa.array([t.unit for t in TAGS])


@dataclass(frozen=True)
class PlannedBatch:
    batch_id: str
    site: str
    equipment_id: str
    key: tuple[int, int, int]  # (site, reactor, batch number): seeds the batch's generators
    start_us: int  # inoculation, microseconds since the epoch
    duration_us: int  # of the whole batch
    recorded_us: int  # to the last sample: the duration, or less if a `days` window cuts the batch


@dataclass
class GenerationSummary:
    out_dir: Path
    rows: int
    files: list[Path]
    batches: int
    dates: list[dt.date]
    bytes: int
    sample_interval_s: float  # as used: `target_rows` may have tuned it
    elapsed_s: float = field(compare=False)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.elapsed_s if self.elapsed_s else 0.0


def generate_bioreactor_data(
    out_dir: str | Path = DEFAULT_OUT_DIR,
    *,
    seed: int = 42,
    sites: Sequence[str] | int = DEFAULT_SITES,
    reactors_per_site: int = 2,
    batches_per_reactor: int = 2,
    days: int | None = None,
    start_date: str | dt.date = "2025-01-01",
    batch_days: tuple[float, float] = (3.0, 6.0),
    sample_interval_s: float = 60.0,
    overlap: bool = True,
    target_rows: int | None = None,
    clean: bool = False,
    progress: bool = False,
) -> GenerationSummary:
    """Write a synthetic bioreactor historian export under `out_dir` and summarise it.

    seed: the same arguments and seed give byte-identical files.
    sites: site codes (unique, uppercase letters/digits), or how many of SITE_CODES to use.
    reactors_per_site: reactors `<site>-R01`, `<site>-R02`, ... at each site.
    batches_per_reactor: batches run back to back on each reactor. Ignored when `days` is set.
    days: if set, the run window: reactors run batches until `start_date + days`, and the
        batches still running then are cut at the window's end. A window's files are
        byte-identical to the same dates of a longer run.
    start_date: UTC date the first batch starts.
    batch_days: (shortest, longest) batch duration in days; each batch draws one in between.
    sample_interval_s: seconds between readings of a batch (> 0; fractions allowed).
    overlap: stagger reactor start times so batches overlap across reactors (the realistic
        case); False runs one batch at a time across the whole plant.
    target_rows: approximate total rows wanted. Raises batches_per_reactor as needed (unless
        `days` is set) and tunes sample_interval_s (to the millisecond) to match.
    clean: delete an existing lake at `out_dir` first. Without it a non-empty `out_dir` is an
        error, so two runs never mix. Only `date=*` folders are ever deleted.
    progress: show a progress bar over the dates.
    """
    started = time.perf_counter()
    site_codes = _resolve_sites(sites)
    start = _parse_date(start_date)
    _validate(reactors_per_site, batches_per_reactor, days, batch_days, sample_interval_s, target_rows)
    start_us = _epoch_us(start)
    window_end_us = start_us + days * DAY_US if days is not None else None

    if target_rows is not None and days is None:
        rows_per_batch = _ROWS_PER_SAMPLE * sum(batch_days) / 2 * 86_400 / sample_interval_s
        wanted = round(target_rows / (rows_per_batch * len(site_codes) * reactors_per_site))
        if wanted > 9999:
            raise ValueError(
                f"target_rows={target_rows:,} would need {wanted:,} batches per reactor (at most 9999): "
                "use a shorter sample_interval_s or more sites/reactors"
            )
        batches_per_reactor = max(batches_per_reactor, wanted)
    plan = _plan_batches(
        seed=seed,
        sites=site_codes,
        reactors_per_site=reactors_per_site,
        batches_per_reactor=None if days is not None else batches_per_reactor,
        start_us=start_us,
        window_end_us=window_end_us,
        batch_days=batch_days,
        overlap=overlap,
    )
    if target_rows is not None:
        interval_us = _interval_for_rows(target_rows, plan)
    else:
        interval_us = round(sample_interval_s * 1e6)
    if interval_us < 1:
        raise ValueError(f"sample_interval_s must be at least 1 microsecond, got {sample_interval_s}")

    out = Path(out_dir)
    _prepare_out_dir(out, clean)
    files, rows, dates = _write_lake(out, plan, seed=seed, interval_us=interval_us, progress=progress)
    return GenerationSummary(
        out_dir=out,
        rows=rows,
        files=files,
        batches=len(plan),
        dates=dates,
        bytes=sum(p.stat().st_size for p in files),
        sample_interval_s=interval_us / 1e6,
        elapsed_s=time.perf_counter() - started,
    )


def _plan_batches(
    *,
    seed: int,
    sites: Sequence[str],
    reactors_per_site: int,
    batches_per_reactor: int | None,
    start_us: int,
    window_end_us: int | None,
    batch_days: tuple[float, float],
    overlap: bool,
) -> list[PlannedBatch]:
    """When each batch runs. Every reactor draws its durations and turnarounds from its own
    generator, so adding batches or a window never changes the batches already there."""
    reactors = [(s, site, r) for s, site in enumerate(sites) for r in range(reactors_per_site)]
    rngs = [np.random.default_rng([seed, _STREAM_SCHEDULE, s, r]) for s, _, r in reactors]
    jitter_us = [_minutes_us(rng.uniform(0.0, STAGGER_JITTER_H * 60)) for rng in rngs]
    cycle_us = _minutes_us((sum(batch_days) / 2 * 24 + sum(TURNAROUND_H) / 2) * 60)

    def draw(rng: np.random.Generator) -> tuple[int, int]:
        duration = _minutes_us(rng.uniform(*batch_days) * 24 * 60)
        return duration, _minutes_us(rng.uniform(*TURNAROUND_H) * 60)

    def numbers() -> Iterator[int]:
        number = 1
        while batches_per_reactor is None or number <= batches_per_reactor:
            yield number
            number += 1

    def planned(i: int, number: int, start: int, duration: int) -> PlannedBatch | None:
        recorded = duration
        if window_end_us is not None:
            if start >= window_end_us:
                return None
            recorded = min(duration, window_end_us - 1 - start)
        s, site, r = reactors[i]
        equipment_id = f"{site}-R{r + 1:02d}"
        batch_id = f"B-{equipment_id}-{number:04d}"
        return PlannedBatch(batch_id, site, equipment_id, (s, r, number), start, duration, recorded)

    plan: list[PlannedBatch] = []
    if overlap:
        for i, rng in enumerate(rngs):
            cursor = start_us + i * cycle_us // len(reactors) + jitter_us[i]
            for number in numbers():
                duration, turnaround = draw(rng)
                if (batch := planned(i, number, cursor, duration)) is None:
                    break
                plan.append(batch)
                cursor += duration + turnaround
    else:
        cursor = start_us
        for number in numbers():
            for i, rng in enumerate(rngs):
                duration, turnaround = draw(rng)
                if (batch := planned(i, number, cursor, duration)) is None:
                    return plan
                plan.append(batch)
                cursor += duration + turnaround
    return plan


class _BatchStream:
    """A running batch: its process model and historian, producing Arrow slices in time order."""

    def __init__(self, batch: PlannedBatch, seed: int, interval_us: int) -> None:
        self.batch = batch
        self.interval_us = interval_us
        self.n_samples = batch.recorded_us // interval_us + 1
        params = draw_params(np.random.default_rng([seed, _STREAM_PROCESS, *batch.key]), batch.duration_us / HOUR_US)
        self.process = BatchProcess(params, np.random.default_rng([seed, _STREAM_SENSORS, *batch.key]))
        self.historian_rng = np.random.default_rng([seed, _STREAM_HISTORIAN, *batch.key])

    @property
    def last_sample_us(self) -> int:
        return self.batch.start_us + (self.n_samples - 1) * self.interval_us

    def sample_range(self, begin_us: int, end_us: int) -> tuple[int, int]:
        """Sample numbers [first, stop) whose timestamps fall in [begin_us, end_us)."""
        first = max(0, -(-(begin_us - self.batch.start_us) // self.interval_us))
        stop = min(self.n_samples, -(-(end_us - self.batch.start_us) // self.interval_us))
        return first, max(first, stop)

    def table(self, first: int, stop: int) -> pa.Table:
        samples = np.arange(first, stop, dtype=np.int64)
        values, null_at = self.process.readings(samples * (self.interval_us / HOUR_US))
        n = values.size
        rng = self.historian_rng

        row = np.arange(n)
        tag_code = row % N_TAGS
        messy = rng.integers(0, n, rng.binomial(n, MESSY_TAG_RATE))
        canonical = tag_code[messy]
        tag_code[messy] = _VARIANT_START[canonical] + (rng.random(messy.size) * _VARIANT_COUNT[canonical]).astype(int)
        is_null = np.zeros(n, dtype=bool)
        is_null[null_at] = True
        # A reading written twice lands right after itself.
        twice = np.unique(rng.integers(0, n, rng.binomial(n, DUPLICATE_RATE)))
        row = np.insert(row, twice, twice)

        ts = self.batch.start_us + samples * self.interval_us
        return pa.Table.from_arrays(
            [
                _repeat(self.batch.batch_id, row.size),
                _repeat(self.batch.site, row.size),
                _repeat(self.batch.equipment_id, row.size),
                pa.array(ts[row // N_TAGS], pa.timestamp("us", tz="UTC")),
                _TAG_STRINGS.take(tag_code[row]),
                pa.array(values.reshape(-1)[row], pa.float64(), mask=is_null[row]),
                _UNIT_STRINGS.take(row % N_TAGS),
            ],
            schema=SCHEMA,
        )


def _write_lake(
    out: Path, plan: list[PlannedBatch], *, seed: int, interval_us: int, progress: bool
) -> tuple[list[Path], int, list[dt.date]]:
    if not plan:
        return [], 0, []
    first_day = _day_start_us(min(b.start_us for b in plan))
    end_us = max(b.start_us + b.recorded_us for b in plan) + 1
    by_start = sorted(plan, key=lambda b: b.start_us)
    waiting = {site: deque(b for b in by_start if b.site == site) for site in dict.fromkeys(b.site for b in plan)}
    running: dict[str, list[_BatchStream]] = {site: [] for site in waiting}
    files: list[Path] = []
    dates: list[dt.date] = []
    rows = 0
    n_days = -(-(end_us - first_day) // DAY_US)
    with tqdm(total=n_days, unit="day", desc="bioreactor lake", disable=not progress) as bar:
        for day_start in range(first_day, end_us, DAY_US):
            day_end = day_start + DAY_US
            date = _EPOCH + dt.timedelta(days=day_start // DAY_US)
            for site, queue in waiting.items():
                while queue and queue[0].start_us < day_end:
                    running[site].append(_BatchStream(queue.popleft(), seed, interval_us))
                running[site].sort(key=lambda s: s.batch.batch_id)
                slices = [(s, *s.sample_range(day_start, day_end)) for s in running[site]]
                slices = [(s, first, stop) for s, first, stop in slices if stop > first]
                if slices:
                    path = out / f"date={date.isoformat()}" / f"part-{site}.parquet"
                    rows += _write_file(path, slices)
                    files.append(path)
                    if not dates or dates[-1] != date:
                        dates.append(date)
                running[site] = [s for s in running[site] if s.last_sample_us >= day_end]
            bar.update(1)
            bar.set_postfix(rows=f"{rows:,}", refresh=False)
    return files, rows, dates


def _write_file(path: Path, slices: list[tuple[_BatchStream, int, int]]) -> int:
    """Write one (date, site) file through a temporary name, so a crash never leaves a partial
    file that looks like a finished one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    buffered: list[pa.Table] = []
    buffered_rows = written = 0
    with pq.ParquetWriter(partial, SCHEMA, **_WRITER_OPTIONS) as writer:
        for stream, first, stop in slices:
            for begin in range(first, stop, MAX_SLICE_SAMPLES):
                table = stream.table(begin, min(stop, begin + MAX_SLICE_SAMPLES))
                buffered.append(table)
                buffered_rows += table.num_rows
                if buffered_rows >= ROW_GROUP_ROWS:
                    writer.write_table(pa.concat_tables(buffered), row_group_size=ROW_GROUP_ROWS)
                    written += buffered_rows
                    buffered, buffered_rows = [], 0
        if buffered:
            writer.write_table(pa.concat_tables(buffered), row_group_size=ROW_GROUP_ROWS)
            written += buffered_rows
    os.replace(partial, path)
    return written


def _repeat(text: str, n: int) -> pa.Array:
    """A string column holding one value, built from buffers (no per-row Python objects)."""
    data = text.encode()
    offsets = np.arange(n + 1, dtype=np.int32) * len(data)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data * n))


def _interval_for_rows(target_rows: int, plan: list[PlannedBatch]) -> int:
    """Sample interval (us, whole milliseconds) giving about `target_rows` rows for `plan`:
    rows ~= rows per sample * sum over batches of (duration / interval + 1)."""
    fixed_rows = _ROWS_PER_SAMPLE * len(plan)
    if target_rows <= 2 * fixed_rows:
        raise ValueError(
            f"target_rows={target_rows:,} is too small for {len(plan)} batches "
            f"(at least {int(2 * fixed_rows) + 1:,}); use fewer sites, reactors or batches"
        )
    interval_us = _ROWS_PER_SAMPLE * sum(b.recorded_us for b in plan) / (target_rows - fixed_rows)
    return max(1000, round(interval_us / 1000) * 1000)


def _prepare_out_dir(out: Path, clean: bool) -> None:
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out} exists and is not a directory")
    entries = sorted(out.iterdir()) if out.exists() else []
    if entries and not clean:
        raise FileExistsError(f"{out} is not empty; pass clean=True (CLI: --clean) to replace the lake there")
    foreign = [e.name for e in entries if e.is_symlink() or not e.is_dir() or not e.name.startswith("date=")]
    if foreign:
        raise FileExistsError(
            f"refusing to clean {out}: {foreign[0]!r} is not a date=YYYY-MM-DD partition this generator writes"
        )
    for entry in entries:
        shutil.rmtree(entry)
    out.mkdir(parents=True, exist_ok=True)


def _resolve_sites(sites: Sequence[str] | int) -> tuple[str, ...]:
    if isinstance(sites, int):
        _check_range("sites", sites, 1, len(SITE_CODES))
        return SITE_CODES[:sites]
    codes = tuple(sites)
    if isinstance(sites, str) or not codes:
        raise ValueError(f"sites must be a non-empty list of site codes or a count, got {sites!r}")
    for code in codes:
        if not (code.isascii() and code.isalnum() and code.isupper()):
            raise ValueError(f"site code {code!r} must be uppercase letters and digits, like 'LON'")
    if len(set(codes)) != len(codes):
        raise ValueError(f"site codes must be unique, got {list(codes)}")
    return codes


def _validate(
    reactors_per_site: int,
    batches_per_reactor: int,
    days: int | None,
    batch_days: tuple[float, float],
    sample_interval_s: float,
    target_rows: int | None,
) -> None:
    _check_range("reactors_per_site", reactors_per_site, 1, 99)
    _check_range("batches_per_reactor", batches_per_reactor, 1, 9999)
    if days is not None:
        _check_range("days", days, 1, 36_600)
    low, high = batch_days
    if not 0 < low <= high:
        raise ValueError(f"batch_days must be (shortest, longest) with 0 < shortest <= longest, got {batch_days}")
    if not sample_interval_s > 0:
        raise ValueError(f"sample_interval_s must be > 0 seconds, got {sample_interval_s}")
    if target_rows is not None and target_rows < 1:
        raise ValueError(f"target_rows must be positive, got {target_rows}")


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")


def _parse_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"start_date must be an ISO date like 2025-01-01, got {value!r}") from None


def _epoch_us(date: dt.date) -> int:
    return (date - _EPOCH).days * DAY_US


def _day_start_us(ts_us: int) -> int:
    return ts_us - ts_us % DAY_US


def _minutes_us(minutes: float) -> int:
    return round(minutes) * MINUTE_US

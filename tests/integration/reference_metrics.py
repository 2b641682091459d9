"""An independent computation of the mart's metrics straight from the raw Parquet files.

Plain Python over the rows, sharing no code or SQL with the pipeline, so a test can check
the pipeline's numbers against it.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path

import pyarrow.parquet as pq

SPECS = {  # tag -> (unit, spec_low, spec_high): the product specification
    "pH": ("pH", 6.8, 7.2),
    "DO": ("%", 30.0, 100.0),
    "Temp": ("degC", 36.5, 37.5),
    "Agitation": ("rpm", 100.0, 1000.0),
    "Glucose": ("g/L", 0.5, 10.0),
    "OD600": ("AU", 0.0, 200.0),
    "AirFlow": ("L/min", 0.1, 10.0),
    "Pressure": ("bar", 0.0, 1.0),
}
_CANONICAL = {tag.lower(): tag for tag in SPECS}


def clean_readings(files: list[Path]) -> set[tuple]:
    """Readings as the staging model defines them: trimmed, canonical tags, finite values, deduplicated."""
    readings: set[tuple] = set()
    for path in files:
        table = pq.read_table(path, columns=["batch_id", "site", "equipment_id", "ts", "tag", "value", "unit"])
        for batch, site, equipment, ts, tag, value, unit in zip(*(table[c].to_pylist() for c in table.column_names)):
            canonical = _CANONICAL.get((tag or "").strip().lower())
            if canonical is None or value is None or not math.isfinite(value):
                continue
            if not (batch or "").strip() or ts is None:
                continue
            readings.add((batch.strip(), site.strip(), equipment.strip(), ts, canonical, value, unit.strip()))
    return readings


def mart_rows(files: list[Path]) -> dict[tuple[str, str], dict]:
    """(batch_id, tag) -> the mart's columns, computed from the raw files."""
    by_batch: dict[str, list[tuple]] = defaultdict(list)
    by_batch_tag: dict[tuple[str, str], list[tuple]] = defaultdict(list)
    for reading in clean_readings(files):
        by_batch[reading[0]].append(reading)
        by_batch_tag[(reading[0], reading[4])].append(reading)

    result = {}
    for (batch, tag), readings in by_batch_tag.items():
        batch_readings = by_batch[batch]
        start = min(r[3] for r in batch_readings)
        end = max(r[3] for r in batch_readings)
        ordered = sorted(readings, key=lambda r: (r[3], r[5]))
        values = [r[5] for r in ordered]
        unit, low, high = SPECS[tag]
        in_spec = [low <= v <= high for v in values]
        durations = [(b[3] - a[3]).total_seconds() for a, b in zip(ordered, ordered[1:])]
        total = sum(durations)
        result[(batch, tag)] = {
            "site": batch_readings[0][1],
            "equipment_id": batch_readings[0][2],
            "batch_start": start,
            "batch_end": end,
            "duration_hours": (end - start).total_seconds() / 3600,
            "unit": unit,
            "mean_value": statistics.fmean(values),
            "sd_value": statistics.stdev(values) if len(values) > 1 else None,
            "min_value": min(values),
            "max_value": max(values),
            "reading_count": len(values),
            "time_in_spec_share": (sum(d for d, ok in zip(durations, in_spec) if ok) / total) if total else None,
            "excursion_count": sum(1 for i, ok in enumerate(in_spec) if not ok and (i == 0 or in_spec[i - 1])),
        }
    return result

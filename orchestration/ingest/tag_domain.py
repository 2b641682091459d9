"""Domain checks per tag, over what the raw view shows for a window: range, completeness, gaps.

- range: every value within what the sensor can physically read (PHYSICAL_RANGES; the product
  specification in the `tag_specs` seed is narrower and excursions from it are real process
  events, reported by the marts, not data errors);
- completeness: in each batch, the tag has a non-NULL value at no fewer than MIN_COMPLETENESS of
  the instants any tag of that batch was sampled;
- gaps: no hour inside a batch's span without a value of the tag (judged where the tag is
  sampled at least every half hour).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.ingest.raw_rows import known_tags

# What the instruments can read at all, in the catalogue's units.
PHYSICAL_RANGES: dict[str, tuple[float, float]] = {
    "pH": (0.0, 14.0),
    "DO": (0.0, 200.0),  # % air saturation; supersaturation reads above 100
    "Temp": (-10.0, 150.0),  # degC; steam sterilisation reaches ~121
    "Agitation": (0.0, 5000.0),
    "Glucose": (0.0, 500.0),
    "OD600": (0.0, 1000.0),
    "AirFlow": (0.0, 1000.0),
    "Pressure": (-1.0, 10.0),  # bar gauge
}
MIN_COMPLETENESS = 0.95
GAP_BUCKET_S = 3600  # a gap: an hour inside a batch's span with no value of the tag
# Sampling sparser than this makes empty hours normal: gaps are then not judged.
MAX_INTERVAL_FOR_GAPS_S = GAP_BUCKET_S / 2


@dataclass
class TagDomain:
    tag: str
    readings: int = 0  # with a value (NULL is a dropout)
    out_of_range: int = 0
    min_value: float | None = None
    max_value: float | None = None
    worst_completeness: float | None = None  # lowest share over the batches
    incomplete_batches: list[str] = field(default_factory=list)
    mean_interval_s: float | None = None
    empty_hours: int = 0  # hours inside a batch's span without a value, when sampling is dense enough
    batches_with_gaps: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        out = []
        low, high = PHYSICAL_RANGES.get(self.tag, (float("-inf"), float("inf")))
        if self.out_of_range:
            out.append(f"{self.out_of_range} values outside the physical range [{low:g}, {high:g}]")
        if self.incomplete_batches:
            out.append(
                f"a value at under {MIN_COMPLETENESS:.0%} of the sampled instants in batches "
                f"{', '.join(self.incomplete_batches[:5])} (lowest {self.worst_completeness:.1%})"
            )
        if self.empty_hours:
            out.append(
                f"{self.empty_hours} hours without a value inside batches {', '.join(self.batches_with_gaps[:5])}"
            )
        return out

    @property
    def passed(self) -> bool:
        return not self.problems


def check_window(duckdb_path: Path, days: list[str]) -> dict[str, TagDomain]:
    """One TagDomain per catalogue tag for the window's readings as dbt will see them.

    Aggregates only (no sort, no per-reading state): per tag, batch and hour, then per tag and batch."""
    results = {tag: TagDomain(tag) for tag in known_tags()}
    if not days:
        return results
    first = dt.datetime.fromisoformat(min(days)).replace(tzinfo=dt.UTC)
    end = dt.datetime.fromisoformat(max(days)).replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
    catalogue = [(t.lower(), t, *PHYSICAL_RANGES.get(t, (None, None))) for t in known_tags()]
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute("set enable_progress_bar = false")
        con.execute("create temp table catalogue (tag_key varchar, tag varchar, low double, high double)")
        con.executemany("insert into catalogue values (?, ?, ?, ?)", catalogue)
        rows = con.execute(
            f"""
            with hourly_raw as (  -- on the raw tag spelling and whole hours: cheap keys
                -- epoch microseconds: min/max over integers costs a third of min/max over timestamptz
                select tag as raw_tag, batch_id, e // {GAP_BUCKET_S * 1_000_000} as hour,
                       count(*) as n, count(v) as valid, min(v) as lo, max(v) as hi,
                       min(e) filter (where v is not null) as t0, max(e) filter (where v is not null) as t1
                from (select tag, batch_id, epoch_us(ts) as e,
                             value as v  -- NaN never gets here: quarantined (raw_rows.py)
                      from raw.bioreactor_readings where ts >= $first and ts < $end)
                group by all
            ),
            hourly as (
                select c.tag, trim(h.batch_id) as batch_id, h.hour, sum(h.n) as n, sum(h.valid) as valid,
                       min(h.lo) as lo, max(h.hi) as hi, min(h.t0) as t0, max(h.t1) as t1, any_value(c.low) as low,
                       any_value(c.high) as high
                from hourly_raw h join catalogue c on lower(trim(h.raw_tag)) = c.tag_key
                group by all
            ),
            series as (
                select tag, batch_id, sum(n) as n, sum(valid) as valid, min(lo) as lo, max(hi) as hi,
                       bool_or(lo < low or hi > high) as beyond,
                       count(*) filter (where valid > 0) as hours_with_value,
                       min(hour) filter (where valid > 0) as h0, max(hour) filter (where valid > 0) as h1,
                       (max(t1) - min(t0)) / 1e6 as span_s
                from hourly group by all
            )
            select tag, batch_id, valid, beyond, lo, hi,
                   valid / max(n) over (partition by batch_id) as share,
                   case when valid > 1 then span_s / (valid - 1) end as interval_s,
                   case when h0 is null then 0 else h1 - h0 + 1 - hours_with_value end as empty_hours
            from series
            """,
            {"first": first, "end": end},
        ).fetchall()
        # Values beyond the physical range are rare: counted only for the series that have any.
        beyond = [(tag, batch) for tag, batch, _, flag, *_ in rows if flag]
        counts = {}
        for tag, batch in beyond:
            low, high = PHYSICAL_RANGES.get(tag, (float("-inf"), float("inf")))
            counts[(tag, batch)] = con.execute(
                "select count(*) from raw.bioreactor_readings where ts >= $first and ts < $end "
                "and trim(batch_id) = $batch and lower(trim(tag)) = $tag and (value < $low or value > $high)",
                {"first": first, "end": end, "batch": batch, "tag": tag.lower(), "low": low, "high": high},
            ).fetchone()[0]
    intervals: dict[str, list[float]] = {}
    for tag, batch, valid, _, lo, hi, share, interval_s, empty_hours in rows:
        r = results[tag]
        r.readings += valid
        r.out_of_range += counts.get((tag, batch), 0)
        if lo is not None:
            r.min_value = lo if r.min_value is None else min(r.min_value, lo)
            r.max_value = hi if r.max_value is None else max(r.max_value, hi)
        r.worst_completeness = share if r.worst_completeness is None else min(r.worst_completeness, share)
        if share < MIN_COMPLETENESS:
            r.incomplete_batches.append(batch)
        if interval_s is not None:
            intervals.setdefault(tag, []).append(interval_s)
            if interval_s <= MAX_INTERVAL_FOR_GAPS_S and empty_hours > 0:
                r.empty_hours += int(empty_hours)
                r.batches_with_gaps.append(batch)
    for tag, r in results.items():
        if intervals.get(tag):
            r.mean_interval_s = round(sum(intervals[tag]) / len(intervals[tag]), 3)
        r.incomplete_batches.sort()
        r.batches_with_gaps.sort()
    # A tag with no reading at all in a window that has readings is incomplete everywhere.
    batches = sorted({row[1] for row in rows})
    for r in results.values():
        if batches and r.readings == 0:
            r.worst_completeness, r.incomplete_batches = 0.0, batches
    return results

"""Domain checks per tag, over what the raw view shows for a window: range, completeness, gaps.

- range: every value within what the sensor can physically read (PHYSICAL_RANGES; the product
  specification in the `tag_specs` seed is narrower and excursions from it are real process
  events, reported by the marts, not data errors);
- completeness: in each batch, the tag has a non-NULL value at no fewer than MIN_COMPLETENESS of
  the instants any tag of that batch was sampled;
- gaps: no silence longer than GAP_FACTOR times the tag's usual sampling interval in a batch.
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
GAP_FACTOR = 10.0


@dataclass
class TagDomain:
    tag: str
    readings: int = 0
    out_of_range: int = 0
    min_value: float | None = None
    max_value: float | None = None
    worst_completeness: float | None = None  # lowest share over the batches
    incomplete_batches: list[str] = field(default_factory=list)
    longest_gap_s: float | None = None
    usual_interval_s: float | None = None
    gaps: int = 0  # silences longer than GAP_FACTOR x the usual interval

    @property
    def problems(self) -> list[str]:
        out = []
        low, high = PHYSICAL_RANGES.get(self.tag, (float("-inf"), float("inf")))
        if self.out_of_range:
            out.append(f"{self.out_of_range} values outside the physical range [{low:g}, {high:g}]")
        if self.incomplete_batches:
            out.append(
                f"present at under {MIN_COMPLETENESS:.0%} of the sampled instants in batches "
                f"{', '.join(self.incomplete_batches[:5])} (lowest {self.worst_completeness:.1%})"
            )
        if self.gaps:
            out.append(
                f"{self.gaps} gaps over {GAP_FACTOR:g}x the usual {self.usual_interval_s:g}s interval "
                f"(longest {self.longest_gap_s:g}s)"
            )
        return out

    @property
    def passed(self) -> bool:
        return not self.problems


def check_window(duckdb_path: Path, days: list[str]) -> dict[str, TagDomain]:
    """One TagDomain per catalogue tag for the window's readings as dbt will see them."""
    results = {tag: TagDomain(tag) for tag in known_tags()}
    if not days:
        return results
    first = dt.datetime.fromisoformat(min(days)).replace(tzinfo=dt.timezone.utc)
    end = dt.datetime.fromisoformat(max(days)).replace(tzinfo=dt.timezone.utc) + dt.timedelta(days=1)
    catalogue = [(t.lower(), t, *PHYSICAL_RANGES.get(t, (None, None))) for t in known_tags()]
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute("create temp table catalogue (tag_key varchar, tag varchar, low double, high double)")
        con.executemany("insert into catalogue values (?, ?, ?, ?)", catalogue)
        con.execute(
            # NaN marks a lost sample, like NULL: neither a value nor a reading.
            "create temp table w as select trim(r.batch_id) as batch_id, r.ts, c.tag, "
            "case when isnan(r.value) then null else r.value end as value, c.low, c.high "
            "from raw.bioreactor_readings r join catalogue c on lower(trim(r.tag)) = c.tag_key "
            "where r.ts >= ? and r.ts < ?",
            [first, end],
        )
        for tag, n, bad, lo, hi in con.execute(
            "select tag, count(value), count(*) filter (where value < low or value > high), min(value), max(value) "
            "from w group by tag"
        ).fetchall():
            results[tag].readings, results[tag].out_of_range, results[tag].min_value, results[tag].max_value = n, bad, lo, hi
        completeness = con.execute(
            """
            with instants as (select batch_id, count(distinct ts) as n from w group by batch_id),
                 present as (select tag, batch_id, count(distinct ts) filter (where value is not null) as n
                             from w group by tag, batch_id),
                 tags as (select distinct tag from catalogue),
                 batches as (select distinct batch_id from w)
            select t.tag, b.batch_id, coalesce(p.n, 0) / i.n as share
            from tags t cross join batches b
            join instants i on i.batch_id = b.batch_id
            left join present p on p.tag = t.tag and p.batch_id = b.batch_id
            """
        ).fetchall()
        for tag, batch, share in completeness:
            result = results[tag]
            result.worst_completeness = share if result.worst_completeness is None else min(result.worst_completeness, share)
            if share < MIN_COMPLETENESS:
                result.incomplete_batches.append(batch)
        gaps = con.execute(
            f"""
            with seen as (select distinct tag, batch_id, epoch(ts) as t from w where value is not null),
                 steps as (select tag, t - lag(t) over (partition by tag, batch_id order by t) as step from seen),
                 usual as (select tag, median(step) as interval_s, max(step) as longest from steps where step > 0 group by tag)
            select s.tag, u.interval_s, u.longest, count(*) filter (where s.step > {GAP_FACTOR} * u.interval_s)
            from steps s join usual u using (tag) group by s.tag, u.interval_s, u.longest
            """
        ).fetchall()
        for tag, interval_s, longest, n in gaps:
            results[tag].usual_interval_s, results[tag].longest_gap_s, results[tag].gaps = interval_s, longest, n
    for result in results.values():
        result.incomplete_batches.sort()
    return results

"""The tag catalogue: the eight signals a bioreactor historian records, and how each sensor behaves.

The order of `TAGS` is the column order of the simulated value matrix and the row order of
the tags within one timestamp in the files.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tag:
    name: str  # canonical historian tag
    unit: str
    spec_low: float  # product specification range (the dbt seed holds the same numbers)
    spec_high: float
    noise_abs: float  # sensor noise: standard deviation in the tag's unit ...
    noise_rel: float  # ... plus this fraction of the reading
    decimals: int  # resolution the historian stores
    spike: float  # typical size of a single wild reading
    wiggle: float  # amplitude of slow control-loop hunting around the true value


TAGS: tuple[Tag, ...] = (
    Tag("pH", "pH", 6.8, 7.2, noise_abs=0.004, noise_rel=0.0, decimals=3, spike=0.8, wiggle=0.006),
    Tag("DO", "%", 30.0, 100.0, noise_abs=0.4, noise_rel=0.005, decimals=1, spike=40.0, wiggle=1.5),
    Tag("Temp", "degC", 36.5, 37.5, noise_abs=0.02, noise_rel=0.0, decimals=2, spike=6.0, wiggle=0.04),
    Tag("Agitation", "rpm", 100.0, 1000.0, noise_abs=1.5, noise_rel=0.002, decimals=1, spike=300.0, wiggle=6.0),
    Tag("Glucose", "g/L", 0.5, 10.0, noise_abs=0.04, noise_rel=0.02, decimals=2, spike=5.0, wiggle=0.0),
    Tag("OD600", "AU", 0.0, 200.0, noise_abs=0.02, noise_rel=0.015, decimals=2, spike=60.0, wiggle=0.0),
    Tag("AirFlow", "L/min", 0.1, 10.0, noise_abs=0.01, noise_rel=0.005, decimals=3, spike=4.0, wiggle=0.02),
    Tag("Pressure", "bar", 0.0, 1.0, noise_abs=0.003, noise_rel=0.0, decimals=3, spike=0.6, wiggle=0.004),
)

TAG_NAMES: tuple[str, ...] = tuple(t.name for t in TAGS)
TAG_INDEX: dict[str, int] = {name: i for i, name in enumerate(TAG_NAMES)}


def messy_variants(name: str) -> tuple[str, ...]:
    """Historian-style spellings of a tag that `trim` + case-insensitive matching maps back to it."""
    candidates = (name.lower(), name.upper(), f" {name} ", f"{name} ", f" {name.lower()} ", f"{name.upper()}  ")
    return tuple(dict.fromkeys(c for c in candidates if c != name))

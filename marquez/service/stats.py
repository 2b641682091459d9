"""Statistics: counts per hour over the last day, or per day over the last week."""

from __future__ import annotations

import psycopg

from marquez.model import json as js
from marquez.service.errors import Invalid
from marquez.storage import stats as stored
from marquez.storage.session import Store

KINDS = tuple(stored.TABLES)
# DAY: the last 24 hours by hour; WEEK: the last 7 days by day.
PERIODS = {"DAY": ("hour", 24), "WEEK": ("day", 7)}


def intervals(store: Store, kind: str, period: str, tz: str) -> list[dict]:
    """`tz` is the caller's time zone: intervals start on its hours and days."""
    step, count = PERIODS[period]
    with store.read() as conn:
        try:
            rows = stored.intervals(conn, kind, step, count, tz)
        except psycopg.DataError:  # an unknown or malformed time zone
            raise Invalid(f"unknown time zone {tz!r}") from None
    return [js.stats_interval(r) for r in rows]

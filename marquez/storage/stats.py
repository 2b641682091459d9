"""The statistics query: per interval, how many events arrived or objects existed."""

from __future__ import annotations

# The API's kinds of statistic, and the table each counts.
TABLES = {"lineage-events": "lineage_events", "jobs": "jobs", "datasets": "datasets", "sources": "sources"}


def intervals(conn, kind: str, step: str, count: int, tz: str) -> list[dict]:
    """The last `count` intervals of one `step` ('hour' or 'day') in time zone `tz`, the latest
    ending now: `interval_start`, `interval_end` and the counts (psycopg raises
    InvalidParameterValue for an unknown time zone)."""
    assert step in ("hour", "day")
    table = TABLES[kind]
    buckets = (
        f"generate_series(date_trunc('{step}', now() AT TIME ZONE %(tz)s) - interval '{count - 1} {step}s',"
        f" date_trunc('{step}', now() AT TIME ZONE %(tz)s), interval '1 {step}') AS b"
    )
    if table == "lineage_events":
        # As Marquez: per interval, the events of each terminal/start type.
        counts = ", ".join(
            f"(SELECT count(*) FROM lineage_events e WHERE upper(e.event_type) = '{t}'"
            f" AND date_trunc('{step}', e.event_time AT TIME ZONE %(tz)s) = b) AS {t.lower()}"
            for t in ("FAIL", "START", "COMPLETE", "ABORT")
        )
    else:
        counts = f"(SELECT count(*) FROM {table} t WHERE (t.created_at AT TIME ZONE %(tz)s) < b + interval '1 {step}') AS count"
    return conn.execute(
        f"SELECT b AS interval_start, b + interval '1 {step}' AS interval_end, {counts} FROM {buckets}", {"tz": tz}
    ).fetchall()

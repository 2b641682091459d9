"""Queries on the stored event log (`lineage_events`): a page between two times, and its count."""

from __future__ import annotations

import datetime as dt


def _between(after: dt.datetime | None, before: dt.datetime | None) -> tuple[str, list]:
    where, params = ["TRUE"], []
    if after:
        where.append("event_time >= %s")
        params.append(after)
    if before:
        where.append("event_time <= %s")
        params.append(before)
    return " AND ".join(where), params


def page(conn, after, before, direction: str, limit: int, offset: int) -> list[dict]:
    """`direction` 'asc' or 'desc' (by event time, then as stored)."""
    assert direction in ("asc", "desc")
    clause, params = _between(after, before)
    return conn.execute(
        f"SELECT event, event_time FROM lineage_events WHERE {clause} ORDER BY event_time {direction}, id {direction}"
        " LIMIT %s OFFSET %s",
        (*params, limit, offset),
    ).fetchall()


def count(conn, after, before) -> int:
    clause, params = _between(after, before)
    return conn.execute(f"SELECT count(*) AS n FROM lineage_events WHERE {clause}", params).fetchone()["n"]

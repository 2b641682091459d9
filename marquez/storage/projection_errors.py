"""Events acknowledged but not applied to the model: their count, a page of them, re-queuing them."""

from __future__ import annotations


def count(conn) -> int:
    return conn.execute("SELECT count(*) AS n FROM lineage_events WHERE projection_error IS NOT NULL").fetchone()["n"]


def page(conn, limit: int, offset: int) -> list[dict]:
    return conn.execute(
        "SELECT id, event_type, event_time, received_at, projected_at, run_uuid, job_namespace, job_name, kind,"
        " projection_error FROM lineage_events WHERE projection_error IS NOT NULL ORDER BY id LIMIT %s OFFSET %s",
        (limit, offset),
    ).fetchall()


def requeue(conn) -> int:
    """Hand every failed event to the projector again (after a fix); how many."""
    return conn.execute(
        "UPDATE lineage_events SET projected_at = NULL, projection_error = NULL WHERE projection_error IS NOT NULL"
    ).rowcount

"""Queries on `tags` and the links that tag datasets, dataset fields and jobs."""

from __future__ import annotations

import datetime as dt
import uuid

# The link table of each kind of tagged object, and its key column.
_LINKS = {
    "dataset": ("dataset_tags", "dataset_uuid"),
    "field": ("dataset_field_tags", "field_uuid"),
    "job": ("job_tags", "job_uuid"),
}


def upsert(conn, name: str, description: str | None = None) -> uuid.UUID:
    """Create the tag, or update it (a missing description keeps the one it has)."""
    now = dt.datetime.now(dt.UTC)
    return conn.execute(
        "INSERT INTO tags (uuid, name, description, created_at, updated_at) VALUES (%s,%s,%s,%s,%s)"
        " ON CONFLICT (name) DO UPDATE SET description = COALESCE(EXCLUDED.description, tags.description),"
        " updated_at = EXCLUDED.updated_at RETURNING uuid",
        (uuid.uuid4(), name, description, now, now),
    ).fetchone()["uuid"]


def uuid_of(conn, name: str) -> uuid.UUID | None:
    found = conn.execute("SELECT uuid FROM tags WHERE name = %s", (name,)).fetchone()
    return found["uuid"] if found else None


def page(conn, limit: int, offset: int) -> list[dict]:
    return conn.execute("SELECT * FROM tags ORDER BY name LIMIT %s OFFSET %s", (limit, offset)).fetchall()


def link(conn, kind: str, target: uuid.UUID, tag: uuid.UUID) -> None:
    table, column = _LINKS[kind]
    conn.execute(
        f"INSERT INTO {table} ({column}, tag_uuid, tagged_at) VALUES (%s,%s,%s) ON CONFLICT DO NOTHING",
        (target, tag, dt.datetime.now(dt.UTC)),
    )


def unlink(conn, kind: str, target: uuid.UUID, tag: uuid.UUID) -> None:
    table, column = _LINKS[kind]
    conn.execute(f"DELETE FROM {table} WHERE {column} = %s AND tag_uuid = %s", (target, tag))

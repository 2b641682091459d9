"""Tags on datasets, dataset fields and jobs (PUT adds, DELETE removes); the answer is the object."""

from __future__ import annotations

import datetime as dt
import uuid

from marquez.api.call import Call
from marquez.api.routing import ApiError, Router
from marquez.storage import reads


def upsert_tag(conn, name: str, description: str | None = None) -> uuid.UUID:
    now = dt.datetime.now(dt.timezone.utc)
    return conn.execute(
        "INSERT INTO tags (uuid, name, description, created_at, updated_at) VALUES (%s,%s,%s,%s,%s)"
        " ON CONFLICT (name) DO UPDATE SET description = COALESCE(EXCLUDED.description, tags.description),"
        " updated_at = EXCLUDED.updated_at RETURNING uuid",
        (uuid.uuid4(), name, description, now, now),
    ).fetchone()["uuid"]


def _dataset(conn, ns: str, name: str) -> dict:
    row = conn.execute(
        "SELECT uuid FROM datasets WHERE namespace_name = %s AND name = %s AND NOT is_hidden", (ns, name)
    ).fetchone()
    if row is None:
        raise ApiError(404, f"Dataset '{name}' not found.")
    return row


def _field(conn, ns: str, name: str, field: str) -> dict:
    ds = _dataset(conn, ns, name)
    row = conn.execute("SELECT uuid FROM dataset_fields WHERE dataset_uuid = %s AND name = %s", (ds["uuid"], field)).fetchone()
    if row is None:
        raise ApiError(404, f"Field '{field}' not found.")
    return row


def _job(conn, ns: str, name: str) -> dict:
    row = conn.execute("SELECT uuid FROM jobs WHERE namespace_name = %s AND name = %s AND NOT is_hidden", (ns, name)).fetchone()
    if row is None:
        raise ApiError(404, f"Job '{name}' not found.")
    return row


def _tag(conn, name: str, create: bool) -> uuid.UUID:
    if create:
        return upsert_tag(conn, name)
    row = conn.execute("SELECT uuid FROM tags WHERE name = %s", (name,)).fetchone()
    if row is None:
        raise ApiError(404, f"Tag '{name}' not found.")
    return row["uuid"]


# Where each kind of tag lives: the link table, its key column, how to find the tagged object
# and what to answer.
_TARGETS = {
    "dataset": ("dataset_tags", "dataset_uuid", lambda c, p: _dataset(c, p["ns"], p["name"]),
                lambda c, p: reads.get_dataset(c, p["ns"], p["name"])),
    "field": ("dataset_field_tags", "field_uuid", lambda c, p: _field(c, p["ns"], p["name"], p["field"]),
              lambda c, p: reads.get_dataset(c, p["ns"], p["name"])),
    "job": ("job_tags", "job_uuid", lambda c, p: _job(c, p["ns"], p["name"]),
            lambda c, p: reads.get_job(c, p["ns"], p["name"])),
}  # fmt: skip


def _tagging(kind: str, add: bool):
    table, column, find, answer = _TARGETS[kind]

    def handler(call: Call):
        p = call.params
        with call.write() as conn:
            target = find(conn, p)["uuid"]
            tag = _tag(conn, p["tag"], add)
            if add:
                conn.execute(
                    f"INSERT INTO {table} ({column}, tag_uuid, tagged_at) VALUES (%s,%s,%s) ON CONFLICT DO NOTHING",
                    (target, tag, dt.datetime.now(dt.timezone.utc)),
                )
            else:
                conn.execute(f"DELETE FROM {table} WHERE {column} = %s AND tag_uuid = %s", (target, tag))
            return answer(conn, p)

    return handler


def register(router: Router) -> None:
    for method, add in (("PUT", True), ("POST", True), ("DELETE", False)):
        router.add(method, "namespaces/{ns}/datasets/{name}/tags/{tag}", _tagging("dataset", add))
        router.add(method, "namespaces/{ns}/datasets/{name}/fields/{field}/tags/{tag}", _tagging("field", add))
        router.add(method, "namespaces/{ns}/jobs/{name}/tags/{tag}", _tagging("job", add))

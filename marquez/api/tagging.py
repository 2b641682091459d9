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


def register(router: Router) -> None:
    def dataset_tag(call: Call, add: bool):
        p = call.params
        now = dt.datetime.now(dt.timezone.utc)
        with call.write() as conn:
            ds = _dataset(conn, p["ns"], p["name"])
            tag = _tag(conn, p["tag"], add)
            if add:
                conn.execute(
                    "INSERT INTO dataset_tags VALUES (%s,%s,%s) ON CONFLICT DO NOTHING", (ds["uuid"], tag, now)
                )
            else:
                conn.execute("DELETE FROM dataset_tags WHERE dataset_uuid = %s AND tag_uuid = %s", (ds["uuid"], tag))
            return reads.get_dataset(conn, p["ns"], p["name"])

    def field_tag(call: Call, add: bool):
        p = call.params
        now = dt.datetime.now(dt.timezone.utc)
        with call.write() as conn:
            field = _field(conn, p["ns"], p["name"], p["field"])
            tag = _tag(conn, p["tag"], add)
            if add:
                conn.execute(
                    "INSERT INTO dataset_field_tags VALUES (%s,%s,%s) ON CONFLICT DO NOTHING", (field["uuid"], tag, now)
                )
            else:
                conn.execute("DELETE FROM dataset_field_tags WHERE field_uuid = %s AND tag_uuid = %s", (field["uuid"], tag))
            return reads.get_dataset(conn, p["ns"], p["name"])

    def job_tag(call: Call, add: bool):
        p = call.params
        now = dt.datetime.now(dt.timezone.utc)
        with call.write() as conn:
            job = _job(conn, p["ns"], p["name"])
            tag = _tag(conn, p["tag"], add)
            if add:
                conn.execute("INSERT INTO job_tags VALUES (%s,%s,%s) ON CONFLICT DO NOTHING", (job["uuid"], tag, now))
            else:
                conn.execute("DELETE FROM job_tags WHERE job_uuid = %s AND tag_uuid = %s", (job["uuid"], tag))
            return reads.get_job(conn, p["ns"], p["name"])

    for method, add in (("PUT", True), ("POST", True), ("DELETE", False)):
        router.add(method, "namespaces/{ns}/datasets/{name}/tags/{tag}", lambda c, a=add: dataset_tag(c, a))
        router.add(method, "namespaces/{ns}/datasets/{name}/fields/{field}/tags/{tag}", lambda c, a=add: field_tag(c, a))
        router.add(method, "namespaces/{ns}/jobs/{name}/tags/{tag}", lambda c, a=add: job_tag(c, a))

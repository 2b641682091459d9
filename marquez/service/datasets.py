"""Datasets: one, a namespace's page, versions, soft delete; documents of many in a few queries."""

from __future__ import annotations

import uuid
from collections import defaultdict

from marquez.model import json as js
from marquez.model import subjects
from marquez.service import runs
from marquez.storage import datasets as stored
from marquez.storage import namespaces as stored_namespaces
from marquez.storage.session import Store


def _tags(conn, ids: list) -> dict:
    tags: dict = defaultdict(list)
    for r in stored.tags(conn, ids):
        tags[r["dataset_uuid"]].append(r["name"])
    return tags


def _fields(conn, rows: list[dict]) -> dict:
    """Fields of each dataset's current version, with their tags."""
    ids = [r["uuid"] for r in rows]
    fields: dict = defaultdict(list)
    mapped = {r["uuid"]: set(r["mapped_fields"] or []) for r in rows}
    field_tags: dict = defaultdict(list)
    for r in stored.field_tags(conn, ids):
        field_tags[r["uuid"]].append(r["name"])
    for r in stored.fields(conn, ids):
        # A dataset keeps every field it ever had; its answer shows the current version's.
        if r["name"] in mapped.get(r["dataset_uuid"], ()):
            fields[r["dataset_uuid"]].append(js.field(r, field_tags.get(r["uuid"])))
    return fields


def documents(conn, rows: list[dict]) -> list[dict]:
    if not rows:
        return []
    tags, fields = _tags(conn, [r["uuid"] for r in rows]), _fields(conn, rows)
    return [js.dataset(r, fields.get(r["uuid"], []), tags.get(r["uuid"], [])) for r in rows]


def document(conn, namespace: str, name: str) -> dict | None:
    row = stored.current(conn, namespace, name)
    return documents(conn, [row])[0] if row else None


def get(store: Store, namespace: str, name: str) -> dict | None:
    with store.read(subjects.name(name)) as conn:
        return document(conn, namespace, name)


def page(store: Store, namespace: str, limit: int, offset: int) -> dict | None:
    """None when the namespace does not exist."""
    with store.read() as conn:
        if stored_namespaces.get(conn, namespace) is None:
            return None
        rows = stored.page(conn, namespace, limit, offset)
        return js.page_total_first("datasets", documents(conn, rows), stored.count(conn, namespace))


def hide(store: Store, namespace: str, name: str) -> dict | None:
    """Soft-delete the dataset; its document as it was before, as Marquez answers (None: no such dataset)."""
    with store.write() as conn:
        doc = document(conn, namespace, name)
        if doc is not None:
            stored.hide(conn, namespace, name)
        return doc


def versions(store: Store, namespace: str, name: str, limit: int, offset: int) -> dict | None:
    with store.read(subjects.name(name)) as conn:
        found = stored.row(conn, namespace, name)
        if found is None:
            return None
        # Asked by a symlink: the versions written under it, shown under the dataset's own name
        # (DatasetVersionDao.findAll drops the symlinks' rows of datasets_view).
        ds = stored.by_uuid(conn, found["uuid"]) or found
        rows = stored.versions_page(conn, ds["uuid"], namespace, name, limit, offset)
        total = stored.versions_count(conn, ds["uuid"], namespace, name)
        created_by = runs.by_ids(conn, [r["run_uuid"] for r in rows if r["run_uuid"]])
        tags = _tags(conn, [ds["uuid"]]).get(ds["uuid"], [])
        return js.page(
            "versions", [js.dataset_version(ds, v, created_by.get(v["run_uuid"]), tags) for v in rows], total
        )


def version(store: Store, namespace: str, name: str, version_id: uuid.UUID) -> dict | None:
    with store.read(subjects.name(name)) as conn:
        ds = stored.row(conn, namespace, name, hidden_too=True)
        v = stored.version(conn, ds["uuid"], version_id) if ds else None
        if ds is None or v is None:
            return None
        run = runs.by_ids(conn, [v["run_uuid"]]).get(v["run_uuid"]) if v["run_uuid"] else None
        return js.dataset_version(ds, v, run, _tags(conn, [ds["uuid"]]).get(ds["uuid"], []))

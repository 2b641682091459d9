"""Tags: the list, creating or describing one, and tagging datasets, dataset fields and jobs."""

from __future__ import annotations

import uuid

from marquez.model import json as js
from marquez.service import datasets, jobs
from marquez.service.errors import NotFound
from marquez.storage import datasets as stored_datasets
from marquez.storage import jobs as stored_jobs
from marquez.storage import tags as stored
from marquez.storage.session import Store

KINDS = ("dataset", "field", "job")


def page(store: Store, limit: int, offset: int) -> dict:
    with store.read() as conn:
        rows = stored.page(conn, limit, offset)
    return js.tag_list([js.tag(r) for r in rows])


def put(store: Store, name: str, description: str | None) -> dict:
    with store.write() as conn:
        stored.upsert(conn, name, description)
    return js.tag({"name": name, "description": description})


def _dataset(conn, namespace: str, name: str) -> uuid.UUID:
    found = stored_datasets.uuid_of(conn, namespace, name)
    if found is None:
        raise NotFound(f"Dataset '{name}' not found.")
    return found


def _target(conn, kind: str, namespace: str, name: str, field: str | None) -> uuid.UUID:
    """The tagged object's uuid; NotFound names what is missing."""
    if kind == "dataset":
        return _dataset(conn, namespace, name)
    if kind == "field":
        assert field is not None  # the field routes always name one
        found = stored_datasets.field_uuid(conn, _dataset(conn, namespace, name), field)
        if found is None:
            raise NotFound(f"Field '{field}' not found.")
        return found
    found = stored_jobs.uuid_of(conn, namespace, name)
    if found is None:
        raise NotFound(f"Job '{name}' not found.")
    return found


def tag(store: Store, kind: str, namespace: str, name: str, field: str | None, tag_name: str, add: bool) -> dict | None:
    """Add (creating the tag if new) or remove a tag on a dataset, a dataset's field or a job;
    the tagged dataset or job as it is after."""
    with store.write() as conn:
        target = _target(conn, kind, namespace, name, field)
        if add:
            stored.link(conn, kind, target, stored.upsert(conn, tag_name))
        else:
            tag_id = stored.uuid_of(conn, tag_name)
            if tag_id is None:
                raise NotFound(f"Tag '{tag_name}' not found.")
            stored.unlink(conn, kind, target, tag_id)
        if kind == "job":
            return jobs.document(conn, namespace, name)
        return datasets.document(conn, namespace, name)

"""Runs: one, its facets, and the documents of many runs in a constant number of queries."""

from __future__ import annotations

import uuid
from collections import defaultdict

from marquez.model import json as js
from marquez.model import subjects
from marquez.storage import runs as stored
from marquez.storage.session import Store


def documents(conn, rows: list[dict]) -> list[dict]:
    """The runs as the API answers them, with their inputs/outputs and job versions (batched)."""
    if not rows:
        return []
    io: dict = defaultdict(lambda: {"inputs": [], "outputs": []})
    for r in stored.io(conn, [r["uuid"] for r in rows]):
        io[r["run_uuid"]]["inputs" if r["is_input"] else "outputs"].append(
            js.io_version(r["namespace_name"], r["name"], r["version"], r["facets"])
        )
    jv_ids = [r["job_version_uuid"] for r in rows if r["job_version_uuid"]]
    jvs = {r["uuid"]: js.job_version_id(r) for r in stored.job_versions(conn, jv_ids)} if jv_ids else {}
    return [js.run(r, io.get(r["uuid"]), jvs.get(r["job_version_uuid"])) for r in rows]


def by_ids(conn, ids: list) -> dict[uuid.UUID, dict]:
    """The documents of these runs, by run uuid."""
    return {uuid.UUID(doc["id"]): doc for doc in documents(conn, stored.by_ids(conn, ids))}


def get(store: Store, run_id: uuid.UUID) -> dict | None:
    with store.read(subjects.run(run_id)) as conn:
        row = stored.get(conn, run_id)
        return documents(conn, [row])[0] if row else None


def facets(store: Store, run_id: uuid.UUID, kind: str) -> dict | None:
    """The run's facets (`kind` 'run') or its job's facets ('job'); None when there is no such run."""
    with store.read(subjects.run(run_id)) as conn:
        row = stored.facets(conn, run_id)
    if row is None:
        return None
    return row["job_facets"] if kind == "job" else row["facets"]

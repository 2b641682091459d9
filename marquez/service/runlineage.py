"""GET /runlineage/upstream: a run's upstream runs, as Marquez's LineageService.upstream answers
them: one entry per run (nearest first), its job and the dataset versions it read."""

from __future__ import annotations

import uuid

from marquez.model import json as js
from marquez.storage import runlineage as stored
from marquez.storage.session import Store


def upstream(store: Store, run: uuid.UUID, depth: int) -> dict | None:
    """None when the run is unknown (Marquez: 404)."""
    with store.read() as conn:
        if not stored.run_exists(conn, run):
            return None
        rows = stored.upstream_runs(conn, run, depth)
    runs: dict[uuid.UUID, dict] = {}
    for row in rows:
        entry = runs.get(row["r_uuid"])
        if entry is None:
            entry = runs[row["r_uuid"]] = {
                "job": {
                    "namespace": row["job_namespace"],
                    "name": row["job_name"],
                    "version": str(row["job_version_uuid"]) if row["job_version_uuid"] else None,
                },
                "run": {
                    "id": str(row["r_uuid"]),
                    "start": js.instant(row["started_at"]),
                    "end": js.instant(row["ended_at"]),
                    "status": js.state(row["state"]),
                },
                "inputs": [],
            }
        if row["dataset_name"] is not None:
            entry["inputs"].append(
                {
                    "namespace": row["dataset_namespace"],
                    "name": row["dataset_name"],
                    "version": str(row["dataset_version"]),
                    # Marquez fails (500) on an input no run wrote; we answer null.
                    "producedByRunId": str(row["u_r_uuid"]) if row["u_r_uuid"] else None,
                }
            )
    return {"runs": list(runs.values())}

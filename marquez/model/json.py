"""JSON shapes of the Marquez v1 API, built from storage rows (dicts)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def instant(value: dt.datetime | None) -> str | None:
    """Java's Instant.toString(): UTC, 'Z', fraction only when non-zero, in groups of 3 digits."""
    if value is None:
        return None
    value = value.astimezone(dt.timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    micros = value.microsecond
    if micros:
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    return text + "Z"


def state(value: str | None) -> str:
    return value or "NEW"


def duration_ms(started: dt.datetime | None, ended: dt.datetime | None) -> int | None:
    if started is None or ended is None:
        return None
    return int((ended - started).total_seconds() * 1000)


def namespace(row: dict) -> dict:
    return {
        "name": row["name"],
        "createdAt": instant(row["created_at"]),
        "updatedAt": instant(row["updated_at"]),
        "ownerName": row["owner_name"],
        "description": row["description"],
        "isHidden": row["is_hidden"],
    }


def field(f: dict, tags: list[str] | None = None) -> dict:
    return {"name": f["name"], "type": f.get("type"), "tags": tags or [], "description": f.get("description")}


def dataset_id(namespace_name: str, name: str) -> dict:
    return {"namespace": namespace_name, "name": name}


def run(row: dict, io: dict[str, list[dict]] | None, job_version: dict | None) -> dict:
    io = io or {}
    return {
        "id": str(row["uuid"]),
        "createdAt": instant(row["created_at"]),
        "updatedAt": instant(row["updated_at"]),
        # Marquez 0.51 answers null here even when the nominalTime facet is set (it is in
        # `args` and `facets`); kept for compatibility.
        "nominalStartTime": None,
        "nominalEndTime": None,
        "state": state(row["state"]),
        "startedAt": instant(row["started_at"]),
        "endedAt": instant(row["ended_at"]),
        "durationMs": duration_ms(row["started_at"], row["ended_at"]),
        "args": row["args"],
        "jobVersion": job_version,
        "inputDatasetVersions": io.get("inputs", []),
        "outputDatasetVersions": io.get("outputs", []),
        "facets": row["facets"],
    }


def io_version(namespace_name: str, name: str, version: Any, facets: dict | None = None) -> dict:
    return {
        "datasetVersionId": {"namespace": namespace_name, "name": name, "version": str(version)},
        "facets": facets or {},
    }


def edge(origin: str, destination: str) -> dict:
    return {"origin": origin, "destination": destination}


def dataset_node_id(namespace_name: str, name: str) -> str:
    return f"dataset:{namespace_name}:{name}"


def job_node_id(namespace_name: str, name: str) -> str:
    return f"job:{namespace_name}:{name}"


# Facets Marquez's event model knows by name: it answers them as null when absent.
_RUN_FACETS = ("nominalTime", "parent")
_JOB_FACETS = ("documentation", "sourceCodeLocation", "sql", "jobType")
_DATASET_FACETS = ("documentation", "schema", "dataSource", "description", "lifecycleStateChange", "columnLineage", "symlinks")


def lineage_event(raw: dict, event_time: dt.datetime) -> dict:
    """An event as Marquez's /events/lineage answers it: re-serialized through its event model."""
    out = dict(raw)
    out["eventTime"] = instant(event_time)
    if isinstance(raw.get("run"), dict):
        out["run"] = {**raw["run"], "facets": _known(raw["run"].get("facets"), _RUN_FACETS)}
    if isinstance(raw.get("job"), dict):
        out["job"] = {**raw["job"], "facets": _known(raw["job"].get("facets"), _JOB_FACETS)}
    for side in ("inputs", "outputs"):
        if isinstance(raw.get(side), list):
            out[side] = [_event_dataset(ds) for ds in raw[side]]
    return out


def _known(facets: dict | None, names: tuple[str, ...]) -> dict:
    return {**{n: None for n in names}, **(facets or {})}


def _event_dataset(ds: dict) -> dict:
    facets = _known(ds.get("facets"), _DATASET_FACETS)
    schema = facets.get("schema")
    if isinstance(schema, dict) and isinstance(schema.get("fields"), list):
        facets["schema"] = {**schema, "fields": [{"description": None, **f} for f in schema["fields"]]}
    return {**ds, "facets": facets, "inputFacets": ds.get("inputFacets"), "outputFacets": ds.get("outputFacets")}

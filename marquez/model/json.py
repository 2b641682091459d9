"""Every JSON shape the Marquez v1 API answers, built from storage rows (dicts)."""

from __future__ import annotations

import datetime as dt
from typing import Any


def minutes(value: dt.datetime) -> str:
    """`YYYY-MM-DDTHH:MM`, the year always in four digits (glibc's `%Y` writes year 7 as "7")."""
    return f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M")


def instant(value: dt.datetime | None) -> str | None:
    """Java's Instant.toString(): UTC, 'Z', fraction only when non-zero, in groups of 3 digits."""
    if value is None:
        return None
    value = value.astimezone(dt.UTC)
    text = minutes(value) + value.strftime(":%S")
    micros = value.microsecond
    if micros:
        text += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    return text + "Z"


def state(value: str | None) -> str:
    return value or "NEW"


def zoned(value: dt.datetime) -> str:
    """A time as Marquez writes the ZonedDateTime fields of its event model (eventTime, the
    nominalTime facet): in UTC, 'Z', seconds always, the fraction with trailing zeros trimmed
    (Jackson's ISO_OFFSET_DATE_TIME after reading the time into the UTC context zone)."""
    value = value.astimezone(dt.UTC)
    text = minutes(value) + value.strftime(":%S")
    if value.microsecond:
        text += "." + f"{value.microsecond:06d}".rstrip("0")
    return text + "Z"


def _epoch_ms(value: dt.datetime) -> int:
    """Milliseconds since the epoch, the sub-millisecond part dropped (Instant.toEpochMilli)."""
    delta = value - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def duration_ms(started: dt.datetime | None, ended: dt.datetime | None) -> int | None:
    """Marquez's durationMs: each time cut to milliseconds, then subtracted (RunMapper)."""
    if started is None or ended is None:
        return None
    return _epoch_ms(ended) - _epoch_ms(started)


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


def page(key: str, items: list, total: int) -> dict:
    """A page of a list: the items under `key`, then `totalCount` (namespaces, sources, runs, versions, events)."""
    return {key: items, "totalCount": total}


def page_total_first(key: str, items: list, total: int) -> dict:
    """A page with `totalCount` first, as Marquez orders its datasets and jobs pages."""
    return {"totalCount": total, key: items}


def source(row: dict) -> dict:
    return {
        "type": row["type"],
        "name": row["name"],
        "createdAt": instant(row["created_at"]),
        "updatedAt": instant(row["updated_at"]),
        "connectionUrl": row["connection_url"],
        "description": row["description"],
    }


def tag(row: dict) -> dict:
    return {"name": row["name"], "description": row["description"]}


def tag_list(tags: list[dict]) -> dict:
    # Marquez's tag list has no totalCount.
    return {"tags": tags}


# -- datasets ------------------------------------------------------------------------------------
def dataset_core(r: dict) -> dict:
    """The fields a dataset has in every answer (lists, one dataset, graph nodes)."""
    has_version = r["current_version_uuid"] is not None
    return {
        "id": dataset_id(r["namespace_name"], r["name"]),
        "type": r["type"],
        "name": r["name"],
        "physicalName": r["physical_name"],
        "createdAt": instant(r["created_at"]),
        "updatedAt": instant(r["updated_at"]),
        "namespace": r["namespace_name"],
        "sourceName": r["source_name"],
        "lastModifiedAt": instant(r["last_modified_at"]),
        "lastLifecycleState": r["v_lifecycle"] if has_version else None,
        "description": r["description"],
    }


def dataset(r: dict, fields: list[dict], tags: list[str]) -> dict:
    """A dataset (with its current version's columns) as its page and lists answer it."""
    has_version = r["current_version_uuid"] is not None
    return {
        **dataset_core(r),
        "fields": fields,
        "tags": tags,
        "currentVersion": str(r["current_version_uuid"]) if has_version else None,
        "columnLineage": column_lineage_summary((r["v_facets"] or {}).get("columnLineage")) if has_version else None,
        "facets": r["v_facets"] if has_version else {},
        "deleted": r["is_hidden"],
    }


def dataset_version(ds: dict, v: dict, created_by_run: dict | None, tags: list[str]) -> dict:
    return {
        "id": dataset_id(ds["namespace_name"], ds["name"]),
        "type": ds["type"],
        "name": ds["name"],
        "physicalName": ds["physical_name"],
        "createdAt": instant(v["created_at"]),
        "version": str(v["uuid"]),
        "namespace": ds["namespace_name"],
        "sourceName": ds["source_name"],
        "fields": [field(f) for f in v["fields"]],
        "tags": tags,
        "lifecycleState": v["lifecycle_state"],
        "description": ds["description"],
        "currentSchemaVersion": str(v["schema_version"]) if v["schema_version"] else None,
        "createdByRun": created_by_run,
        "facets": v["facets"],
    }


def column_lineage_summary(facet) -> list[dict] | None:
    """A dataset's columnLineage facet as Marquez lists it on the dataset."""
    if not isinstance(facet, dict) or not isinstance(facet.get("fields"), dict) or not facet["fields"]:
        return None
    out = []
    for name, spec in facet["fields"].items():
        spec = spec if isinstance(spec, dict) else {}
        out.append(
            {
                "name": name,
                "inputFields": [
                    {
                        "namespace": f.get("namespace"),
                        "dataset": f.get("name"),
                        "field": f.get("field"),
                        "transformationDescription": spec.get("transformationDescription"),
                        "transformationType": spec.get("transformationType"),
                    }
                    for f in spec.get("inputFields") or []
                    if isinstance(f, dict)
                ],
                "transformationDescription": spec.get("transformationDescription"),
                "transformationType": spec.get("transformationType"),
            }
        )
    return out


# -- jobs and runs -------------------------------------------------------------------------------
def job(r: dict, runs: list[dict] | None, io: dict, tags: list[str], *, for_graph: bool, listing: bool) -> dict:
    """A job with its latest runs (`runs`, latest first) and its current inputs/outputs (`io`).
    `for_graph`: as a /lineage node shows it; `listing`: as the job list shows it."""
    doc = {
        "id": {"namespace": r["namespace_name"], "name": r["name"]},
        "type": r["type"],
        "name": r["name"],
        "simpleName": r["simple_name"],
        "parentJobName": r["parent_job_name"],
        "parentJobUuid": str(r["parent_job_uuid"]) if r["parent_job_uuid"] else None,
        "createdAt": instant(r["created_at"]),
        "updatedAt": instant(r["updated_at"]),
        "namespace": r["namespace_name"],
        # Marquez's job list shows a job's inputs/outputs through its runs: none without one.
        "inputs": io["inputs"] if runs or not listing else [],
        "outputs": io["outputs"] if runs or not listing else [],
        "location": r["location"],
        "description": r["description"],
        "latestRun": runs[0] if runs else None,
    }
    if for_graph:
        doc["currentRunUuid"] = runs[0]["id"] if runs else None
    else:
        doc.update(
            latestRuns=runs or None,
            facets=r["facets"],
            currentVersion=str(r["current_version_uuid"]) if r["current_version_uuid"] else None,
            labels=labels(r["facets"]),
            tags=tags,
        )
    return doc


def hidden_job(doc: dict) -> dict:
    """A job as its DELETE answers it: Marquez answers the hidden job without runs."""
    doc.update(latestRun=None, latestRuns=None)
    return doc


def labels(facets: dict) -> list[str]:
    """Marquez labels a job with its jobType facet's integration and job type."""
    found = facets.get("jobType")
    job_type = found if isinstance(found, dict) else {}
    return [v for v in (job_type.get("integration"), job_type.get("jobType")) if isinstance(v, str)]


def job_version_id(row: dict) -> dict:
    """A run's `jobVersion`."""
    return {"namespace": row["namespace_name"], "name": row["name"], "version": str(row["version"])}


def job_version(job: dict, v: dict, latest_run: dict | None) -> dict:
    return {
        "id": {"namespace": job["namespace_name"], "name": job["name"], "version": str(v["version"])},
        "name": job["name"],
        "createdAt": instant(v["created_at"]),
        "version": str(v["version"]),
        "namespace": job["namespace_name"],
        "location": v["location"],
        "inputs": [dataset_id(ns, n) for ns, n in v["inputs"]],
        "outputs": [dataset_id(ns, n) for ns, n in v["outputs"]],
        "latestRun": latest_run,
    }


def job_version_run(run: dict, job_facets: dict) -> dict:
    """Marquez's job version page shows the run with its JOB facets and bare inputs/outputs."""
    run["facets"] = job_facets
    for io in run["inputDatasetVersions"] + run["outputDatasetVersions"]:
        io["facets"] = {}
    return run


def job_versions_page(versions: list[dict]) -> dict:
    # Marquez's job versions page has no totalCount.
    return {"versions": versions}


def run_facets(run_id, facets: dict) -> dict:
    return {"runId": str(run_id), "facets": facets}


# -- graphs --------------------------------------------------------------------------------------
def graph(nodes: list[dict]) -> dict:
    return {"graph": nodes}


def node(node_id: str, kind: str, data: dict, in_edges: list[dict], out_edges: list[dict]) -> dict:
    return {"id": node_id, "type": kind, "data": data, "inEdges": in_edges, "outEdges": out_edges}


def dataset_node_data(r: dict) -> dict:
    # A graph node shows the fields of the current version as it was written.
    has_version = r["current_version_uuid"] is not None
    fields = [field(f) for f in (r["v_fields"] or [])] if has_version else []
    return {**dataset_core(r), "fields": fields, "tags": []}


def field_node_id(f: tuple[str, str, str]) -> str:
    return f"datasetField:{f[0]}:{f[1]}:{f[2]}"


def field_node(
    f: tuple[str, str, str],
    version: str | None,
    field_type: str | None,
    spec: dict,
    inputs: list[tuple[str, str, str, str | None]],
    upstream: list,
    downstream: list,
) -> dict:
    """A DATASET_FIELD node of /column-lineage: `f` is (namespace, dataset, field), `inputs` the
    fields it is derived from with their datasets' versions; Marquez draws the edges from the
    derived field (`inEdges` to its `upstream`, `outEdges` to its `downstream`)."""
    transformation = {
        "transformationDescription": spec.get("transformationDescription"),
        "transformationType": spec.get("transformationType"),
    }
    data = {
        "namespace": f[0],
        "dataset": f[1],
        "datasetVersion": version,
        "field": f[2],
        "fieldType": field_type or "",
        **transformation,
        "inputFields": [
            {"namespace": ns, "dataset": ds, "datasetVersion": v, "field": fld, **transformation}
            for ns, ds, fld, v in inputs
        ],
    }
    in_edges = [edge(field_node_id(f), field_node_id(src)) for src in upstream]
    out_edges = [edge(field_node_id(f), field_node_id(dst)) for dst in downstream]
    return node(field_node_id(f), "DATASET_FIELD", data, in_edges, out_edges)


# -- search, statistics, ingest ------------------------------------------------------------------
def search_result(r: dict) -> dict:
    return {
        "type": r["type"],
        "name": r["name"],
        "updatedAt": instant(r["updated_at"]),
        "namespace": r["namespace_name"],
        "nodeId": f"{r['type'].lower()}:{r['namespace_name']}:{r['name']}",
    }


def search(results: list[dict]) -> dict:
    return {"totalCount": len(results), "results": results}


def stats_interval(r: dict) -> dict:
    """One interval of /stats: its bounds (UTC instants) then its counts."""
    r = dict(r)
    item = {"startInterval": instant(r.pop("interval_start").replace(tzinfo=dt.UTC)),
            "endInterval": instant(r.pop("interval_end").replace(tzinfo=dt.UTC))}  # fmt: skip
    item.update(r)
    return item


def batch(outcomes: list[tuple[int, int, list[str] | None]]) -> dict:
    """The answer to POST /lineage/batch from (index, status, errors) per event: 201 stored,
    200 a duplicate of a stored event, 4xx rejected with `errors`."""
    results: list[dict[str, Any]] = [
        {"index": i, "status": status, "errors": errors} if errors is not None
        else {"index": i, "status": status, "duplicate": status == 200}
        for i, status, errors in outcomes
    ]  # fmt: skip
    accepted = sum(1 for r in results if r["status"] < 300)
    return {"accepted": accepted, "rejected": len(results) - accepted, "results": results}


# Facets Marquez's event model knows by name: it answers them as null when absent.
_RUN_FACETS = ("nominalTime", "parent")
_JOB_FACETS = ("documentation", "sourceCodeLocation", "sql", "jobType")
_DATASET_FACETS = (
    "documentation",
    "schema",
    "dataSource",
    "description",
    "lifecycleStateChange",
    "columnLineage",
    "symlinks",
)


def lineage_event(raw: dict, event_time: dt.datetime) -> dict:
    """An event as Marquez's /events/lineage answers it: re-serialized through its event model."""
    out = dict(raw)
    out["eventTime"] = zoned(event_time)
    if isinstance(raw.get("run"), dict):
        run_facets = nominal_time_zoned(raw["run"].get("facets"))
        out["run"] = {**raw["run"], "facets": _known(run_facets, _RUN_FACETS)}
    if isinstance(raw.get("job"), dict):
        out["job"] = {**raw["job"], "facets": _known(raw["job"].get("facets"), _JOB_FACETS)}
    for side in ("inputs", "outputs"):
        if isinstance(raw.get(side), list):
            out[side] = [_event_dataset(ds) for ds in raw[side]]
    return out


def nominal_time_zoned(facets: Any) -> Any:
    """Run facets with the nominalTime facet's two times as Marquez's event model writes them
    (`zoned`); anything else as it came (LineageEvent.NominalTimeRunFacet)."""
    nominal = facets.get("nominalTime") if isinstance(facets, dict) else None
    if not isinstance(nominal, dict):
        return facets
    fixed = dict(nominal)
    for key in ("nominalStartTime", "nominalEndTime"):
        text = fixed.get(key)
        if isinstance(text, str):
            try:
                parsed = dt.datetime.fromisoformat(text.strip())
            except (ValueError, OverflowError):
                continue  # refused before acknowledgement; kept as written if it ever gets here
            fixed[key] = zoned(parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC))
    return {**facets, "nominalTime": fixed}


def _known(facets: dict | None, names: tuple[str, ...]) -> dict:
    return {**dict.fromkeys(names), **(facets or {})}


def _event_dataset(ds: dict) -> dict:
    facets = _known(ds.get("facets"), _DATASET_FACETS)
    schema = facets.get("schema")
    if isinstance(schema, dict) and isinstance(schema.get("fields"), list):
        facets["schema"] = {**schema, "fields": [{"description": None, **f} for f in schema["fields"]]}
    return {**ds, "facets": facets, "inputFacets": ds.get("inputFacets"), "outputFacets": ds.get("outputFacets")}


# -- projection errors (ours) -----------------------------------------------------------------------
def projection_errors(rows: list[dict], total: int) -> dict:
    return {
        "totalCount": total,
        "errors": [
            {
                "id": r["id"],
                "eventType": r["event_type"],
                "eventTime": instant(r["event_time"]),
                "receivedAt": instant(r["received_at"]),
                "kind": r["kind"],
                "job": {"namespace": r["job_namespace"], "name": r["job_name"]},
                "runId": str(r["run_uuid"]) if r["run_uuid"] else None,
                "error": r["projection_error"],
            }
            for r in rows
        ],
    }

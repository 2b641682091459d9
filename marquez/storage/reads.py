"""Read queries: rows from the model, shaped as the Marquez API returns them.

Lists are fetched in a constant number of queries (runs, their inputs/outputs and job
versions in batches), so a page costs the same whatever the size of the store.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

import psycopg

from marquez.model import json as js

DATASET_COLS = "d.*, v.lifecycle_state AS v_lifecycle, v.fields AS v_fields, v.facets AS v_facets, v.mapped_fields"
DATASET_FROM = "datasets d LEFT JOIN dataset_versions v ON v.uuid = d.current_version_uuid"
LATEST_RUNS = 10


# -- runs ----------------------------------------------------------------------------------------
def runs_json(conn: psycopg.Connection, rows: list[dict]) -> list[dict]:
    if not rows:
        return []
    ids = [r["uuid"] for r in rows]
    io: dict = defaultdict(lambda: {"inputs": [], "outputs": []})
    for r in conn.execute(
        "SELECT io.run_uuid, io.is_input, io.facets, d.namespace_name, d.name, v.version FROM run_io io"
        " JOIN dataset_versions v ON v.uuid = io.dataset_version_uuid JOIN datasets d ON d.uuid = v.dataset_uuid"
        " WHERE io.run_uuid = ANY(%s) ORDER BY io.seq",
        (ids,),
    ):
        io[r["run_uuid"]]["inputs" if r["is_input"] else "outputs"].append(
            js.io_version(r["namespace_name"], r["name"], r["version"], r["facets"])
        )
    jv_ids = [r["job_version_uuid"] for r in rows if r["job_version_uuid"]]
    jvs = {}
    if jv_ids:
        for r in conn.execute(
            "SELECT jv.uuid, jv.version, j.namespace_name, j.name FROM job_versions jv JOIN jobs j ON j.uuid = jv.job_uuid"
            " WHERE jv.uuid = ANY(%s)",
            (jv_ids,),
        ):
            jvs[r["uuid"]] = {"namespace": r["namespace_name"], "name": r["name"], "version": str(r["version"])}
    return [js.run(r, io.get(r["uuid"]), jvs.get(r["job_version_uuid"])) for r in rows]


def get_run(conn, run_id: uuid.UUID) -> dict | None:
    row = conn.execute("SELECT * FROM runs WHERE uuid = %s", (run_id,)).fetchone()
    return runs_json(conn, [row])[0] if row else None


def run_facets(conn, run_id: uuid.UUID, kind: str) -> dict | None:
    row = conn.execute("SELECT facets, job_facets FROM runs WHERE uuid = %s", (run_id,)).fetchone()
    if row is None:
        return None
    return row["job_facets"] if kind == "job" else row["facets"]


# -- namespaces ----------------------------------------------------------------------------------
def get_namespace(conn, name: str) -> dict | None:
    row = conn.execute("SELECT * FROM namespaces WHERE name = %s", (name,)).fetchone()
    return js.namespace(row) if row else None


def list_namespaces(conn, limit: int, offset: int) -> dict:
    rows = conn.execute(
        "SELECT * FROM namespaces WHERE NOT is_hidden ORDER BY name LIMIT %s OFFSET %s", (limit, offset)
    ).fetchall()
    total = conn.execute("SELECT count(*) AS n FROM namespaces WHERE NOT is_hidden").fetchone()["n"]
    return {"namespaces": [js.namespace(r) for r in rows], "totalCount": total}


# -- datasets ------------------------------------------------------------------------------------
def _dataset_tags(conn, ids: list) -> dict:
    tags: dict = defaultdict(list)
    for r in conn.execute(
        "SELECT dt.dataset_uuid, t.name FROM dataset_tags dt JOIN tags t ON t.uuid = dt.tag_uuid"
        " WHERE dt.dataset_uuid = ANY(%s) ORDER BY t.name",
        (ids,),
    ):
        tags[r["dataset_uuid"]].append(r["name"])
    return tags


def _dataset_fields(conn, rows: list[dict]) -> dict:
    """Fields of each dataset's current version, with their tags."""
    ids = [r["uuid"] for r in rows]
    fields: dict = defaultdict(list)
    mapped = {r["uuid"]: set(r["mapped_fields"] or []) for r in rows}
    field_tags: dict = defaultdict(list)
    for r in conn.execute(
        "SELECT f.uuid, t.name FROM dataset_field_tags ft JOIN dataset_fields f ON f.uuid = ft.field_uuid"
        " JOIN tags t ON t.uuid = ft.tag_uuid WHERE f.dataset_uuid = ANY(%s) ORDER BY t.name",
        (ids,),
    ):
        field_tags[r["uuid"]].append(r["name"])
    for r in conn.execute(
        "SELECT * FROM dataset_fields WHERE dataset_uuid = ANY(%s) ORDER BY dataset_uuid, position, created_at", (ids,)
    ):
        if r["name"] in mapped.get(r["dataset_uuid"], ()):
            fields[r["dataset_uuid"]].append(js.field(r, field_tags.get(r["uuid"])))
    return fields


def datasets_json(conn, rows: list[dict]) -> list[dict]:
    if not rows:
        return []
    ids = [r["uuid"] for r in rows]
    tags, fields = _dataset_tags(conn, ids), _dataset_fields(conn, rows)
    out = []
    for r in rows:
        has_version = r["current_version_uuid"] is not None
        out.append(
            {
                **dataset_core(r),
                "fields": fields.get(r["uuid"], []),
                "tags": tags.get(r["uuid"], []),
                "currentVersion": str(r["current_version_uuid"]) if has_version else None,
                "columnLineage": column_lineage_summary((r["v_facets"] or {}).get("columnLineage")) if has_version else None,
                "facets": r["v_facets"] if has_version else {},
                "deleted": r["is_hidden"],
            }
        )
    return out


def dataset_core(r: dict) -> dict:
    """The fields a dataset has in every answer (lists, one dataset, graph nodes)."""
    has_version = r["current_version_uuid"] is not None
    return {
        "id": js.dataset_id(r["namespace_name"], r["name"]),
        "type": r["type"],
        "name": r["name"],
        "physicalName": r["physical_name"],
        "createdAt": js.instant(r["created_at"]),
        "updatedAt": js.instant(r["updated_at"]),
        "namespace": r["namespace_name"],
        "sourceName": r["source_name"],
        "lastModifiedAt": js.instant(r["last_modified_at"]),
        "lastLifecycleState": r["v_lifecycle"] if has_version else None,
        "description": r["description"],
    }


def get_dataset(conn, namespace: str, name: str) -> dict | None:
    row = conn.execute(
        f"SELECT {DATASET_COLS} FROM {DATASET_FROM} WHERE d.namespace_name = %s AND d.name = %s AND NOT d.is_hidden",
        (namespace, name),
    ).fetchone()
    return datasets_json(conn, [row])[0] if row else None


def list_datasets(conn, namespace: str, limit: int, offset: int) -> dict:
    rows = conn.execute(
        f"SELECT {DATASET_COLS} FROM {DATASET_FROM} WHERE d.namespace_name = %s AND NOT d.is_hidden"
        " ORDER BY d.name LIMIT %s OFFSET %s",
        (namespace, limit, offset),
    ).fetchall()
    total = conn.execute(
        "SELECT count(*) AS n FROM datasets WHERE namespace_name = %s AND NOT is_hidden", (namespace,)
    ).fetchone()["n"]
    return {"totalCount": total, "datasets": datasets_json(conn, rows)}


def dataset_versions(conn, namespace: str, name: str, limit: int, offset: int) -> dict | None:
    ds = conn.execute(
        "SELECT * FROM datasets WHERE namespace_name = %s AND name = %s AND NOT is_hidden", (namespace, name)
    ).fetchone()
    if ds is None:
        return None
    rows = conn.execute(
        "SELECT * FROM dataset_versions WHERE dataset_uuid = %s ORDER BY created_at DESC, seq DESC LIMIT %s OFFSET %s",
        (ds["uuid"], limit, offset),
    ).fetchall()
    total = conn.execute("SELECT count(*) AS n FROM dataset_versions WHERE dataset_uuid = %s", (ds["uuid"],)).fetchone()["n"]
    run_rows = conn.execute(
        "SELECT * FROM runs WHERE uuid = ANY(%s)", ([r["run_uuid"] for r in rows if r["run_uuid"]],)
    ).fetchall()
    runs = {uuid.UUID(r["id"]): r for r in runs_json(conn, run_rows)}
    tags = _dataset_tags(conn, [ds["uuid"]]).get(ds["uuid"], [])
    return {"versions": [version_json(ds, v, runs.get(v["run_uuid"]), tags) for v in rows], "totalCount": total}


def version_json(ds: dict, v: dict, created_by_run: dict | None, tags: list[str]) -> dict:
    return {
        "id": js.dataset_id(ds["namespace_name"], ds["name"]),
        "type": ds["type"],
        "name": ds["name"],
        "physicalName": ds["physical_name"],
        "createdAt": js.instant(v["created_at"]),
        "version": str(v["uuid"]),
        "namespace": ds["namespace_name"],
        "sourceName": ds["source_name"],
        "fields": [js.field(f) for f in v["fields"]],
        "tags": tags,
        "lifecycleState": v["lifecycle_state"],
        "description": ds["description"],
        "currentSchemaVersion": str(v["schema_version"]) if v["schema_version"] else None,
        "createdByRun": created_by_run,
        "facets": v["facets"],
    }


def get_dataset_version(conn, namespace: str, name: str, version: uuid.UUID) -> dict | None:
    ds = conn.execute(
        "SELECT * FROM datasets WHERE namespace_name = %s AND name = %s", (namespace, name)
    ).fetchone()
    if ds is None:
        return None
    v = conn.execute(
        "SELECT * FROM dataset_versions WHERE dataset_uuid = %s AND (uuid = %s OR version = %s)",
        (ds["uuid"], version, version),
    ).fetchone()
    if v is None:
        return None
    run_rows = conn.execute("SELECT * FROM runs WHERE uuid = %s", (v["run_uuid"],)).fetchall() if v["run_uuid"] else []
    run = runs_json(conn, run_rows)[0] if run_rows else None
    return version_json(ds, v, run, _dataset_tags(conn, [ds["uuid"]]).get(ds["uuid"], []))


# -- jobs ----------------------------------------------------------------------------------------
def jobs_json(conn, rows: list[dict], *, for_graph: bool = False, listing: bool = False) -> list[dict]:
    if not rows:
        return []
    ids = [r["uuid"] for r in rows]
    # In /lineage, Marquez shows for a child job the latest run of its PARENT job.
    run_owner = {r["uuid"]: (r["parent_job_uuid"] or r["uuid"]) if for_graph else r["uuid"] for r in rows}
    latest: dict = defaultdict(list)
    run_rows = conn.execute(
        "SELECT * FROM (SELECT r.*, row_number() OVER (PARTITION BY r.job_uuid ORDER BY r.created_at DESC, r.seq DESC)"
        " AS rn FROM runs r WHERE r.job_uuid = ANY(%s)) x WHERE rn <= %s",
        # The graph shows one run per job; pages show the latest ten.
        (list(set(run_owner.values())), 1 if for_graph else LATEST_RUNS),
    ).fetchall()
    as_json = dict(zip([r["uuid"] for r in run_rows], runs_json(conn, run_rows)))
    for r in sorted(run_rows, key=lambda r: r["rn"]):
        latest[r["job_uuid"]].append(as_json[r["uuid"]])
    io = job_io(conn, ids)
    versions = {}
    cv = [r["current_version_uuid"] for r in rows if r["current_version_uuid"]]
    if cv:
        for r in conn.execute("SELECT uuid, version FROM job_versions WHERE uuid = ANY(%s)", (cv,)):
            versions[r["uuid"]] = r["version"]
    tags: dict = defaultdict(list)
    for r in conn.execute(
        "SELECT jt.job_uuid, t.name FROM job_tags jt JOIN tags t ON t.uuid = jt.tag_uuid WHERE jt.job_uuid = ANY(%s)"
        " ORDER BY t.name",
        (ids,),
    ):
        tags[r["job_uuid"]].append(r["name"])
    out = []
    for r in rows:
        runs = latest.get(run_owner[r["uuid"]])
        doc = {
            "id": {"namespace": r["namespace_name"], "name": r["name"]},
            "type": r["type"],
            "name": r["name"],
            "simpleName": r["simple_name"],
            "parentJobName": r["parent_job_name"],
            "parentJobUuid": str(r["parent_job_uuid"]) if r["parent_job_uuid"] else None,
            "createdAt": js.instant(r["created_at"]),
            "updatedAt": js.instant(r["updated_at"]),
            "namespace": r["namespace_name"],
            # Marquez's job list shows a job's inputs/outputs through its runs: none without one.
            "inputs": io[r["uuid"]]["inputs"] if runs or not listing else [],
            "outputs": io[r["uuid"]]["outputs"] if runs or not listing else [],
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
                labels=_labels(r["facets"]),
                tags=tags.get(r["uuid"], []),
            )
        out.append(doc)
    return out


def job_io(conn, job_ids: list) -> dict:
    io: dict = defaultdict(lambda: {"inputs": [], "outputs": []})
    for r in conn.execute(
        "SELECT io.job_uuid, io.is_input, d.namespace_name, d.name FROM job_io io JOIN datasets d ON d.uuid = io.dataset_uuid"
        " WHERE io.job_uuid = ANY(%s) AND NOT d.is_hidden ORDER BY d.namespace_name, d.name",
        (job_ids,),
    ):
        io[r["job_uuid"]]["inputs" if r["is_input"] else "outputs"].append(js.dataset_id(r["namespace_name"], r["name"]))
    return io


def _job_row(conn, namespace: str, name: str) -> dict | None:
    return conn.execute(
        "SELECT * FROM jobs WHERE namespace_name = %s AND name = %s AND NOT is_hidden", (namespace, name)
    ).fetchone()


def get_job(conn, namespace: str, name: str) -> dict | None:
    row = _job_row(conn, namespace, name)
    return jobs_json(conn, [row])[0] if row else None


def list_jobs(conn, namespace: str | None, limit: int, offset: int, states: list[str] | None = None) -> dict:
    where, params = ["NOT j.is_hidden"], []
    if namespace is not None:
        where.append("j.namespace_name = %s")
        params.append(namespace)
    if states:
        where.append(
            "(SELECT coalesce(r.state, 'NEW') FROM runs r WHERE r.job_uuid = j.uuid"
            " ORDER BY r.created_at DESC, r.seq DESC LIMIT 1) = ANY(%s)"
        )
        params.append(states)
    clause = " AND ".join(where)
    rows = conn.execute(
        f"SELECT j.* FROM jobs j WHERE {clause} ORDER BY j.updated_at DESC, j.name LIMIT %s OFFSET %s", (*params, limit, offset)
    ).fetchall()
    # Marquez counts the jobs before the lastRunStates filter; so do we, for compatibility.
    count_clause = " AND ".join(where[:2] if namespace is not None else where[:1])
    total = conn.execute(f"SELECT count(*) AS n FROM jobs j WHERE {count_clause}", params[: 1 if namespace else 0]).fetchone()["n"]
    return {"totalCount": total, "jobs": jobs_json(conn, rows, listing=True)}


def job_runs(conn, namespace: str, name: str, limit: int, offset: int) -> dict | None:
    job = _job_row(conn, namespace, name)
    if job is None:
        return None
    rows = conn.execute(
        "SELECT * FROM runs WHERE job_uuid = %s ORDER BY created_at DESC, seq DESC LIMIT %s OFFSET %s",
        (job["uuid"], limit, offset),
    ).fetchall()
    total = conn.execute("SELECT count(*) AS n FROM runs WHERE job_uuid = %s", (job["uuid"],)).fetchone()["n"]
    return {"runs": runs_json(conn, rows), "totalCount": total}


def job_versions(conn, namespace: str, name: str, limit: int, offset: int) -> dict | None:
    job = _job_row(conn, namespace, name)
    if job is None:
        return None
    rows = conn.execute(
        "SELECT * FROM job_versions WHERE job_uuid = %s ORDER BY created_at DESC LIMIT %s OFFSET %s",
        (job["uuid"], limit, offset),
    ).fetchall()
    run_rows = conn.execute(
        "SELECT * FROM runs WHERE uuid = ANY(%s)", ([r["latest_run_uuid"] for r in rows if r["latest_run_uuid"]],)
    ).fetchall()
    runs = {uuid.UUID(r["id"]): r for r in runs_json(conn, run_rows)}
    total = conn.execute("SELECT count(*) AS n FROM job_versions WHERE job_uuid = %s", (job["uuid"],)).fetchone()["n"]
    job_facets = {
        r["uuid"]: r["job_facets"] for r in run_rows
    }
    for run_id, run in runs.items():
        # Marquez's job version page shows the run with its JOB facets and bare inputs/outputs.
        run["facets"] = job_facets.get(run_id, {})
        for io in run["inputDatasetVersions"] + run["outputDatasetVersions"]:
            io["facets"] = {}
    return {"versions": [job_version_json(job, v, runs.get(v["latest_run_uuid"])) for v in rows], "totalCount": total}


def job_version_json(job: dict, v: dict, latest_run: dict | None) -> dict:
    return {
        "id": {"namespace": job["namespace_name"], "name": job["name"], "version": str(v["version"])},
        "name": job["name"],
        "createdAt": js.instant(v["created_at"]),
        "version": str(v["version"]),
        "namespace": job["namespace_name"],
        "location": v["location"],
        "inputs": [js.dataset_id(ns, n) for ns, n in v["inputs"]],
        "outputs": [js.dataset_id(ns, n) for ns, n in v["outputs"]],
        "latestRun": latest_run,
    }


def _labels(facets: dict) -> list[str]:
    """Marquez labels a job with its jobType facet's integration and job type."""
    job_type = facets.get("jobType") if isinstance(facets.get("jobType"), dict) else {}
    return [v for v in (job_type.get("integration"), job_type.get("jobType")) if isinstance(v, str)]


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

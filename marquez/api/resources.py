"""Namespaces, sources, datasets, jobs and runs: reads, tags and soft deletes."""

from __future__ import annotations

import uuid

from starlette.responses import Response

from marquez.api.call import Call
from marquez.api.routing import ApiError, Router, int_param
from marquez.storage import reads

MAX_LIMIT = 1000


def _page(call: Call, default: int = 100) -> tuple[int, int]:
    return int_param(call.query, "limit", default, 0, MAX_LIMIT), int_param(call.query, "offset", 0, 0)


def _found(value, what: str, name: str):
    if value is None:
        raise ApiError(404, f"{what} '{name}' not found.")
    return value


def _run_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ApiError(400, f"run id must be a UUID, got {text!r}") from None


def register(router: Router) -> None:
    # -- namespaces ---------------------------------------------------------------------------
    @router.get("namespaces")
    def namespaces(call: Call):
        limit, offset = _page(call)
        with call.read() as conn:
            return reads.list_namespaces(conn, limit, offset)

    @router.get("namespaces/{ns}")
    def namespace(call: Call):
        with call.read() as conn:
            return _found(reads.get_namespace(conn, call.params["ns"]), "Namespace", call.params["ns"])

    @router.delete("namespaces/{ns}")
    def delete_namespace(call: Call):
        ns = call.params["ns"]
        with call.write() as conn:
            _found(reads.get_namespace(conn, ns), "Namespace", ns)
            conn.execute("UPDATE namespaces SET is_hidden = TRUE WHERE name = %s", (ns,))
            conn.execute("UPDATE datasets SET is_hidden = TRUE WHERE namespace_name = %s", (ns,))
            conn.execute("UPDATE jobs SET is_hidden = TRUE WHERE namespace_name = %s", (ns,))
            return reads.get_namespace(conn, ns)

    # -- sources (Marquez answers 500 here once the default source exists; we answer) ----------
    @router.get("sources")
    def sources(call: Call):
        limit, offset = _page(call)
        with call.read() as conn:
            rows = conn.execute("SELECT * FROM sources ORDER BY name LIMIT %s OFFSET %s", (limit, offset)).fetchall()
            total = conn.execute("SELECT count(*) AS n FROM sources").fetchone()["n"]
        return {"sources": [_source(r) for r in rows], "totalCount": total}

    @router.get("sources/{name}")
    def source(call: Call):
        with call.read() as conn:
            row = conn.execute("SELECT * FROM sources WHERE name = %s", (call.params["name"],)).fetchone()
        return _source(_found(row, "Source", call.params["name"]))

    # -- datasets ------------------------------------------------------------------------------
    @router.get("namespaces/{ns}/datasets")
    def datasets(call: Call):
        limit, offset = _page(call)
        with call.read() as conn:
            _found(reads.get_namespace(conn, call.params["ns"]), "Namespace", call.params["ns"])
            return reads.list_datasets(conn, call.params["ns"], limit, offset)

    @router.get("namespaces/{ns}/datasets/{name}")
    def dataset(call: Call):
        with call.read() as conn:
            return _found(reads.get_dataset(conn, call.params["ns"], call.params["name"]), "Dataset", call.params["name"])

    @router.delete("namespaces/{ns}/datasets/{name}")
    def delete_dataset(call: Call):
        ns, name = call.params["ns"], call.params["name"]
        with call.write() as conn:
            doc = _found(reads.get_dataset(conn, ns, name), "Dataset", name)
            conn.execute("UPDATE datasets SET is_hidden = TRUE WHERE namespace_name = %s AND name = %s", (ns, name))
            return doc  # as it was before the delete, as Marquez answers

    @router.get("namespaces/{ns}/datasets/{name}/versions")
    def dataset_versions(call: Call):
        limit, offset = _page(call)
        with call.read() as conn:
            versions = reads.dataset_versions(conn, call.params["ns"], call.params["name"], limit, offset)
        return _found(versions, "Dataset", call.params["name"])

    @router.get("namespaces/{ns}/datasets/{name}/versions/{version}")
    def dataset_version(call: Call):
        with call.read() as conn:
            doc = reads.get_dataset_version(conn, call.params["ns"], call.params["name"], _run_id(call.params["version"]))
        return _found(doc, "Dataset version", call.params["version"])

    # -- jobs ----------------------------------------------------------------------------------
    @router.get("jobs")
    def all_jobs(call: Call):
        limit, offset = _page(call)
        states = [s.strip().upper() for s in call.query.getlist("lastRunStates") + call.query.getlist("runState") if s]
        with call.read() as conn:
            return reads.list_jobs(conn, None, limit, offset, states or None)

    @router.get("namespaces/{ns}/jobs")
    def jobs(call: Call):
        limit, offset = _page(call)
        states = [s.strip().upper() for s in call.query.getlist("lastRunStates") if s]
        with call.read() as conn:
            _found(reads.get_namespace(conn, call.params["ns"]), "Namespace", call.params["ns"])
            return reads.list_jobs(conn, call.params["ns"], limit, offset, states or None)

    @router.get("namespaces/{ns}/jobs/{name}")
    def job(call: Call):
        with call.read() as conn:
            return _found(reads.get_job(conn, call.params["ns"], call.params["name"]), "Job", call.params["name"])

    @router.delete("namespaces/{ns}/jobs/{name}")
    def delete_job(call: Call):
        ns, name = call.params["ns"], call.params["name"]
        with call.write() as conn:
            doc = _found(reads.get_job(conn, ns, name), "Job", name)
            conn.execute("UPDATE jobs SET is_hidden = TRUE WHERE namespace_name = %s AND name = %s", (ns, name))
            doc.update(latestRun=None, latestRuns=None)  # Marquez answers the hidden job without runs
            return doc

    @router.get("namespaces/{ns}/jobs/{name}/runs")
    def job_runs(call: Call):
        limit, offset = _page(call)
        with call.read() as conn:
            return _found(reads.job_runs(conn, call.params["ns"], call.params["name"], limit, offset), "Job", call.params["name"])

    @router.get("namespaces/{ns}/jobs/{name}/versions")
    def job_versions(call: Call):
        limit, offset = _page(call)
        with call.read() as conn:
            doc = reads.job_versions(conn, call.params["ns"], call.params["name"], limit, offset)
        doc = _found(doc, "Job", call.params["name"])
        doc.pop("totalCount", None)  # Marquez's job versions page has no totalCount
        return doc

    # -- runs ----------------------------------------------------------------------------------
    @router.get("jobs/runs/{id}")
    def run(call: Call):
        with call.read() as conn:
            return _found(reads.get_run(conn, _run_id(call.params["id"])), "Run", call.params["id"])

    @router.get("jobs/runs/{id}/facets")
    def run_facets(call: Call):
        kind = (call.query.get("type") or "run").lower()
        if kind not in ("run", "job"):
            raise ApiError(400, f"query param type must be 'run' or 'job', got {kind!r}")
        run_id = _run_id(call.params["id"])
        with call.read() as conn:
            facets = _found(reads.run_facets(conn, run_id, kind), "Run", call.params["id"])
        if not facets:
            return Response(status_code=200)  # Marquez answers an empty body when there are none
        return {"runId": str(run_id), "facets": facets}


def _source(row: dict) -> dict:
    from marquez.model.json import instant

    return {
        "type": row["type"],
        "name": row["name"],
        "createdAt": instant(row["created_at"]),
        "updatedAt": instant(row["updated_at"]),
        "connectionUrl": row["connection_url"],
        "description": row["description"],
    }



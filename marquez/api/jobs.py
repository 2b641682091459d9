"""Jobs: all of them, a namespace's, one (GET, DELETE), its runs and its versions (all, or one by id)."""

from __future__ import annotations

from marquez.api.errors import found
from marquez.api.params import page, run_id, states
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.service import jobs


def register(router: Router) -> None:
    @router.get("jobs")
    def list_all_jobs(req: ApiRequest):
        limit, offset = page(req.query)
        # `runState` too: the Marquez UI's name for it.
        return jobs.page(req.store, None, limit, offset, states(req.query, "lastRunStates", "runState"))

    @router.get("namespaces/{ns}/jobs")
    def list_jobs(req: ApiRequest):
        limit, offset = page(req.query)
        doc = jobs.page(req.store, req.params["ns"], limit, offset, states(req.query, "lastRunStates"))
        return found(doc, "Namespace", req.params["ns"])

    @router.get("namespaces/{ns}/jobs/{name}")
    def get_job(req: ApiRequest):
        return found(jobs.get(req.store, req.params["ns"], req.params["name"]), "Job", req.params["name"])

    @router.delete("namespaces/{ns}/jobs/{name}")
    def delete_job(req: ApiRequest):
        return found(jobs.hide(req.store, req.params["ns"], req.params["name"]), "Job", req.params["name"])

    @router.get("namespaces/{ns}/jobs/{name}/runs")
    def list_runs(req: ApiRequest):
        limit, offset = page(req.query)
        doc = jobs.runs_of(req.store, req.params["ns"], req.params["name"], limit, offset)
        return found(doc, "Job", req.params["name"])

    @router.get("namespaces/{ns}/jobs/{name}/versions")
    def list_versions(req: ApiRequest):
        limit, offset = page(req.query)
        doc = jobs.versions(req.store, req.params["ns"], req.params["name"], limit, offset)
        return found(doc, "Job", req.params["name"])

    @router.get("namespaces/{ns}/jobs/{name}/versions/{version}")
    def get_version(req: ApiRequest):
        ns, name, version = req.params["ns"], req.params["name"], req.params["version"]
        # A version id is a UUID, checked as a run id is (same message).
        return found(jobs.version(req.store, ns, name, run_id(version)), "Job version", version)

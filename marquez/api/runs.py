"""GET /jobs/runs/{id} and GET /jobs/runs/{id}/facets."""

from __future__ import annotations

from starlette.responses import Response

from marquez.api.errors import ApiError, found
from marquez.api.params import run_id
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.model import json as js
from marquez.service import runs


def register(router: Router) -> None:
    @router.get("jobs/runs/{id}")
    def get_run(req: ApiRequest):
        return found(runs.get(req.store, run_id(req.params["id"])), "Run", req.params["id"])

    @router.get("jobs/runs/{id}/facets")
    def get_facets(req: ApiRequest):
        kind = (req.query.get("type") or "run").lower()
        if kind not in ("run", "job"):
            raise ApiError(400, f"query param type must be 'run' or 'job', got {kind!r}")
        rid = run_id(req.params["id"])
        facets = found(runs.facets(req.store, rid, kind), "Run", req.params["id"])
        if not facets:
            return Response(status_code=200)  # Marquez answers an empty body when there are none
        return js.run_facets(rid, facets)

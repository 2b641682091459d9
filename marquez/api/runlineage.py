"""GET /runlineage/upstream?runId=&depth=: the runs upstream of a run (OpenLineageResource)."""

from __future__ import annotations

from marquez.api.errors import found
from marquez.api.params import int_param, required, run_id
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.limits import MAX_GRAPH_DEPTH
from marquez.service import runlineage


def register(router: Router) -> None:
    @router.get("runlineage/upstream")
    def upstream(req: ApiRequest):
        text = required(req.query, "runId")
        depth = int_param(req.query, "depth", 20, 0, MAX_GRAPH_DEPTH)  # Marquez's DEFAULT_DEPTH
        return found(runlineage.upstream(req.store, run_id(text), depth), "Run", text)

"""GET /lineage and GET /column-lineage."""

from __future__ import annotations

from marquez import limits
from marquez.api.params import int_param, required
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.service import columns, graph

MAX_DEPTH = limits.MAX_GRAPH_DEPTH


def register(router: Router) -> None:
    @router.get("lineage")
    def get_lineage(req: ApiRequest):
        node_id = required(req.query, "nodeId")
        return graph.lineage(req.store, node_id, int_param(req.query, "depth", 20, 0, MAX_DEPTH))

    @router.get("column-lineage")
    def get_column_lineage(req: ApiRequest):
        node_id = required(req.query, "nodeId")
        depth = int_param(req.query, "depth", 20, 0, MAX_DEPTH)
        downstream = (req.query.get("withDownstream") or "false").lower() == "true"
        return columns.column_lineage(req.store, node_id, depth, downstream)

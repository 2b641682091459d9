"""GET /lineage and GET /column-lineage."""

from __future__ import annotations

from marquez.api.call import Call
from marquez.api.routing import ApiError, Router, int_param
from marquez.storage import columns
from marquez.storage.graph import NodeNotFound, lineage

MAX_DEPTH = 100


def register(router: Router) -> None:
    @router.get("lineage")
    def get_lineage(call: Call):
        node_id = call.query.get("nodeId")
        if not node_id:
            raise ApiError(400, ["query param nodeId must not be null"])
        depth = int_param(call.query, "depth", 20, 0, MAX_DEPTH)
        with call.read() as conn:
            try:
                return lineage(conn, node_id, depth)
            except NodeNotFound as exc:
                raise ApiError(404, str(exc)) from None

    @router.get("column-lineage")
    def get_column_lineage(call: Call):
        node_id = call.query.get("nodeId")
        if not node_id:
            raise ApiError(400, ["query param nodeId must not be null"])
        depth = int_param(call.query, "depth", 20, 0, MAX_DEPTH)
        downstream = (call.query.get("withDownstream") or "false").lower() == "true"
        with call.read() as conn:
            try:
                return columns.column_lineage(conn, node_id, depth, downstream)
            except NodeNotFound as exc:
                raise ApiError(404, str(exc)) from None

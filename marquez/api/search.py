"""GET /search: datasets and jobs by name."""

from __future__ import annotations

from marquez import limits
from marquez.api.errors import ApiError
from marquez.api.params import int_param, required
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.service import search


def register(router: Router) -> None:
    @router.get("search")
    def search_names(req: ApiRequest):
        text = required(req.query, "q")
        kind = (req.query.get("filter") or "").upper() or None
        if kind and kind not in search.KINDS:
            raise ApiError(400, f"query param filter must be DATASET or JOB, got {kind!r}")
        sort = (req.query.get("sort") or "UPDATE_AT").upper()
        if sort not in search.SORTS:
            raise ApiError(400, "query param sort must be NAME or UPDATE_AT")
        limit = int_param(req.query, "limit", 10, 0, limits.MAX_LIMIT)
        return search.search(req.store, text, kind, req.query.get("namespace"), sort, limit)

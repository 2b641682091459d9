"""GET /sources, GET /sources/{name} (Marquez answers 500 for the list once its default source exists; we answer)."""

from __future__ import annotations

from marquez.api.errors import found
from marquez.api.params import page
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.service import sources


def register(router: Router) -> None:
    @router.get("sources")
    def list_sources(req: ApiRequest):
        limit, offset = page(req.query)
        return sources.page(req.store, limit, offset)

    @router.get("sources/{name}")
    def get_source(req: ApiRequest):
        return found(sources.get(req.store, req.params["name"]), "Source", req.params["name"])

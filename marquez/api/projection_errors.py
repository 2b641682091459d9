"""GET /projection-errors: acknowledged events the projector could not apply (with why);
POST /projection-errors/retry hands them to the projector again. Ours: Marquez has none."""

from __future__ import annotations

from marquez.api.params import page
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.service import projection_errors


def register(router: Router) -> None:
    @router.get("projection-errors")
    def list_errors(req: ApiRequest):
        limit, offset = page(req.query)
        return projection_errors.page(req.store, limit, offset)

    @router.post("projection-errors/retry")
    def retry(req: ApiRequest):
        return projection_errors.requeue(req.store)

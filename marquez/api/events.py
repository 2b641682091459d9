"""GET /events/lineage: the stored events, between two times."""

from __future__ import annotations

from marquez import limits
from marquez.api.errors import ApiError
from marquez.api.params import int_param, time_param
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.service import events


def register(router: Router) -> None:
    @router.get("events/lineage")
    def list_events(req: ApiRequest):
        after, before = time_param(req.query, "after"), time_param(req.query, "before")
        direction = (req.query.get("sortDirection") or "desc").lower()
        if direction not in ("asc", "desc"):
            raise ApiError(400, "query param sortDirection must be asc or desc")
        limit = int_param(req.query, "limit", 100, 0, limits.MAX_EVENTS_LIMIT)
        offset = int_param(req.query, "offset", 0, 0)
        return events.page(req.store, after, before, direction, limit, offset)

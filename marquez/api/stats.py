"""GET /stats/{lineage-events,jobs,datasets,sources}: counts per interval."""

from __future__ import annotations

from marquez.api.errors import ApiError
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.service import stats


def register(router: Router) -> None:
    @router.get("stats/{kind}")
    def get_stats(req: ApiRequest):
        period = (req.query.get("period") or "DAY").upper()
        if period not in stats.PERIODS:
            raise ApiError(400, "query param period must be DAY or WEEK")
        if req.params["kind"] not in stats.KINDS:
            raise ApiError(404, "HTTP 404 Not Found")
        return stats.intervals(req.store, req.params["kind"], period, req.query.get("timezone") or "UTC")

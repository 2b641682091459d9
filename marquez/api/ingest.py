"""POST /lineage (one event) and POST /lineage/batch (many; ours, Marquez has none: #2918)."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from marquez import limits
from marquez.api.errors import ApiError
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.model.events import EventError, decode, parse
from marquez.service import ingest

MAX_BATCH = limits.MAX_BATCH


def _rejected(exc: EventError) -> ApiError:
    return ApiError(exc.status, exc.errors if exc.status == 422 else exc.errors[0])


def register(router: Router) -> None:
    @router.post("lineage")
    def post_event(req: ApiRequest):
        try:
            event = parse(decode(req.body), max_future_s=req.max_future_s)
        except EventError as exc:
            raise _rejected(exc) from None
        # Acknowledged once stored (durable); the projector applies it to the model.
        ingest.record(req.store, event)
        return Response(status_code=201)

    @router.post("lineage/batch")
    def post_batch(req: ApiRequest):
        try:
            payload = decode(req.body)
        except EventError as exc:
            raise _rejected(exc) from None
        if not isinstance(payload, list):
            raise ApiError(400, "the batch body must be a JSON array of OpenLineage events")
        if len(payload) > MAX_BATCH:
            raise ApiError(413, f"a batch holds at most {MAX_BATCH} events, got {len(payload)}")
        body = ingest.record_batch(req.store, payload, req.max_future_s)
        return Response(orjson.dumps(body), status_code=200, media_type="application/json")

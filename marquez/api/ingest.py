"""POST /lineage (one event) and POST /lineage/batch (many; ours, Marquez has none: #2918)."""

from __future__ import annotations

import orjson
from starlette.responses import Response

from marquez.api.call import Call
from marquez.api.routing import ApiError, Router
from marquez.model.events import EventError, decode, parse
from marquez.storage.ingest import store_event

MAX_BATCH = 5000


def _rejected(exc: EventError) -> ApiError:
    return ApiError(exc.status, exc.errors if exc.status == 422 else exc.errors[0])


def register(router: Router) -> None:
    @router.post("lineage")
    def post_event(call: Call):
        try:
            event = parse(decode(call.body))
        except EventError as exc:
            raise _rejected(exc) from None
        # Acknowledged once stored (durable); the projector applies it to the model.
        with call.autocommit() as conn:
            store_event(conn, event)  # durable once this returns; the projector is notified
        return Response(status_code=201)

    @router.post("lineage/batch")
    def post_batch(call: Call):
        try:
            payload = decode(call.body)
        except EventError as exc:
            raise _rejected(exc) from None
        if not isinstance(payload, list):
            raise ApiError(400, "the batch body must be a JSON array of OpenLineage events")
        if len(payload) > MAX_BATCH:
            raise ApiError(413, f"a batch holds at most {MAX_BATCH} events, got {len(payload)}")
        results = []
        # One transaction, one commit: good events are stored together, bad ones answered apart.
        with call.write(model=False) as conn:
            for index, item in enumerate(payload):
                try:
                    event = parse(item)
                except EventError as exc:
                    results.append({"index": index, "status": exc.status, "errors": exc.errors})
                    continue
                stored = store_event(conn, event) is not None
                results.append({"index": index, "status": 201 if stored else 200, "duplicate": not stored})
        accepted = sum(1 for r in results if r["status"] < 300)
        body = {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
        return Response(orjson.dumps(body), status_code=200, media_type="application/json")

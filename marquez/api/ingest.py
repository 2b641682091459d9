"""POST /lineage (one event) and POST /lineage/batch (many; ours, Marquez has none: #2918)."""

from __future__ import annotations

import orjson
import psycopg
from starlette.responses import Response

from marquez.api.call import Call
from marquez.api.routing import ApiError, Router
from marquez.model.events import EventError, decode, parse
from marquez.storage.ingest import Ingest

MAX_BATCH = 5000
# A unique violation between two concurrent first writers of the same name: retry once.
_RETRYABLE = (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)


def store(call: Call, event) -> bool:
    for attempt in range(5):
        try:
            with call.write() as conn:
                return Ingest(conn, event).apply()
        except _RETRYABLE:
            if attempt == 4:
                raise
    return False


def register(router: Router) -> None:
    @router.post("lineage")
    def post_event(call: Call):
        try:
            event = parse(decode(call.body))
        except EventError as exc:
            raise ApiError(exc.status, exc.errors if exc.status == 422 else exc.errors[0]) from None
        store(call, event)
        return Response(status_code=201)

    @router.post("lineage/batch")
    def post_batch(call: Call):
        try:
            payload = decode(call.body)
        except EventError as exc:
            raise ApiError(exc.status, exc.errors if exc.status == 422 else exc.errors[0]) from None
        if not isinstance(payload, list):
            raise ApiError(400, "the batch body must be a JSON array of OpenLineage events")
        if len(payload) > MAX_BATCH:
            raise ApiError(413, f"a batch holds at most {MAX_BATCH} events, got {len(payload)}")
        results = []
        # One transaction for the batch (one commit), one savepoint per event: an event is
        # stored whole or not at all, and a bad event does not undo its neighbours.
        with call.write() as conn:
            for index, item in enumerate(payload):
                try:
                    event = parse(item)
                    with conn.transaction():
                        stored = Ingest(conn, event).apply()
                except EventError as exc:
                    results.append({"index": index, "status": exc.status, "errors": exc.errors})
                    continue
                results.append({"index": index, "status": 201 if stored else 200, "duplicate": not stored})
        accepted = sum(1 for r in results if r["status"] < 300)
        body = {"accepted": accepted, "rejected": len(results) - accepted, "results": results}
        return Response(orjson.dumps(body), status_code=200, media_type="application/json")

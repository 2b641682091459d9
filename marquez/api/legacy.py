"""Marquez's write API from before OpenLineage (PUT namespaces, sources, datasets, jobs; POST job
runs and run start/complete/fail/abort): answered 405 with what to send instead.

The model here is derived from OpenLineage events only, so that one path in keeps one ordering,
one idempotency rule and one durable outbox (difference `legacy-write-api` in differences.py).
"""

from __future__ import annotations

from marquez.api.errors import ApiError
from marquez.api.request import ApiRequest
from marquez.api.routing import Router

INSTEAD = {
    "namespaces/{namespace}": "a RunEvent, DatasetEvent or JobEvent naming the namespace",
    "sources/{source}": "an event whose dataset carries a dataSource facet",
    "namespaces/{namespace}/datasets/{dataset}": "a DatasetEvent (or a RunEvent naming the dataset)",
    "namespaces/{namespace}/jobs/{job}": "a JobEvent (or a RunEvent of the job)",
}
RUN_ACTIONS = {"start": "START", "complete": "COMPLETE", "fail": "FAIL", "abort": "ABORT"}


def _refuse(what: str):
    def handler(req: ApiRequest):
        raise ApiError(
            405,
            "this server keeps no write API from before OpenLineage: its model comes from OpenLineage "
            f"events; POST {what} to /api/v1/lineage",
        )

    return handler


def register(router: Router) -> None:
    for path, what in INSTEAD.items():
        router.put(path)(_refuse(what))
    router.post("namespaces/{namespace}/jobs/{job}/runs")(_refuse("a START RunEvent of the job"))
    for action, event_type in RUN_ACTIONS.items():
        router.post(f"jobs/runs/{{id}}/{action}")(_refuse(f"a {event_type} RunEvent with the run's id"))

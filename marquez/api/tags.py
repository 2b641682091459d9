"""Tags: GET /tags, PUT /tags/{tag}, and tagging datasets, dataset fields and jobs."""

from __future__ import annotations

import orjson

from marquez.api.errors import ApiError
from marquez.api.params import page
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.service import tags

# Where each kind of object is tagged; PUT (issue 9) and POST (Marquez's) add, DELETE removes.
TAGGED = {
    "dataset": "namespaces/{ns}/datasets/{name}/tags/{tag}",
    "field": "namespaces/{ns}/datasets/{name}/fields/{field}/tags/{tag}",
    "job": "namespaces/{ns}/jobs/{name}/tags/{tag}",
}


def _tagging(kind: str, add: bool):
    def handler(req: ApiRequest):
        p = req.params
        return tags.tag(req.store, kind, p["ns"], p["name"], p.get("field"), p["tag"], add)

    return handler


def register(router: Router) -> None:
    @router.get("tags")
    def list_tags(req: ApiRequest):
        limit, offset = page(req.query)
        return tags.page(req.store, limit, offset)

    @router.put("tags/{tag}")
    def put_tag(req: ApiRequest):
        description = None
        if req.body.strip():
            try:
                description = (orjson.loads(req.body) or {}).get("description")
            except (orjson.JSONDecodeError, AttributeError):
                raise ApiError(400, "the body must be a JSON object like {\"description\": \"...\"}") from None
        return tags.put(req.store, req.params["tag"], description)

    for method, add in (("PUT", True), ("POST", True), ("DELETE", False)):
        for kind, path in TAGGED.items():
            router.add(method, path, _tagging(kind, add))

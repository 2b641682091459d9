"""Tags: GET /tags, PUT /tags/{tag}, and tagging datasets, dataset fields and jobs."""

from __future__ import annotations

import orjson

from marquez import limits
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


def _tag_name(name: str) -> str:
    """A tag name is an index key (see marquez.limits)."""
    if not name.strip():
        raise ApiError(400, "the tag name must not be empty")
    if limits.utf8_len(name) > limits.MAX_NAME_BYTES:
        raise ApiError(
            400,
            f"the tag name is {limits.utf8_len(name)} bytes long in UTF-8; at most {limits.MAX_NAME_BYTES} are accepted",
        )
    return name


def _tagging(kind: str, add: bool):
    def handler(req: ApiRequest):
        p = req.params
        _tag_name(p["tag"])
        return tags.tag(req.store, kind, p["ns"], p["name"], p.get("field"), p["tag"], add)

    return handler


def register(router: Router) -> None:
    @router.get("tags")
    def list_tags(req: ApiRequest):
        limit, offset = page(req.query)
        return tags.page(req.store, limit, offset)

    @router.put("tags/{tag}")
    def put_tag(req: ApiRequest):
        name = _tag_name(req.params["tag"])
        description = None
        if req.body.strip():
            try:
                doc = orjson.loads(req.body)
            except orjson.JSONDecodeError:
                doc = ...
            if doc is not None and not isinstance(doc, dict):
                raise ApiError(400, 'the body must be a JSON object like {"description": "..."}')
            description = (doc or {}).get("description")
            if description is not None and not isinstance(description, str):
                raise ApiError(400, f"description must be a string, got {type(description).__name__}")
            if description is not None and "\x00" in description:
                raise ApiError(400, "description contains a NUL character (\\u0000), which cannot be stored")
        return tags.put(req.store, name, description)

    for method, add in (("PUT", True), ("POST", True), ("DELETE", False)):
        for kind, path in TAGGED.items():
            router.add(method, path, _tagging(kind, add))

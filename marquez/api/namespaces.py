"""GET /namespaces, GET and DELETE /namespaces/{ns}."""

from __future__ import annotations

from marquez.api.errors import found
from marquez.api.params import page
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.service import namespaces


def register(router: Router) -> None:
    @router.get("namespaces")
    def list_namespaces(req: ApiRequest):
        limit, offset = page(req.query)
        return namespaces.page(req.store, limit, offset)

    @router.get("namespaces/{ns}")
    def get_namespace(req: ApiRequest):
        return found(namespaces.get(req.store, req.params["ns"]), "Namespace", req.params["ns"])

    @router.delete("namespaces/{ns}")
    def delete_namespace(req: ApiRequest):
        return found(namespaces.hide(req.store, req.params["ns"]), "Namespace", req.params["ns"])

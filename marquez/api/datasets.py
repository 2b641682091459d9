"""Datasets of a namespace: the list, one (GET, DELETE), its versions and one version."""

from __future__ import annotations

from marquez.api.errors import found
from marquez.api.params import page, run_id
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.service import datasets


def register(router: Router) -> None:
    @router.get("namespaces/{ns}/datasets")
    def list_datasets(req: ApiRequest):
        limit, offset = page(req.query)
        return found(datasets.page(req.store, req.params["ns"], limit, offset), "Namespace", req.params["ns"])

    @router.get("namespaces/{ns}/datasets/{name}")
    def get_dataset(req: ApiRequest):
        ns, name = req.params["ns"], req.params["name"]
        return found(datasets.get(req.store, ns, name), "Dataset", name)

    @router.delete("namespaces/{ns}/datasets/{name}")
    def delete_dataset(req: ApiRequest):
        ns, name = req.params["ns"], req.params["name"]
        return found(datasets.hide(req.store, ns, name), "Dataset", name)

    @router.get("namespaces/{ns}/datasets/{name}/versions")
    def list_versions(req: ApiRequest):
        limit, offset = page(req.query)
        ns, name = req.params["ns"], req.params["name"]
        return found(datasets.versions(req.store, ns, name, limit, offset), "Dataset", name)

    @router.get("namespaces/{ns}/datasets/{name}/versions/{version}")
    def get_version(req: ApiRequest):
        ns, name, version = req.params["ns"], req.params["name"], req.params["version"]
        # A version id is a UUID, checked as a run id is (same message).
        return found(datasets.version(req.store, ns, name, run_id(version)), "Dataset version", version)

"""Namespaces: one, a page, and soft delete (the namespace with its datasets and jobs)."""

from __future__ import annotations

from marquez.model import json as js
from marquez.storage import namespaces as stored
from marquez.storage.session import Store


def get(store: Store, name: str) -> dict | None:
    with store.read() as conn:
        row = stored.get(conn, name)
    return js.namespace(row) if row else None


def page(store: Store, limit: int, offset: int) -> dict:
    with store.read() as conn:
        rows = stored.page(conn, limit, offset)
    # Marquez's namespace list has no totalCount (NamespaceResource.list answers `Namespaces`).
    return {"namespaces": [js.namespace(r) for r in rows]}


def hide(store: Store, name: str) -> dict | None:
    """Hide the namespace, its datasets and jobs; the namespace as it is after (None: no such namespace)."""
    with store.write() as conn:
        if stored.get(conn, name) is None:
            return None
        stored.hide(conn, name)
        hidden = stored.get(conn, name)
        return js.namespace(hidden) if hidden is not None else None

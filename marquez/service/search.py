"""Search: visible datasets and jobs whose name contains a text."""

from __future__ import annotations

from marquez.model import json as js
from marquez.storage import search as stored
from marquez.storage.session import Store

KINDS = ("DATASET", "JOB")
SORTS = tuple(stored.SORTS)  # NAME, UPDATE_AT


def search(store: Store, text: str, kind: str | None, namespace: str | None, sort: str, limit: int) -> dict:
    with store.read() as conn:
        rows = stored.find(conn, text, kind, namespace, sort, limit)
    return js.search([js.search_result(r) for r in rows])

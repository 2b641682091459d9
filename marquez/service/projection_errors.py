"""Acknowledged events the projector could not apply: visible, never silent (ours; Marquez has none)."""

from __future__ import annotations

from marquez.model import json as js
from marquez.storage import projection_errors as stored
from marquez.storage.session import Store


def page(store: Store, limit: int, offset: int) -> dict:
    with store.read() as conn:
        rows = stored.page(conn, limit, offset)
        total = stored.count(conn)
    return js.projection_errors(rows, total)


def requeue(store: Store) -> dict:
    with store.write(model=False) as conn:
        return {"requeued": stored.requeue(conn)}

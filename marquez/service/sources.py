"""Sources: one, and a page (Marquez answers 500 for the list once its default source exists)."""

from __future__ import annotations

from marquez.model import json as js
from marquez.storage import sources as stored
from marquez.storage.session import Store


def get(store: Store, name: str) -> dict | None:
    with store.read() as conn:
        row = stored.get(conn, name)
    return js.source(row) if row else None


def page(store: Store, limit: int, offset: int) -> dict:
    with store.read() as conn:
        rows, total = stored.page(conn, limit, offset), stored.count(conn)
    return js.page("sources", [js.source(r) for r in rows], total)

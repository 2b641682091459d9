"""The stored events, as Marquez's /events/lineage answers them."""

from __future__ import annotations

from marquez.model import json as js
from marquez.storage import events as stored
from marquez.storage.session import Store


def page(store: Store, after, before, direction: str, limit: int, offset: int) -> dict:
    with store.read() as conn:
        rows = stored.page(conn, after, before, direction, limit, offset)
        total = stored.count(conn, after, before)
    return js.page("events", [js.lineage_event(r["event"], r["event_time"]) for r in rows], total)

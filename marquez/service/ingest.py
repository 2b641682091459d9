"""Storing events: one (acknowledged once durable), or a batch in one transaction."""

from __future__ import annotations

from marquez.model import json as js
from marquez.model.events import Event, EventError, parse
from marquez.storage.ingest import store_event
from marquez.storage.session import Store


def record(store: Store, event: Event) -> None:
    """Durable once this returns; the projector is notified and applies it to the model."""
    with store.autocommit() as conn:
        store_event(conn, event)


def record_batch(store: Store, items: list, max_future_s: float | None = None) -> dict:
    """Parse and store each item; the answer says, per item, stored, duplicate or rejected."""
    outcomes: list[tuple[int, int, list[str] | None]] = []
    # One transaction, one commit: good events are stored together, bad ones answered apart.
    # Storing events does not touch the model, so no wait for the projector (model=False).
    with store.write(model=False) as conn:
        for index, item in enumerate(items):
            try:
                event = parse(item, max_future_s=max_future_s)
            except EventError as exc:
                outcomes.append((index, exc.status, exc.errors))
                continue
            stored = store_event(conn, event) is not None
            outcomes.append((index, 201 if stored else 200, None))
    return js.batch(outcomes)

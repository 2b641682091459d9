"""Importing a backlog into the outbox in one transaction keeps order and refuses non-events whole."""

from __future__ import annotations

import json

import pytest

from lineage.outbox import Outbox


def _event(i: int) -> str:
    return json.dumps({"eventType": "START", "eventTime": f"2025-01-01T00:00:{i:02d}Z", "run": {"runId": f"r{i}"},
                       "job": {"namespace": "ns", "name": f"job{i}"}})  # fmt: skip


def test_append_many_keeps_order_after_single_appends(tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3")
    box.append(_event(0))
    assert box.append_many(_event(i) for i in range(1, 6)) == 5
    owed = box.pending(limit=10)
    assert [e.run_id for e in owed] == [f"r{i}" for i in range(6)]
    assert [e.seq for e in owed] == sorted(e.seq for e in owed)


def test_append_many_stores_nothing_when_one_is_not_an_event(tmp_path):
    box = Outbox(tmp_path / "outbox.sqlite3")
    with pytest.raises(ValueError, match="no eventTime"):
        box.append_many([_event(1), json.dumps({"not": "an event"})])
    assert box.counts().pending == 0

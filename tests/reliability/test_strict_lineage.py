"""Strict lineage (LAKEHOUSE_LINEAGE_STRICT_S): the Dagster run fails when its lineage cannot be
delivered within the deadline, and succeeds with everything in Marquez when it can."""

from __future__ import annotations

import time

import pytest

from lineage.delivery import strict_deadline_s
from lineage.outbox import Outbox
from tests.integration.test_lineage_e2e import own_lake
from tests.integration.test_pipeline_e2e import dagster_materialize
from tests.marquez_fixture import _free_port
from tests.reliability.support import Marquez, marquez_events
from tests.reliability.test_delivery_faults import _generate

pytestmark = pytest.mark.integration


def test_the_setting_is_parsed_strictly(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_LINEAGE_STRICT_S", raising=False)
    assert strict_deadline_s() is None
    for off in ("0", "off"):
        monkeypatch.setenv("LAKEHOUSE_LINEAGE_STRICT_S", off)
        assert strict_deadline_s() is None
    monkeypatch.setenv("LAKEHOUSE_LINEAGE_STRICT_S", "2.5")
    assert strict_deadline_s() == 2.5
    monkeypatch.setenv("LAKEHOUSE_LINEAGE_STRICT_S", "soon")
    with pytest.raises(ValueError, match="LAKEHOUSE_LINEAGE_STRICT_S='soon': expected a number of seconds"):
        strict_deadline_s()


def test_strict_run_fails_when_marquez_is_down(tmp_path, monkeypatch):
    with own_lake(tmp_path) as outbox:
        day = _generate(tmp_path)
        monkeypatch.setenv("LAKEHOUSE_LINEAGE_STRICT_S", "3")
        monkeypatch.setenv("MARQUEZ_URL", f"http://127.0.0.1:{_free_port()}")  # nothing listens there
        began = time.monotonic()
        result = dagster_materialize("raw_bioreactor_data", day)
        assert result.returncode != 0, "the run succeeded although its lineage could not be delivered"
        output = result.stdout + result.stderr
        assert "strict lineage (LAKEHOUSE_LINEAGE_STRICT_S=3)" in output, output[-3000:]
        assert "cannot reach Marquez" in output
        assert time.monotonic() - began < 120
        counts = Outbox(outbox).counts()
        assert counts.delivered == 0 and counts.undelivered >= 3, counts  # nothing lost: all wait


def test_strict_run_succeeds_with_its_lineage_in_marquez(tmp_path, monkeypatch, postgres):
    marquez = Marquez(postgres, tmp_path)
    marquez.start()
    try:
        with own_lake(tmp_path) as outbox:
            day = _generate(tmp_path)
            monkeypatch.setenv("LAKEHOUSE_LINEAGE_STRICT_S", "30")
            monkeypatch.setenv("MARQUEZ_URL", marquez.url)
            result = dagster_materialize("raw_bioreactor_data", day)
            assert result.returncode == 0, result.stderr[-5000:]
            rows = Outbox(outbox).events(limit=1000)
            assert rows and all(r.status == "delivered" for r in rows), Outbox(outbox).counts()
            stored = {(e["run"]["runId"], e["eventType"]) for e in marquez_events(marquez.url)}
            assert {(r.run_id, r.event_type) for r in rows} <= stored
    finally:
        marquez.close()

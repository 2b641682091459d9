"""The whole pipeline run while Marquez is stopped, killed mid-run, or answering 503: the run
succeeds, its events wait in the outbox, and once Marquez is back the delivery loop (the one
`lakehouse up` runs) delivers every one of them, exactly once from Marquez's point of view.

Each test materializes one generated day end to end (`dagster asset materialize`, as users run
it), closes the Dagster run the way the run-status sensor does (which flushes with a budget and
warns once), and counts both sides: distinct events in the outbox against events stored in
Marquez, and the state of every run that ended.
"""

from __future__ import annotations

import concurrent.futures
import logging
from pathlib import Path

import pytest

from lineage.outbox import Outbox
from tests.integration.test_lineage_e2e import close_run, latest_run_id, own_lake
from tests.integration.test_pipeline_e2e import dagster_materialize
from tests.reliability.support import FaultProxy, Follower, Marquez, account, wait_delivered, wait_until

pytestmark = pytest.mark.integration


def _generate(root: Path) -> str:
    from orchestration.datagen import generate_bioreactor_data

    summary = generate_bioreactor_data(
        root / "raw", seed=7, sites=1, reactors_per_site=1, batches_per_reactor=1,
        sample_interval_s=900, start_date="2025-05-01",
    )  # fmt: skip
    return sorted(d.isoformat() for d in summary.dates)[0]


def _run_pipeline(day: str, during=None):
    """Materialize everything for `day`; `during(future)` runs alongside (the fault)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(dagster_materialize, "*", day)
        if during is not None:
            during(future)
        result = future.result()
    assert result.returncode == 0, result.stderr[-5000:]
    return result


def _close_and_count_warnings(caplog) -> int:
    """Close the run as the run-status sensor does (it flushes); returns how many warnings it
    logged, asserting at most one."""
    run_id = latest_run_id()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lineage"):
        close_run(run_id)
    warnings = [r for r in caplog.records if r.name.startswith("lineage") and r.levelno >= logging.WARNING]
    assert len(warnings) <= 1, [r.getMessage() for r in warnings]
    return len(warnings)


@pytest.fixture
def marquez(postgres, tmp_path):
    server = Marquez(postgres, tmp_path)
    yield server
    server.close()


@pytest.mark.timeout(1800)
def test_marquez_stopped_for_the_whole_run(tmp_path, marquez, caplog, monkeypatch):
    monkeypatch.setenv("MARQUEZ_URL", marquez.url)  # where the run-end flush delivers
    with own_lake(tmp_path) as outbox:
        day = _generate(tmp_path)
        follower = Follower(outbox, marquez.url, tmp_path / "follow.log")  # Marquez not started yet
        try:
            result = _run_pipeline(day)
            # The run's end flushes in the run's own process (the instance's storage sees the end,
            # d0e64ca), so its one warning is in that process's output, or here if closing flushed.
            warned = _close_and_count_warnings(caplog) + result.stderr.count("events wait in the outbox")
            assert warned >= 1, "the run's end did not warn that events wait"
            owed = Outbox(outbox).counts()
            assert owed.delivered == 0 and owed.undelivered > 0, owed
            assert owed.failed == 1, "the head event carries the last error"
            marquez.start()
            wait_delivered(outbox)
        finally:
            follower.stop()
        figures = account(outbox, marquez.url)
    print(f"\nMarquez stopped for the whole run: {figures}")
    assert figures["stored"] == figures["emitted"]


@pytest.mark.timeout(1800)
def test_marquez_killed_in_the_middle_of_the_run(tmp_path, marquez, caplog, monkeypatch):
    monkeypatch.setenv("MARQUEZ_URL", marquez.url)
    marquez.start()
    killed_mid_run = []
    with own_lake(tmp_path) as outbox:
        day = _generate(tmp_path)
        follower = Follower(outbox, marquez.url, tmp_path / "follow.log")
        box = Outbox(outbox)

        def kill_after_first_deliveries(run: concurrent.futures.Future) -> None:
            wait_until(
                lambda: run.done() or (box.path.exists() and box.counts().delivered >= 5), 300, "first deliveries"
            )
            marquez.kill()
            killed_mid_run.append(not run.done())
            wait_until(lambda: run.done() or box.counts().undelivered >= 3, 300, "events piling up while down")
            marquez.start()  # same port, same database

        try:
            _run_pipeline(day, during=kill_after_first_deliveries)
            _close_and_count_warnings(caplog)
            wait_delivered(outbox)
        finally:
            follower.stop()
        assert killed_mid_run == [True], "the kill landed after the run ended: not a mid-run fault"
        figures = account(outbox, marquez.url)
    print(f"\nMarquez killed mid-run: {figures}")
    assert figures["stored"] == figures["emitted"]


@pytest.mark.timeout(1800)
def test_marquez_answering_503_for_a_while(tmp_path, marquez, caplog, monkeypatch):
    marquez.start()
    proxy = FaultProxy(marquez.url)
    monkeypatch.setenv("MARQUEZ_URL", proxy.url)
    proxy.failing.set()
    with own_lake(tmp_path) as outbox:
        day = _generate(tmp_path)
        follower = Follower(outbox, proxy.url, tmp_path / "follow.log")
        box = Outbox(outbox)

        def recover_after_a_while(run: concurrent.futures.Future) -> None:
            wait_until(lambda: run.done() or (proxy.served_503 >= 5 and box.counts().undelivered >= 10), 300, "503s")
            proxy.failing.clear()

        try:
            _run_pipeline(day, during=recover_after_a_while)
            _close_and_count_warnings(caplog)
            wait_delivered(outbox)
        finally:
            follower.stop()
            proxy.close()
        assert proxy.served_503 >= 5
        figures = account(outbox, marquez.url)
    print(f"\nMarquez answering 503 ({proxy.served_503} times): {figures}")
    assert figures["stored"] == figures["emitted"]
    assert figures["attempts"] > figures["outbox_rows"], "the 503s were retried"

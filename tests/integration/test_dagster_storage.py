"""Dagster's storage on the project's Postgres (orchestration/services/dagster_pg_storage.py),
against the real server."""

import threading
import time

import dagster as dg
import pytest
from dagster._core.storage.event_log.schema import ConcurrencyLimitsTable

pytestmark = pytest.mark.integration


def test_a_pool_initialized_by_two_runs_at_once_starts_both(postgres, tmp_path, monkeypatch):
    """The loser of the race to insert a pool's default limit (two runs starting together) gets
    True, not the aborted-transaction error that failed its run."""
    from orchestration.services.dagster_dev import prepare_dagster_home
    from orchestration.settings import get_settings

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    prepare_dagster_home(get_settings())
    with dg.DagsterInstance.get() as instance:
        storage = instance.event_log_storage
        assert type(storage).__name__ == "PooledPostgresEventLogStorage"
        key = "race_pool"
        outcome: list = []
        with storage._engine.connect() as winner:
            # The winner has inserted the limit and its slot but not committed yet.
            transaction = winner.begin()
            winner.execute(ConcurrencyLimitsTable.insert().values(concurrency_key=key, limit=1, using_default_limit=True))
            storage._allocate_concurrency_slots(winner, key, 1)
            loser = threading.Thread(
                target=lambda: outcome.append(_call(storage.initialize_concurrency_limit_to_default, key))
            )
            loser.start()
            time.sleep(1.0)  # the loser's insert waits on the winner's row
            transaction.commit()
            loser.join(60)
        assert outcome == [True]
        assert storage.get_concurrency_info(key).slot_count == 1


def _call(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # the thread reports what the run would have died of
        return exc

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


def test_schema_probes_ask_the_catalog_until_it_says_yes(postgres, tmp_path, monkeypatch):
    """A migration probe (table, column) that said yes is not asked again; one that said no is."""
    from sqlalchemy import event

    from orchestration.services.dagster_dev import prepare_dagster_home
    from orchestration.settings import get_settings

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    prepare_dagster_home(get_settings())
    with dg.DagsterInstance.get() as instance:
        runs, events = instance.run_storage, instance.event_log_storage
        statements: list[str] = []
        for storage in (runs, events):
            event.listen(storage._engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

        def asked(probe) -> tuple[bool, int]:
            before = len(statements)
            return probe(), len(statements) - before

        assert asked(runs.has_run_stats_index_cols)[0] is True
        assert asked(runs.has_run_stats_index_cols) == (True, 0)
        assert asked(events.has_asset_key_index_cols)[0] is True
        assert asked(events.has_asset_key_index_cols) == (True, 0)
        assert asked(lambda: events.has_table("asset_check_executions"))[0] is True
        assert asked(lambda: events.has_table("asset_check_executions")) == (True, 0)
        # A table that is not there is asked about every time (a migration may add it).
        assert asked(lambda: events.has_table("no_such_table"))[0] is False
        assert asked(lambda: events.has_table("no_such_table")) == (False, 1)

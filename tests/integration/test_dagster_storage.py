"""Dagster's storage on the project's Postgres (orchestration/dagster_storage/), against the
real server."""

import os
import threading
import time

import dagster as dg
import pytest
from dagster._core.storage.event_log.schema import ConcurrencyLimitsTable

pytestmark = pytest.mark.integration


def test_a_pool_initialized_by_two_runs_at_once_starts_both(postgres, tmp_path, monkeypatch):
    """The loser of the race to insert a pool's default limit (two runs starting together) gets
    True, not the aborted-transaction error that failed its run."""
    from lakehouse_core.settings import get_settings
    from orchestration.services.dagster_dev import prepare_dagster_home

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
            winner.execute(
                ConcurrencyLimitsTable.insert().values(concurrency_key=key, limit=1, using_default_limit=True)
            )
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


def test_two_runs_claiming_the_last_slot_at_once_do_not_both_get_it(postgres, tmp_path, monkeypatch):
    """Two processes (two instances) claim a pool's only slot in lockstep: both see a free slot,
    both queue their step as assigned, and the first picks the free slot row but has not taken
    it when the second picks the same row (the autocommitted FOR UPDATE lock is gone). Stock
    Dagster gives both the slot: two steps writing DuckDB side by side."""
    from sqlalchemy import event

    from lakehouse_core.settings import get_settings
    from orchestration.services.dagster_dev import prepare_dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    prepare_dagster_home(get_settings())
    key = "lockstep_pool"
    with dg.DagsterInstance.get() as first_instance, dg.DagsterInstance.get() as second_instance:
        first, second = first_instance.event_log_storage, second_instance.event_log_storage
        assert first is not second and first._engine is not second._engine
        first.set_concurrency_slots(key, 1)
        both_looked = threading.Barrier(2, timeout=3)
        second_done = threading.Event()

        def in_lockstep(storage):
            looked = storage.has_unassigned_slots

            def has_unassigned_slots(concurrency_key):
                free = looked(concurrency_key)
                try:
                    both_looked.wait()  # with the fix the other waits on the lock: the barrier breaks
                except threading.BrokenBarrierError:
                    pass
                return free

            monkeypatch.setattr(storage, "has_unassigned_slots", has_unassigned_slots)

        in_lockstep(first)
        in_lockstep(second)

        def after_picking_a_slot(conn, cursor, statement, *args):
            if threading.current_thread().name == "first" and "FOR UPDATE SKIP LOCKED" in statement:
                second_done.wait(3)

        event.listen(first._engine, "after_cursor_execute", after_picking_a_slot)
        outcome: dict = {}

        def claim(name, storage):
            outcome[name] = _call(storage.claim_concurrency_slot, key, f"run_{name}", "raw_bioreactor_data")
            if name == "second":
                second_done.set()

        threads = [
            threading.Thread(target=claim, args=(n, s), name=n) for n, s in (("first", first), ("second", second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        claimed = [name for name, status in outcome.items() if getattr(status, "is_claimed", False)]
        assert set(outcome) == {"first", "second"}, outcome
        assert len(claimed) == 1, outcome
        info = first.get_concurrency_info(key)
        assert [slot.run_id for slot in info.claimed_slots] == [f"run_{claimed[0]}"]
        # The loser gets the slot once the winner's step frees it.
        loser = "second" if claimed == ["first"] else "first"
        first.free_concurrency_slot_for_step(f"run_{claimed[0]}", "raw_bioreactor_data")
        assert second.claim_concurrency_slot(key, f"run_{loser}", "raw_bioreactor_data").is_claimed


def _call(fn, *args):
    try:
        return fn(*args)
    except Exception as exc:  # the thread reports what the run would have died of
        return exc


def test_schema_probes_ask_the_catalog_until_it_says_yes(postgres, tmp_path, monkeypatch):
    """A migration probe (table, column) that said yes is not asked again; one that said no is."""
    from sqlalchemy import event

    from lakehouse_core.settings import get_settings
    from orchestration.services.dagster_dev import prepare_dagster_home

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


def test_the_instance_stores_a_range_in_batches_of_the_configured_size(postgres, tmp_path, monkeypatch):
    """DAGSTER_EVENT_BATCH_SIZE, default 1,000 (Dagster's own default is 0, off), reaches the
    instance through the storage, without being put into the environment."""
    from lakehouse_core.settings import get_settings
    from orchestration.services.dagster_dev import prepare_dagster_home

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.delenv("DAGSTER_EVENT_BATCH_SIZE", raising=False)
    prepare_dagster_home(get_settings())
    with dg.DagsterInstance.get() as instance:
        assert instance._get_event_batch_size() == 1000 and instance._is_batch_writing_enabled()
    assert "DAGSTER_EVENT_BATCH_SIZE" not in os.environ
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")  # an explicit setting wins: 0 stores events one by one
    with dg.DagsterInstance.get() as instance:
        assert instance._get_event_batch_size() == 0 and not instance._is_batch_writing_enabled()


def test_a_home_written_before_the_plugin_moved_is_pointed_at_its_new_module(postgres, tmp_path, monkeypatch):
    """Homes prepared when the storage classes lived in orchestration/services/ name them there:
    preparing the home again rewrites its storage section, keeping the rest of the file."""
    from lakehouse_core.settings import get_settings
    from orchestration.services.dagster_dev import prepare_dagster_home

    home = tmp_path / "dagster_home"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    prepare_dagster_home(get_settings())
    current = (home / "dagster.yaml").read_text()
    old = current.replace("orchestration/dagster_storage/configure.py", "orchestration/services/dagster_storage.py")
    old = old.replace("orchestration.dagster_storage.pooled", "orchestration.services.dagster_pg_storage")
    assert old != current
    (home / "dagster.yaml").write_text(old)
    (home / "storage").mkdir(exist_ok=True)  # compute logs: a home that has run something
    prepare_dagster_home(get_settings())
    assert (home / "dagster.yaml").read_text() == current
    assert "telemetry:" in current and current.count("run_storage:") == 1
    with dg.DagsterInstance.get() as instance:
        assert type(instance.event_log_storage).__module__ == "orchestration.dagster_storage.pooled"

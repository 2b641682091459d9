"""dagster-postgres's run, event-log and schedule storages, named in the dagster.yaml that
`configure.py` beside this writes, with these changes (speed measured in
bench/results/daily_run.md and pipeline_vs_floor.md):

- connections are pooled in every process: the stock storages open a new connection for every
  statement (NullPool) except in the webserver, several per event, 7-14 ms each here;
- the catalog is not asked, again and again, whether a table or column exists (for every event
  stored, every run created or listed);
- two runs that initialize a pool's limit at the same moment both start, and two runs that
  claim a pool's last slot at the same moment do not both get it (see below);
- a single-run backfill plans each asset once with its partition range (see below), records
  its planned checks with one serialization and one batched insert, and the instance stores
  the per-partition materializations of each asset in batches (see below);
- a check's result on a daily asset is recorded on each day it was planned for (see below);
- every run's start and end go to the lineage (`run_lineage.py` beside this).
"""

import threading
from contextlib import contextmanager

import sqlalchemy as db
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._serdes import serialize_value
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

from lakehouse_core.settings import get_settings
from orchestration.dagster_storage.run_lineage import EmitsRunLineage

# Like the webserver's optimize_for_webserver(), in every process, but keeping 3 connections:
# with 1, every event that needs a second one at once (most do) opened and closed an extra.
_POOL = {"isolation_level": "AUTOCOMMIT", "pool_size": 3, "max_overflow": 4, "pool_recycle": 3600}


class _Pooled:
    """Mixin for the stock storages: pooled connections, and constructed as this class."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._engine.dispose()
        self._engine = create_pg_engine(self.postgres_url, self._token_provider, **_POOL)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(
            inst_data=inst_data,
            postgres_url=pg_url_from_config(config_value),
            should_autocreate_tables=config_value.get("should_autocreate_tables", True),
            token_provider=get_token_provider_from_config(config_value),
        )


class _RemembersSchema:
    """Dagster asks the catalog whether its migrations have run (a table, a column) before many
    statements, a catalog query or a column reflection each time: ~30 per daily run (dagster-postgres
    already remembers built indexes). Migrations only ever add, so a probe that once said yes is
    remembered; a no is asked again."""

    def _once_true(self, key, probe) -> bool:
        known = self.__dict__.setdefault("_schema_seen", set())
        if key not in known and probe():
            known.add(key)
        return key in known


class PooledPostgresRunStorage(_RemembersSchema, _Pooled, PostgresRunStorage):
    def has_run_stats_index_cols(self) -> bool:
        return self._once_true("runs.start_time+end_time", super().has_run_stats_index_cols)

    def has_backfill_id_column(self) -> bool:
        return self._once_true("runs.backfill_id", super().has_backfill_id_column)

    def has_bulk_actions_selector_cols(self) -> bool:
        return self._once_true("bulk_actions.selector_id", super().has_bulk_actions_selector_cols)

    def has_bulk_action_job_name_column(self) -> bool:
        return self._once_true("bulk_actions.job_name", super().has_bulk_action_job_name_column)

    def has_backfill_tags_table(self) -> bool:
        return self._once_true("backfill_tags", super().has_backfill_tags_table)


class PooledPostgresScheduleStorage(_Pooled, PostgresScheduleStorage):
    pass


# Any 64-bit number no other application takes an advisory lock on in the lakehouse database.
_POOL_BOOKKEEPING_LOCK = 0x6C616B65_706F6F6C  # "lakepool"


class _SerializesPoolBookkeeping:
    """Pool slots are claimed and freed in several autocommitted statements (is a slot free?
    queue the step; pick a free slot FOR UPDATE; take it): the row lock ends with the SELECT, so
    two runs claiming the last slot at the same moment could both take it and both write the
    DuckDB file. Claims, frees and limit changes take turns on a transaction-scoped advisory
    lock (released by the transaction's end whatever happens, or by a dead process's
    disconnect); a few ms per step, uncontended."""

    @contextmanager
    def _pool_bookkeeping(self):
        held = self.__dict__.setdefault("_pool_lock_held", threading.local())
        if getattr(held, "active", False):
            # None of the wrapped methods calls another today; if one did, a second connection
            # would wait on this thread's own lock forever.
            yield
            return
        with self._engine.connect() as conn:
            conn = conn.execution_options(isolation_level="READ COMMITTED")
            with conn.begin():
                conn.execute(db.text("select pg_advisory_xact_lock(:key)"), {"key": _POOL_BOOKKEEPING_LOCK})
                held.active = True
                try:
                    yield
                finally:
                    held.active = False

    def claim_concurrency_slot(self, concurrency_key, run_id, step_key, priority=None):
        with self._pool_bookkeeping():
            return super().claim_concurrency_slot(concurrency_key, run_id, step_key, priority)

    def free_concurrency_slot_for_step(self, run_id: str, step_key: str) -> None:
        with self._pool_bookkeeping():
            super().free_concurrency_slot_for_step(run_id, step_key)  # type: ignore[misc]  # a mixin: the storage class follows

    def free_concurrency_slots_for_run(self, run_id: str) -> None:
        with self._pool_bookkeeping():
            super().free_concurrency_slots_for_run(run_id)  # type: ignore[misc]  # a mixin: the storage class follows

    def set_concurrency_slots(self, concurrency_key: str, num: int) -> None:
        with self._pool_bookkeeping():
            super().set_concurrency_slots(concurrency_key, num)  # type: ignore[misc]  # a mixin: the storage class follows


class PooledPostgresEventLogStorage(
    EmitsRunLineage, _SerializesPoolBookkeeping, _RemembersSchema, _Pooled, PostgresEventLogStorage
):
    def register_instance(self, instance) -> None:
        # Batched event writes: the materializations a step reports for a range of partitions
        # (one per asset and day: 428 per asset in a 428-day backfill) go to store_event_batch,
        # one multi-row insert per batch, instead of one insert and one transaction each. Dagster
        # asks its instance for the batch size at every event, and the instance reads
        # DAGSTER_EVENT_BATCH_SIZE with a default of 0 (off). The instance this storage serves
        # asks the project's settings instead: the same variable, default 1,000, 0 turns it off.
        # Set here, in every process that opens the instance (the CLI, the webserver, the daemon,
        # run and step workers, tests), and never in the environment.
        super().register_instance(instance)
        batch_size = get_settings().dagster_event_batch_size
        instance._get_event_batch_size = lambda: batch_size

    def has_table(self, table_name: str) -> bool:
        # Asked for every stored event (asset_event_tags, asset_check_executions, ...): a catalog
        # query each time, a quarter of an event's storage cost.
        return self._once_true(table_name, lambda: super(PooledPostgresEventLogStorage, self).has_table(table_name))

    def _has_asset_key_col_on_connection(self, conn, column_name: str) -> bool:
        # Reflected for every asset event stored.
        return self._once_true(
            f"asset_keys.{column_name}",
            lambda: super(PooledPostgresEventLogStorage, self)._has_asset_key_col_on_connection(conn, column_name),
        )

    def initialize_concurrency_limit_to_default(self, concurrency_key: str) -> bool:
        # Two runs starting at once both find a pool (duckdb_writer) without its limit and both
        # insert it. The stock method catches the loser's duplicate and updates instead, but on
        # Postgres that UPDATE runs in the transaction the duplicate aborted, and the loser's run
        # fails. By then the winner has committed the same default limit and its slots.
        try:
            with self._pool_bookkeeping():
                return super().initialize_concurrency_limit_to_default(concurrency_key)
        except db.exc.DBAPIError:
            if self.get_concurrency_info(concurrency_key).slot_count > 0:
                return True
            raise

    def _store_asset_check_evaluation_planned(self, event, event_id) -> None:
        # The stock method writes one row per partition (right: the UI shows each day's check),
        # but serializes the same event again for every row and compiles one INSERT with a VALUES
        # list as long as the range: 8 s before a 428-day backfill of ~70 checks could start.
        # The same rows, from one serialization, in one executemany.
        planned = event.dagster_event.event_specific_data
        keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
        shared = {
            "asset_key": planned.asset_key.to_string(),
            "check_name": planned.check_name,
            "run_id": event.run_id,
            "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
            "evaluation_event": serialize_value(event),
            "evaluation_event_timestamp": self._event_insert_timestamp(event),
            "evaluation_event_storage_id": event_id,
        }
        with self.index_connection() as conn:
            conn.execute(AssetCheckExecutionsTable.insert(), [{**shared, "partition": key} for key in keys])

    def _update_asset_check_evaluation(self, event, event_id) -> None:
        # A check on a daily asset is planned once per day of the run (the check node takes the
        # asset's partitions), but its result carries no day (its spec, from dagster-dbt or ours,
        # has none): stock Dagster then inserts one more row without a day and leaves each day's
        # planned row PLANNED, so the UI's per-day check status never shows the result. The
        # check ran over the run's whole window: its result is each planned day's.
        evaluation = event.dagster_event.event_specific_data
        if evaluation.partition is None:
            status = (
                AssetCheckExecutionRecordStatus.SUCCEEDED
                if evaluation.passed
                else AssetCheckExecutionRecordStatus.FAILED
            )
            target = evaluation.target_materialization_data
            table = AssetCheckExecutionsTable
            with self.index_connection() as conn:
                days = conn.execute(
                    table.update()
                    .where(
                        table.c.asset_key == evaluation.asset_key.to_string(),
                        table.c.check_name == evaluation.check_name,
                        table.c.run_id == event.run_id,
                        table.c.partition.is_not(None),
                        table.c.execution_status == AssetCheckExecutionRecordStatus.PLANNED.value,
                    )
                    .values(
                        execution_status=status.value,
                        evaluation_event=serialize_value(event),
                        evaluation_event_timestamp=self._event_insert_timestamp(event),
                        evaluation_event_storage_id=event_id,
                        materialization_event_storage_id=target.storage_id if target else None,
                    )
                ).rowcount
            if days:
                return
        super()._update_asset_check_evaluation(event, event_id)

    @property
    def supports_partition_subset_in_asset_materialization_planned_events(self) -> bool:
        # A single-run backfill plans each asset once, with its partition range, instead of once
        # per asset and partition (3,222 events before a 420-day backfill could start). Dagster's
        # own switch (DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS), set here so every process
        # (CLI, webserver, daemon) agrees. Its cost: when such a run fails, its partitions show
        # as missing rather than failed; the failed run itself is recorded as usual.
        return True

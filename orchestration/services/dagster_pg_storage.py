"""dagster-postgres's run, event-log and schedule storages, named in the dagster.yaml that
orchestration/services/dagster_storage.py writes, with three changes measured in
bench/results/daily_run.md and pipeline_vs_floor.md:

- connections are pooled in every process: the stock storages open a new connection for every
  statement (NullPool) except in the webserver, several per event, 7-14 ms each here;
- the catalog is not asked whether a table exists for every event stored;
- a single-run backfill plans each asset once with its partition range (see below).
"""

from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

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


class PooledPostgresRunStorage(_Pooled, PostgresRunStorage):
    pass


class PooledPostgresScheduleStorage(_Pooled, PostgresScheduleStorage):
    pass


class PooledPostgresEventLogStorage(_Pooled, PostgresEventLogStorage):
    def has_table(self, table_name: str) -> bool:
        # Asked for every stored event (asset_event_tags, asset_check_executions, ...): a catalog
        # query each time, a quarter of an event's storage cost. Tables are only ever added (by
        # migrations), so a table seen once is remembered; a missing one is asked again.
        tables = self.__dict__.setdefault("_tables", set())
        if table_name not in tables and super().has_table(table_name):
            tables.add(table_name)
        return table_name in tables

    @property
    def supports_partition_subset_in_asset_materialization_planned_events(self) -> bool:
        # A single-run backfill plans each asset once, with its partition range, instead of once
        # per asset and partition (3,222 events before a 420-day backfill could start). Dagster's
        # own switch (DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS), set here so every process
        # (CLI, webserver, daemon) agrees. Its cost: when such a run fails, its partitions show
        # as missing rather than failed; the failed run itself is recorded as usual.
        return True

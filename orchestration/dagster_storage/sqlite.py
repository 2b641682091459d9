"""Dagster's SQLite event-log storage with the run lineage (`run_lineage.py`), for homes on SQLite
(LAKEHOUSE_DAGSTER_STORAGE=sqlite, or a home that held SQLite runs before the Postgres storage)."""

from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration.dagster_storage.run_lineage import EmitsRunLineage


class LineageSqliteEventLogStorage(EmitsRunLineage, SqliteEventLogStorage):
    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)

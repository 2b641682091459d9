"""Dagster's instance storage on the project's Postgres: a storage plugin for Dagster.

- `configure.py` gives every DAGSTER_HOME a database of its own and writes the storage
  sections of its dagster.yaml (called when `lakehouse` and the tests prepare a home);
- `pooled.py` holds the storage classes that dagster.yaml names by dotted path
  (`orchestration.dagster_storage.pooled`): dagster-postgres's, pooled and faster.

Nothing is imported here: Dagster imports `pooled` in every process that opens the instance,
and it must not pull in the provisioning code (or the provisioning code Dagster).
"""

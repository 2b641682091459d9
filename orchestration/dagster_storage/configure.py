"""Dagster's run, event-log and schedule storage on the project's Postgres, as production
Dagster runs it (`dagster-postgres`).

Dagster's default, SQLite, commits every event in its own file transaction: about 40 ms per
event on this machine, while a daily run writes ~300 events and a 420-day backfill several
thousand per-partition ones (bench/results/daily_run.md, pipeline_vs_floor.md).

Every Dagster home gets a database of its own in the project's Postgres (the default home
`dagster`, any other home `dagster_<hash of its path>`), so two homes (a test's, a bench's,
the demo's) never share runs or partition status. The connection goes into the home's
`dagster.yaml`; a password, when the server needs one, is read from LAKEHOUSE_PG_PASSWORD at
run time and never written there. The storage classes are dagster-postgres's own, with pooled
connections (`pooled.py` beside this). A home that already holds SQLite storage (made before
this change) is left on SQLite: its runs would otherwise disappear from the UI.
LAKEHOUSE_DAGSTER_STORAGE=sqlite keeps Dagster's SQLite files instead (e.g. a Postgres role that
may not create databases). Either way the event-log storage is one that emits every run's start
and end to the lineage (`run_lineage.py`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

from lakehouse_core.settings import PostgresConnection, Settings
from orchestration.services.postgres import PostgresUnavailable, ensure_database, ensure_postgres

DEFAULT_DB = "dagster"


def database_for(settings: Settings, home: Path) -> str:
    """The Postgres database holding the Dagster home `home`."""
    if home.resolve() == (settings.data_dir / "dagster_home").resolve():
        return DEFAULT_DB
    return f"{DEFAULT_DB}_{hashlib.sha1(str(home.resolve()).encode()).hexdigest()[:12]}"


_CLASSES_MODULE = "orchestration.dagster_storage.pooled"  # not imported here: it pulls in Dagster
_STORAGES = {
    "run_storage": "PooledPostgresRunStorage",
    "event_log_storage": "PooledPostgresEventLogStorage",
    "schedule_storage": "PooledPostgresScheduleStorage",
}

_MARKER = "# storage: written by orchestration/dagster_storage/configure.py (the home's own database)"
# What homes written before the plugin had a folder of its own start their section with: such a
# section is rewritten (it names the classes by their old module).
_OLD_MARKERS = ("# storage: written by orchestration/services/dagster_storage.py (the home's own database)",)


def storage_yaml(conn: PostgresConnection) -> str:
    """The storage sections of dagster.yaml for the database `conn` names."""
    lines = [_MARKER]
    for key, cls in _STORAGES.items():
        lines += [f"{key}:", f"  module: {_CLASSES_MODULE}", f"  class: {cls}", "  config:", "    postgres_db:",
                  f"      hostname: {conn.host}", f"      port: {conn.port}", f"      username: {conn.user}",
                  f"      db_name: {conn.dbname}",
                  # dagster-postgres is written against psycopg2 (its own dependency); SQLAlchemy 2.1
                  # would pick psycopg 3 for a bare postgresql:// and Dagster's NOTIFY then fails.
                  "      scheme: postgresql+psycopg2"]  # fmt: skip
        if conn.password:
            lines += ["      password:", "        env: LAKEHOUSE_PG_PASSWORD"]
    return "\n".join(lines) + "\n"


_SQLITE_MARKER = "# storage: SQLite, written by orchestration/dagster_storage/configure.py (Dagster's own files)"


def sqlite_storage_yaml(home: Path) -> str:
    """Dagster's default SQLite layout (the same files), its event log through `sqlite.py`."""
    sections = [
        ("run_storage", "dagster._core.storage.runs", "SqliteRunStorage", home / "history"),
        ("event_log_storage", "orchestration.dagster_storage.sqlite", "LineageSqliteEventLogStorage", home / "history" / "runs"),
        ("schedule_storage", "dagster._core.storage.schedules", "SqliteScheduleStorage", home / "schedules"),
    ]  # fmt: skip
    lines = [_SQLITE_MARKER]
    for key, module, cls, base_dir in sections:
        lines += [f"{key}:", f"  module: {module}", f"  class: {cls}", "  config:", f"    base_dir: {base_dir}"]
    return "\n".join(lines) + "\n"


def _configure_sqlite(config_file: Path, text: str, home: Path) -> None:
    if _SQLITE_MARKER in text or _MARKER in text:
        return
    config_file.write_text((text.rstrip("\n") + "\n\n" if text.strip() else "") + sqlite_storage_yaml(home))


def uses_sqlite(home: Path) -> bool:
    """A home with SQLite storage already in it (runs recorded before Postgres storage)."""
    return (home / "history" / "runs.db").exists() or (home / "storage").is_dir()


def configure_postgres_storage(settings: Settings, home: Path) -> PostgresConnection | None:
    """Start (or reach) the project's Postgres, create the home's database if missing, and point
    `home/dagster.yaml` at it (the rest of the file is kept). Idempotent. Returns None, changing
    nothing, for a home that already holds SQLite storage."""
    config_file = home / "dagster.yaml"
    text = config_file.read_text() if config_file.exists() else ""
    for old in _OLD_MARKERS:
        text = text.replace(old, _MARKER)
    if settings.dagster_storage == "sqlite" or (_MARKER not in text and uses_sqlite(home)):
        _configure_sqlite(config_file, text, home)
        return None
    conn = ensure_postgres(settings).with_db(database_for(settings, home))
    try:
        ensure_database(conn)
    except psycopg.Error as exc:
        raise PostgresUnavailable(
            f"cannot create the Dagster database {conn.dbname!r} on {conn.host}:{conn.port}: {exc}; create it "
            "(owned by the lakehouse role), or set LAKEHOUSE_DAGSTER_STORAGE=sqlite"
        ) from exc
    wanted = storage_yaml(conn)
    if wanted not in text:
        kept = text.split(_MARKER)[0].rstrip("\n")
        config_file.write_text((kept + "\n\n" if kept else "") + wanted)
    return conn

"""Versioned SQL migrations (`marquez/migrations/V<NNN>__<name>.sql`), applied in order on start.

Each file runs in its own transaction and is recorded in `schema_migrations`; an advisory lock
keeps two servers starting on one database from applying the same file twice.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg

from marquez.storage.namespaces import ensure_default as ensure_default_namespace

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
_FILE = re.compile(r"^V(\d{3})__[a-z0-9_]+\.sql$")
_LOCK_KEY = 0x4D41525155455A  # "MARQUEZ"


def available() -> list[tuple[str, Path]]:
    files = sorted(p for p in MIGRATIONS_DIR.glob("*.sql") if _FILE.match(p.name))
    return [(p.stem, p) for p in files]


def migrate(db_url: str) -> list[str]:
    """Apply the migrations the database lacks (then make sure the `default` namespace is there, as
    Marquez does on every start); return the versions applied."""
    applied_now: list[str] = []
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for version, path in available():
                if version in done:
                    continue
                with conn.transaction():
                    conn.execute(path.read_text())
                    conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                applied_now.append(version)
            # What Marquez creates on every start, after its schema: the `default` namespace.
            ensure_default_namespace(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied_now

"""The read-only role BI users (Superset) log in as: it reads the published marts, nothing else.

`LAKEHOUSE_BI_PASSWORD` turns it on (no password, no role: a role without one would be either
unusable or open); `LAKEHOUSE_BI_USER` names it (default `bi_reader`). The project creates it
and keeps its grants on every run that publishes:

- LOGIN, no superuser / createdb / createrole, a connection limit;
- CONNECT on the lakehouse database, USAGE on schema `marts`, SELECT on its tables, and SELECT
  by default on the tables created there later (dbt rebuilds the mart by create + rename, which
  would otherwise drop the grant);
- nothing on any other schema: `curated`, `staging`, Dagster's or Marquez's tables stay unreadable.

On the embedded server (trust authentication on 127.0.0.1 for the project's own roles) a line
in pg_hba.conf makes this role, and only it, authenticate with its password (scram-sha-256).
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from lakehouse_core.settings import PostgresConnection, Settings

MARTS_SCHEMA = "marts"
CONNECTION_LIMIT = 20


def bi_credentials(settings: Settings) -> tuple[str, str] | None:
    """(user, password), or None when LAKEHOUSE_BI_PASSWORD is not set."""
    if not settings.bi_password:
        return None
    return settings.bi_user, settings.bi_password


def ensure_bi_reader(conn: PostgresConnection, user: str, password: str, pg_data_dir: Path | None = None) -> None:
    """Create or update the role and its grants (idempotent). `pg_data_dir`: the embedded
    server's data directory, to require the role's password there."""
    role = sql.Identifier(user)
    with psycopg.connect(conn.url, autocommit=True) as pg:
        owner = pg.execute("select current_user").fetchone()[0]
        exists = pg.execute("select 1 from pg_roles where rolname = %s", (user,)).fetchone()
        verb = "alter" if exists else "create"
        pg.execute(
            sql.SQL(
                "{} role {} with login nosuperuser nocreatedb nocreaterole noinherit connection limit {} password {}"
            ).format(sql.SQL(verb), role, sql.Literal(CONNECTION_LIMIT), sql.Literal(password))
        )
        schema = sql.Identifier(MARTS_SCHEMA)
        pg.execute(sql.SQL("create schema if not exists {}").format(schema))
        pg.execute(sql.SQL("grant connect on database {} to {}").format(sql.Identifier(conn.dbname), role))
        pg.execute(sql.SQL("grant usage on schema {} to {}").format(schema, role))
        pg.execute(sql.SQL("grant select on all tables in schema {} to {}").format(schema, role))
        pg.execute(
            sql.SQL("alter default privileges for role {} in schema {} grant select on tables to {}").format(
                sql.Identifier(owner), schema, role
            )
        )
        # PUBLIC may create in `public` on servers initialised before PostgreSQL 15.
        pg.execute(sql.SQL("revoke create on schema public from {}").format(role))
        if pg_data_dir is not None and _require_password(pg_data_dir, user):
            pg.execute("select pg_reload_conf()")


def _require_password(pg_data_dir: Path, user: str) -> bool:
    """Put `host all <user> ... scram-sha-256` first in pg_hba.conf; True if it changed."""
    hba = pg_data_dir / "pg_hba.conf"
    if not hba.exists():
        return False
    lines = hba.read_text().splitlines()
    wanted = [
        f"host all {user} 127.0.0.1/32 scram-sha-256  # lakehouse BI role: password required",
        f"host all {user} ::1/128 scram-sha-256  # lakehouse BI role: password required",
    ]
    if lines[: len(wanted)] == wanted:
        return False
    kept = [line for line in lines if "# lakehouse BI role" not in line]
    hba.write_text("\n".join(wanted + kept) + "\n")
    return True

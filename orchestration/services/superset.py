"""Superset on the mart, for `make bi` / `lakehouse up --bi`: gunicorn serving Superset 6.1 in the background.

`up()` does, in order (each step a no-op when already done):

1. Superset's own venv from bi/requirements.txt (bi/environment.py; first time: a few minutes);
2. the read-only BI role in Postgres (orchestration/services/postgres/bi_role.py) with
   LAKEHOUSE_BI_PASSWORD, or a password generated into <data dir>/superset/bi_password;
3. its home under <data dir>/superset: config, SECRET_KEY, metadata DB migrated, roles, the
   admin (bi/instance.py);
4. gunicorn on LAKEHOUSE_SUPERSET_HOST:LAKEHOUSE_SUPERSET_PORT (default 127.0.0.1:8088), up when
   /health answers; log `<data dir>/logs/superset.log`;
5. the dashboard provisioned through the REST API when the mart exists (bi/provision.py), which
   emits the lineage run `superset.provision` (mart -> Superset dataset and dashboard) to the outbox.

    python -m orchestration.services.superset up | down | status | provision | serve (foreground, for containers)
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
import typer

from bi import dashboard, environment, instance, provision
from lakehouse_core.settings import Settings, get_settings
from orchestration.services import background
from orchestration.services.postgres import PostgresUnavailable, ensure_postgres
from orchestration.services.postgres.bi_role import ensure_bi_reader


class MartMissing(RuntimeError):
    """The mart is not in Postgres yet: run the pipeline (`make demo`) first."""


def url(settings: Settings) -> str:
    return f"http://localhost:{settings.superset_port_number}"


def dashboard_url(settings: Settings) -> str:
    return f"{url(settings)}/superset/dashboard/{dashboard.DASHBOARD_SLUG}/"


def log_file(settings: Settings) -> Path:
    return settings.log_dir / "superset.log"


def declare(settings: Settings) -> background.Service:
    host, port = settings.superset_host, settings.superset_port_number  # ValueError naming the setting
    probe = "127.0.0.1" if host in ("0.0.0.0", "::", "localhost") else host
    return background.Service(
        label="Superset",
        command=instance.server_command(settings, settings.superset_venv),
        env=instance.superset_env(settings),
        pid_file=settings.run_dir / "superset.pid",
        log_file=log_file(settings),
        marks=(instance.APP.encode(),),
        url=url(settings),
        host=probe,
        port=port,
        port_setting="LAKEHOUSE_SUPERSET_PORT",
        ready=lambda: background.http_ok(f"http://{probe}:{port}/health", timeout_s=2),
        start_timeout_s=240,  # the app loads in 20-40 s on a busy 2-core machine
        stop_timeout_s=15,
        banner=f"starting Superset on {url(settings)}",
    )


def ensure_bi_role(settings: Settings) -> str:
    """The read-only role exists with the password Superset will use; that password."""
    password = instance.bi_password(settings)
    conn = ensure_postgres(settings)
    data_dir = None if settings.external_pg_url else settings.pg_data_dir
    try:
        ensure_bi_reader(conn, settings.bi_user, password, pg_data_dir=data_dir)
    except psycopg.errors.InsufficientPrivilege as exc:
        raise PostgresUnavailable(
            f"cannot set up the BI role {settings.bi_user!r} as {conn.user}: {exc}; give that user CREATEROLE"
        ) from exc
    return password


def mart_exists(settings: Settings, password: str) -> bool:
    """The BI role can read the mart (it is built, and the grants hold)."""
    pg = settings.pg
    with psycopg.connect(
        host=pg.host, port=pg.port, dbname=pg.dbname, user=settings.bi_user, password=password, connect_timeout=10
    ) as conn:
        found = conn.execute(
            "select 1 from information_schema.tables where table_schema = %s and table_name = %s",
            (dashboard.SCHEMA, dashboard.TABLE),
        ).fetchone()
    return found is not None


@dataclass(frozen=True)
class Up:
    pid: int
    started: bool
    provisioned: provision.Provisioned | None  # None: the mart does not exist yet


def up(settings: Settings, say: Callable[[str], None] = print, provision_dashboard: bool = True) -> Up:
    """Install, bootstrap, start and provision Superset (see the module's docstring)."""
    venv = environment.ensure(settings, say)
    bi_password = ensure_bi_role(settings)
    service = declare(settings)
    if background.running_pid(service) is None and instance.bootstrap(settings, venv, service.log_file):
        say(f"Superset's metadata database, roles and admin set up in {instance.home(settings)}")
    pid, started = background.start(service)
    provisioned = None
    if provision_dashboard and mart_exists(settings, bi_password):
        provisioned = provision.provision(settings, instance.admin_password(settings), bi_password)
    return Up(pid, started, provisioned)


def stop(settings: Settings) -> bool:
    return background.stop(declare(settings))


def status(settings: Settings) -> background.Status:
    return background.status(declare(settings))


# --- python -m orchestration.services.superset ----------------------------------------------

cli = typer.Typer(help="Superset on the mart (`make bi`).", no_args_is_help=True, add_completion=False)


def report(settings: Settings, result: Up, say: Callable[[str], None] = print) -> None:
    """What `make bi` / `lakehouse up --bi` print once Superset is up."""
    state = "up" if result.started else "already up"
    say(f"Superset   {state}  {url(settings)}  (pid {result.pid}, log {log_file(settings)})")
    say(f"           log in as {settings.superset_admin!r}, password: {instance.admin_password_source(settings)}")
    if result.provisioned is None:
        say("           the mart is not built yet: run `make demo`, then `make bi` again to provision the dashboard")
        return
    lineage = (
        "lineage emitted to the outbox" if result.provisioned.lineage_emitted else "lineage NOT emitted (see the log)"
    )
    say(f"           dashboard {dashboard_url(settings)}  ({lineage})")


@cli.command("up")
def up_command() -> None:
    """Install (first time), start and provision Superset."""
    settings = get_settings()
    try:
        report(settings, up(settings))
    except (RuntimeError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@cli.command("down")
def down_command() -> None:
    """Stop Superset."""
    typer.echo("Superset    " + ("stopped" if stop(get_settings()) else "was not running"))


@cli.command("status")
def status_command() -> None:
    """Whether Superset runs and answers."""
    settings = get_settings()
    current = status(settings)
    state = "running" if current.answers else "stopped"
    typer.echo(f"Superset   {state}  {url(settings)}" + (f"  (pid {current.pid})" if current.pid else ""))


@cli.command("provision")
def provision_command() -> None:
    """Provision (or refresh) the dataset, charts and dashboard of a running Superset; emits its lineage."""
    settings = get_settings()
    try:
        bi_password = ensure_bi_role(settings)
        if not mart_exists(settings, bi_password):
            raise MartMissing("the mart is not built yet: run `make demo` first")
        done = provision.provision(settings, instance.admin_password(settings), bi_password)
    except (RuntimeError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"provisioned {dashboard_url(settings)} (dataset {done.dataset_id}, charts {sorted(done.chart_ids.values())})"
    )


@cli.command("serve")
def serve_command(
    retry_s: float = typer.Option(60, help="Until the mart exists, try provisioning again every this many seconds."),
) -> None:
    """`up`, then stay in the foreground while Superset runs (a container's command); SIGTERM stops it."""
    import signal
    import time

    settings = get_settings()
    signal.signal(signal.SIGTERM, lambda *_: (stop(settings), sys.exit(0)))
    try:
        result = up(settings)
    except (RuntimeError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    report(settings, result)
    provisioned = result.provisioned is not None
    while background.running_pid(declare(settings)) is not None:
        time.sleep(retry_s if not provisioned else 5)
        if not provisioned:
            try:
                password = ensure_bi_role(settings)
                if mart_exists(settings, password):
                    done = provision.provision(settings, instance.admin_password(settings), password)
                    typer.echo(f"provisioned {dashboard_url(settings)} (dataset {done.dataset_id})")
                    provisioned = True
            except (RuntimeError, ValueError, psycopg.Error) as exc:
                typer.echo(f"provisioning failed, will retry: {exc}", err=True)
    typer.echo(f"Superset exited; see {log_file(settings)}", err=True)
    raise typer.Exit(1)


if __name__ == "__main__":
    cli()

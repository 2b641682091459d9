"""Run the built-in Marquez-compatible server in the foreground (uvicorn)."""

from __future__ import annotations

import typer

from marquez.config import DEFAULT_HOST, DEFAULT_PORT, ServerConfig

cli = typer.Typer(help="The built-in Marquez-compatible lineage server.", no_args_is_help=True, add_completion=False)


def run(config: ServerConfig) -> None:
    """Create/migrate the schema, then serve until interrupted."""
    import uvicorn

    from marquez.app import create_app

    uvicorn.run(
        create_app(config),
        host=config.host,
        port=config.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=10,
    )


@cli.command()
def serve(
    host: str = typer.Option(None, help=f"Interface to listen on (default {DEFAULT_HOST}; MARQUEZ_HOST)."),
    port: int = typer.Option(None, help=f"Port (default {DEFAULT_PORT}; MARQUEZ_PORT)."),
    db_url: str = typer.Option(None, "--db-url", help="PostgreSQL URL of the server's own database (MARQUEZ_DB_URL)."),
    api_key: str = typer.Option(None, "--api-key", hidden=True, help="Refused: set MARQUEZ_API_KEY instead."),
) -> None:
    """Serve the Marquez v1 API; on an empty database, create its schema first.

    The API key comes from MARQUEZ_API_KEY only: on the command line `ps` shows it to every user."""
    if api_key is not None:
        typer.echo("error: --api-key is not accepted (the command line shows in `ps`); set MARQUEZ_API_KEY", err=True)
        raise typer.Exit(2)
    try:
        config = ServerConfig.from_env(host=host, port=port, db_url=db_url)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    run(config)


@cli.command()
def migrate(db_url: str = typer.Option(None, "--db-url", help="PostgreSQL URL (MARQUEZ_DB_URL).")) -> None:
    """Create or upgrade the schema, then exit."""
    from marquez.storage.migrations import migrate as apply

    config = ServerConfig.from_env(db_url=db_url)
    for version in apply(config.db_url):
        typer.echo(f"applied {version}")


@cli.command()
def project(
    db_url: str = typer.Option(None, "--db-url", help="PostgreSQL URL (MARQUEZ_DB_URL)."),
    log_level: str = typer.Option("warning", "--log-level", help="Python logging level."),
) -> None:
    """Apply stored events to the model until stopped (`serve` starts one by itself)."""
    import logging
    import signal

    from marquez.storage.db import open_pool
    from marquez.storage.projector import Projector

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    config = ServerConfig.from_env(db_url=db_url)
    pool = open_pool(config.db_url, 2, config.synchronous_commit)
    projector = Projector(pool, config.db_url)
    signal.signal(signal.SIGTERM, lambda *_: projector.stop())
    signal.signal(signal.SIGINT, lambda *_: projector.stop())
    try:
        projector.run_forever()
    finally:
        pool.close()

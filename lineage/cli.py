"""`lineage`: inspect the local OpenLineage outbox.

    lineage status    how many events are pending / delivered / failed, and the oldest one owed
    lineage events    the most recent events (optionally of one run)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from lineage.outbox import Outbox

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
console = Console()

OutboxPath = Annotated[
    Path | None, typer.Option("--outbox", help="Outbox file (default: <data dir>/lineage/outbox.sqlite3).")
]


@app.command()
def status(outbox: OutboxPath = None) -> None:
    """Event counts by delivery status."""
    box = Outbox(outbox)
    counts = box.counts()
    table = Table()
    table.add_column("status")
    table.add_column("events", justify="right")
    table.add_row("pending", str(counts.pending))
    table.add_row("failed (will retry)", str(counts.failed), style="red" if counts.failed else None)
    table.add_row("delivered", str(counts.delivered))
    console.print(f"outbox: {box.path}")
    console.print(table)
    console.print(f"oldest undelivered: {counts.oldest_undelivered or '-'}")


@app.command()
def events(
    run_id: Annotated[str | None, typer.Option("--run-id", help="Only this OpenLineage run.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many of the most recent events.")] = 50,
    outbox: OutboxPath = None,
) -> None:
    """The most recent events in the outbox, oldest first."""
    rows = Outbox(outbox).events(run_id=run_id, limit=limit)
    table = Table()
    for column in ("seq", "event time", "type", "job", "run id", "status", "attempts", "last error"):
        table.add_column(column, overflow="fold")
    for e in rows:
        table.add_row(
            str(e.seq),
            e.event_time,
            e.event_type or "-",
            f"{e.job_namespace}/{e.job_name}" if e.job_name else "-",
            e.run_id or "-",
            e.status,
            str(e.attempts),
            e.last_error or "",
        )
    console.print(table)
    if not rows:
        console.print("no events" + (f" for run {run_id}" if run_id else ""))

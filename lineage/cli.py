"""`lineage`: the local OpenLineage outbox and its delivery to Marquez.

    lineage status            events pending / failed / delivered / rejected, the oldest owed, the last error
    lineage events            the most recent events (optionally of one run, or with one status)
    lineage deliver           deliver what is owed once; --follow keeps delivering (what `lakehouse up` runs)
    lineage replay            deliver the whole backlog now, with a progress bar (--failed: events set aside as failed too)
    lineage diff              reconcile Dagster's asset graph with Marquez and report drift

Exit codes of deliver / replay: 0 nothing is owed any more, 1 events remain (or Marquez refused
some in this call), 2 Marquez could not be reached.
Exit codes of diff: 0 no drift at or above --fail-on, 1 drift at or above it, 2 Marquez could not
be reached or the configuration is wrong.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from lakehouse_core.marquez import MarquezTarget, resolve
from lineage.delivery import BACKOFF_MAX_S, DeliveryResult, deliver_once, follow
from lineage.diff.command import diff_command
from lineage.outbox import FAILED, REJECTED, Outbox
from lineage.sender import LineageSender

app = typer.Typer(help=__doc__, no_args_is_help=True, add_completion=False)
console = Console()

OutboxPath = Annotated[
    Path | None, typer.Option("--outbox", help="Outbox file (default: <data dir>/lineage/outbox.sqlite3).")
]
MarquezUrl = Annotated[
    str | None, typer.Option("--url", help="Marquez base URL (default: MARQUEZ_URL, else the built-in server).")
]
OneByOne = Annotated[
    bool, typer.Option("--one-by-one", help="One event per request even if the server has a batch endpoint.")
]
UNREACHABLE = 2


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
    table.add_row("rejected (set aside)", str(counts.rejected), style="red" if counts.rejected else None)
    console.print(f"outbox: {box.path}")
    console.print(table)
    head = box.oldest_owed()
    console.print(f"oldest undelivered: {_describe(head, head.created_at) if head else '-'}")
    last = box.last_error()
    if last is not None:
        console.print(f"last error: {_describe(last, last.last_attempt_at or '')} ({last.status}): {last.last_error}")
    if counts.rejected:
        console.print(f"rejected events and their reasons: lineage events --status {REJECTED}")
    console.print(
        f"failed and set aside (Marquez kept answering 5xx): {counts.set_aside}"
        + (
            f"; listed by `lineage events --status {FAILED}`, sent again by `lineage replay --failed`"
            if counts.set_aside
            else ""
        ),
        style="red" if counts.set_aside else None,
    )
    try:
        target = resolve()
        console.print(f"delivered to: {target.url} ({target.source})")
    except ValueError as exc:
        console.print(f"delivered to: [red]{exc}[/]")


def _describe(event, when: str) -> str:
    job = f"{event.job_namespace}/{event.job_name}" if event.job_name else "no job"
    return f"{when} seq {event.seq} {event.event_type or '-'} {job}".strip()


@app.command()
def events(
    run_id: Annotated[str | None, typer.Option("--run-id", help="Only this OpenLineage run.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many of the most recent events.")] = 50,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Only events with this status (pending, failed, delivered, rejected)."),
    ] = None,
    outbox: OutboxPath = None,
) -> None:
    """The most recent events in the outbox, oldest first."""
    rows = Outbox(outbox).events(run_id=run_id, limit=limit, status=status)
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


def _target(url: str | None) -> MarquezTarget:
    try:
        return resolve(url)
    except ValueError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(UNREACHABLE) from None


def _exit_code(result: DeliveryResult, target: MarquezTarget) -> int:
    """Print how delivery ended; 0 nothing owed, 1 something remains or was refused, 2 unreachable."""
    summary = f"delivered {result.delivered}, rejected {result.rejected}, still owed {result.remaining}"
    if result.set_aside:
        summary += f", set aside as failed {result.set_aside}"
    if result.unreachable:
        console.print(f"[bold red]Marquez at {target.url} cannot be reached ({target.source}):[/] {result.error}")
        console.print(f"{summary}; the events wait in the outbox")
        return UNREACHABLE
    console.print(summary)
    if result.error:
        console.print(f"[red]stopped at an event Marquez could not take now:[/] {result.error}")
    if result.busy:
        console.print("[yellow]another process is delivering this outbox; try again when it is done[/]")
    if result.rejected:
        console.print(
            f"[red]{result.rejected} events refused by Marquez were set aside:[/] lineage events --status {REJECTED}"
        )
    if result.set_aside:
        console.print(
            f"[red]{result.set_aside} events Marquez kept failing on (5xx) were set aside as failed:[/]"
            f" lineage events --status {FAILED}; lineage replay --failed sends them again"
        )
    return 1 if (result.remaining or result.rejected or result.busy or result.set_aside) else 0


@app.command()
def deliver(
    follow_: Annotated[
        bool,
        typer.Option("--follow", help="Keep delivering until stopped (SIGTERM / Ctrl-C), with backoff on failures."),
    ] = False,
    url: MarquezUrl = None,
    one_by_one: OneByOne = False,
    outbox: OutboxPath = None,
    max_backoff: Annotated[
        float, typer.Option("--max-backoff", min=0.1, help="With --follow: longest wait between retries, in seconds.")
    ] = BACKOFF_MAX_S,
) -> None:
    """Deliver the events owed to Marquez, in order (once, or continuously with --follow)."""
    target = _target(url)
    box = Outbox(outbox)
    batch = False if one_by_one else None
    if not follow_:
        raise typer.Exit(_exit_code(deliver_once(box, target, batch=batch), target))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())  # finish the request in flight, then leave
    follow(box, target, stop=stop, batch=batch, backoff_max_s=max_backoff)


@app.command()
def replay(
    url: MarquezUrl = None,
    one_by_one: OneByOne = False,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Retries after a failure (1 s, 2 s, 4 s ... apart).")
    ] = 2,
    failed: Annotated[
        bool,
        typer.Option("--failed", help="Also send again the events set aside as failed (Marquez kept answering 5xx)."),
    ] = False,
    outbox: OutboxPath = None,
) -> None:
    """Deliver the whole backlog now, exactly once from Marquez's point of view, with a progress bar."""
    target = _target(url)
    box = Outbox(outbox)
    if failed:
        again = box.retry_failed()
        console.print(f"{again} events set aside as failed are owed again")
    owed = box.counts().undelivered
    if not owed:
        console.print(f"nothing to deliver: the outbox {box.path} owes Marquez no event")
        raise typer.Exit(0)
    sender = LineageSender(target, batch=False if one_by_one else None)
    total = DeliveryResult()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    try:
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(f"replay to {target.url}", total=owed)
            for attempt in range(retries + 1):
                if attempt:
                    time.sleep(min(2 ** (attempt - 1), 30))
                result = deliver_once(box, target, sender=sender, progress=lambda n: bar.advance(task, n))
                total.delivered += result.delivered
                total.rejected += result.rejected
                total.set_aside += result.set_aside
                total.error, total.unreachable, total.busy = result.error, result.unreachable, result.busy
                total.remaining = result.remaining
                if result.error is None and not result.busy:
                    break
    finally:
        sender.close()
    raise typer.Exit(_exit_code(total, target))


app.command("diff")(diff_command)


if __name__ == "__main__":  # `python -m lineage.cli deliver --follow`: what `lakehouse up` starts
    app()

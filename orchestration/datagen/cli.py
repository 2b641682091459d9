"""`lakehouse-generate`: write a synthetic bioreactor historian export to the Parquet lake.

Files land in <out>/date=YYYY-MM-DD/part-<site>.parquet. A non-empty --out is refused unless
--clean is given, which deletes the lake's date=* folders first (and nothing else), so two
runs never mix.

    lakehouse-generate --clean
    lakehouse-generate --out /tmp/lake --target-rows 5000000 --clean
    python -m orchestration.datagen --help
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from orchestration.datagen.generator import GenerationSummary, generate_bioreactor_data

app = typer.Typer(help=__doc__, add_completion=False)
console = Console()


@app.command()
def generate(
    out: Path | None = typer.Option(
        None, "--out", help="Lake directory. Default: $LAKEHOUSE_RAW_DIR, else <data dir>/lake/raw/bioreactor."
    ),
    seed: int = typer.Option(42, help="Random seed: the same options and seed give byte-identical files."),
    sites: str = typer.Option("LON,BOS,SGP", help="Comma-separated site codes, or a number of sites."),
    reactors_per_site: int = typer.Option(2, min=1, max=99, help="Bioreactors per site."),
    batches_per_reactor: int = typer.Option(2, min=1, max=9999, help="Batches run back to back on each reactor."),
    days: int | None = typer.Option(
        None, min=1, help="Run window in days: reactors run batches until it closes (replaces --batches-per-reactor)."
    ),
    sample_interval: float = typer.Option(60.0, help="Seconds between two readings of a batch (> 0)."),
    start_date: str = typer.Option("2025-01-01", help="UTC date the first batch starts (YYYY-MM-DD)."),
    target_rows: int | None = typer.Option(
        None,
        min=1,
        help="Approximate total rows (e.g. 5000000 for a benchmark): raises the batches per reactor "
        "and tunes the sample interval to hit it.",
    ),
    overlap: bool = typer.Option(
        True, "--overlap/--no-overlap", help="Stagger reactors so batches overlap in time, or run one at a time."
    ),
    clean: bool = typer.Option(False, "--clean", help="Delete the existing lake at --out first."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar over the days."),
) -> None:
    """Generate fed-batch bioreactor sensor readings (8 tags per sample) as a Parquet lake."""
    if not sample_interval > 0:
        raise typer.BadParameter(f"must be > 0 seconds, got {sample_interval}", param_hint="--sample-interval")
    if out is None:
        from lakehouse_core.settings import get_settings

        out = get_settings().raw_dir
    try:
        summary = generate_bioreactor_data(
            out,
            seed=seed,
            sites=_parse_sites(sites),
            reactors_per_site=reactors_per_site,
            batches_per_reactor=batches_per_reactor,
            days=days,
            start_date=start_date,
            sample_interval_s=sample_interval,
            overlap=overlap,
            target_rows=target_rows,
            clean=clean,
            progress=progress,
        )
    except (ValueError, OSError) as exc:
        console.print(f"[bold red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    console.print(_summary_table(summary))


def _parse_sites(text: str) -> list[str] | int:
    text = text.strip()
    if text.isdigit():
        return int(text)
    codes = [code.strip().upper() for code in text.split(",") if code.strip()]
    if not codes:
        raise typer.BadParameter("give site codes like LON,BOS or a number of sites", param_hint="--sites")
    return codes


def _summary_table(summary: GenerationSummary) -> Table:
    table = Table(title="Bioreactor lake written", show_header=False)
    table.add_row("Directory", str(summary.out_dir))
    table.add_row("Rows", f"{summary.rows:,}")
    table.add_row("Files", f"{len(summary.files):,}")
    table.add_row("Bytes", f"{summary.bytes:,} ({summary.bytes / 2**20:,.1f} MiB)")
    if summary.dates:
        table.add_row("Dates", f"{summary.dates[0]} .. {summary.dates[-1]} ({len(summary.dates)} days)")
    table.add_row("Batches", f"{summary.batches:,}")
    table.add_row("Sample interval", f"{summary.sample_interval_s:g} s")
    table.add_row("Elapsed", f"{summary.elapsed_s:.2f} s ({summary.rows_per_s:,.0f} rows/s)")
    return table

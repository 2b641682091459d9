"""`lineage status` and `lineage events` read the outbox of the configured data directory."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from lineage.cli import app
from lineage.events import AssetRun, DagsterRun, emit
from lineage.outbox import Outbox

runner = CliRunner()


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.output


def test_status_and_events(data_dir: Path, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(Path(__file__).parents[2] / "openlineage.yml"))
    run = AssetRun.for_asset("raw_bioreactor_data", DagsterRun("dagster-run-1", "ingest_raw_data"))
    other = AssetRun.for_asset("stg_bioreactor", DagsterRun("dagster-run-1", "ingest_raw_data"))
    for event in (run.start(), run.complete(), other.start()):
        assert emit(event)
    outbox = Outbox()
    outbox.mark_delivered([1])
    outbox.mark_failed(2, "connection refused")

    status = _invoke("status")
    assert str(data_dir / "lineage" / "outbox.sqlite3") in status
    rows = [line.split("│")[1:3] for line in status.splitlines() if line.count("│") == 3]
    counts = {label.strip(): count.strip() for label, count in rows}
    assert counts == {"pending": "1", "failed (will retry)": "1", "delivered": "1", "rejected (set aside)": "0"}

    listed = _invoke("events", "--run-id", run.run_id)
    assert "dagster.asset.raw_bioreactor_data" in listed and "connection refused" in listed
    assert "dagster.asset.stg_bioreactor" not in listed
    assert "dagster.asset.stg_bioreactor" in _invoke("events", "--limit", "1")


def test_status_of_an_empty_outbox(tmp_path: Path):
    output = _invoke("status", "--outbox", str(tmp_path / "box.sqlite3"))
    assert "oldest undelivered: -" in output

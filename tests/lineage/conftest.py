"""Isolation for the lineage tests: a fresh data directory per test (so the default outbox is
`<tmp>/data/lineage/outbox.sqlite3`, never under /work/main/data) and no OpenLineage settings
inherited from the shell."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Another copy of the OpenLineage JSON schemas for the tests (tests/openlineage_spec.py): a test
# setting, not an OpenLineage client setting, so it stays.
_KEPT = {"OPENLINEAGE_SPEC_DIR"}


def _openlineage_vars() -> set[str]:
    return {k for k in os.environ if k.startswith("OPENLINEAGE") and k not in _KEPT}


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    for key in _openlineage_vars():
        monkeypatch.delenv(key)
    for key in ("LAKEHOUSE_DUCKDB_PATH", "LAKEHOUSE_RAW_DIR"):
        monkeypatch.delenv(key, raising=False)
    path = tmp_path / "data"
    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(path))
    yield path
    # OpenLineageClient writes OPENLINEAGE__TRANSPORT__* into os.environ itself when
    # OPENLINEAGE_URL is set; monkeypatch does not know about those.
    for key in _openlineage_vars():
        os.environ.pop(key, None)


@pytest.fixture
def openlineage_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An openlineage.yml selecting the outbox transport with an explicit path, via OPENLINEAGE_CONFIG.
    Returns the outbox path."""
    outbox = tmp_path / "ol" / "outbox.sqlite3"
    config = tmp_path / "openlineage.yml"
    config.write_text(f"transport:\n  type: lineage.transport.OutboxTransport\n  path: {outbox}\n  strict: true\n")
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    return outbox

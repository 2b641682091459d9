"""`lakehouse up / down / status` and the lineage UI: the background service declared in
orchestration/services/lineage_ui.py (its own process group, pid file, log), on a free port."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from lakehouse_core.settings import get_settings
from orchestration.services import lineage_ui

REPO_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_service_starts_serves_and_stops(monkeypatch, marquez_url):
    monkeypatch.setenv("LINEAGE_UI_PORT", str(_free_port()))
    monkeypatch.setenv("MARQUEZ_URL", marquez_url)
    settings = get_settings()
    pid, started = lineage_ui.start(settings)
    try:
        assert started and lineage_ui.status(settings) == (pid, True)
        assert lineage_ui.start(settings) == (pid, False)  # a second `up` leaves it alone
        base = f"http://127.0.0.1:{settings.ui_port}"
        assert requests.get(f"{base}/api/v1/namespaces", timeout=30).status_code == 200  # proxied to the chosen Marquez
        assert '<div id="root">' in requests.get(f"{base}/lineage?node=x", timeout=30).text
        status = subprocess.run(
            [str(Path(sys.executable).parent / "lakehouse"), "status"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert f"Lineage UI running  http://localhost:{settings.ui_port}  (pid {pid})" in " ".join(
            status.stdout.split("\n")
        ), status.stdout
    finally:
        assert lineage_ui.stop(settings)
    assert lineage_ui.status(settings) == (None, False)
    assert not lineage_ui.stop(settings)  # nothing left to stop
    assert "starting on" in lineage_ui.log_file(settings).read_text()


def test_service_refuses_a_taken_port_naming_the_variable(monkeypatch):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        monkeypatch.setenv("LINEAGE_UI_PORT", str(squatter.getsockname()[1]))
        with pytest.raises(RuntimeError, match="is taken by another process: stop it, or set LINEAGE_UI_PORT"):
            lineage_ui.start(get_settings())


def test_service_rejects_a_bad_port(monkeypatch):
    monkeypatch.setenv("LINEAGE_UI_PORT", "ui")
    with pytest.raises(ValueError, match="LINEAGE_UI_PORT must be a port number, got 'ui'"):
        lineage_ui.start(get_settings())

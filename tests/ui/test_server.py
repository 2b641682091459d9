"""The lineage UI server over HTTP (a real `python -m lineage_ui serve` process and a real
built-in Marquez): the same-origin proxy, the API key, Marquez unreachable, the drift report, the app shell."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote

import pytest
import requests

from lakehouse_core.settings import Settings
from lineage_ui.config import UiConfig
from tests.marquez_fixture import start_builtin_server
from tests.ui.conftest import ui_server

NS = "postgres://db.example:5432"
NAME = "warehouse.public.readings"


def _event(job: str = "ui_proxy_test") -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2025-04-01T00:00:00.000Z",
        "producer": "https://example.com/tests/ui",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "ui-tests", "name": job},
        "inputs": [],
        "outputs": [{"namespace": NS, "name": NAME}],
    }


@pytest.fixture(scope="module")
def keyed_marquez(postgres, tmp_path_factory):
    """A built-in Marquez that requires `Authorization: Bearer <key>`, holding one dataset whose
    namespace has '/' and ':' (sent encoded, as Marquez expects)."""
    key = f"key-{uuid.uuid4().hex}"
    server = start_builtin_server(postgres, tmp_path_factory.mktemp("keyed"), extra_env={"MARQUEZ_API_KEY": key})
    try:
        response = requests.post(
            f"{server.url}/api/v1/lineage", json=_event(), headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        assert response.status_code in (200, 201), response.text
        yield server.url, key
    finally:
        server.stop()


def test_proxy_passes_encoded_names_and_the_api_key(keyed_marquez, tmp_path):
    url, key = keyed_marquez
    with ui_server(tmp_path, MARQUEZ_URL=url, MARQUEZ_API_KEY=key) as ui:
        response = requests.get(
            f"{ui}/api/v1/namespaces/{quote(NS, safe='')}/datasets/{quote(NAME, safe='')}", timeout=30
        )
        assert response.status_code == 200, response.text
        assert response.json()["name"] == NAME
        assert response.headers["content-type"].startswith("application/json")
        # Query strings go through as sent.
        found = requests.get(f"{ui}/api/v1/search", params={"q": "readings", "limit": 5}, timeout=30).json()
        assert [r["name"] for r in found["results"]] == [NAME]
        # Marquez's own errors come back unchanged.
        assert requests.get(f"{ui}/api/v1/namespaces/nope/datasets/missing", timeout=30).status_code == 404
        # Read-only: the UI never writes to Marquez.
        assert requests.post(f"{ui}/api/v1/lineage", json=_event("write_attempt"), timeout=30).status_code == 405
    with ui_server(tmp_path, MARQUEZ_URL=url) as ui:  # no key: the server refuses, and the UI says so
        assert requests.get(f"{ui}/api/v1/namespaces", timeout=30).status_code == 401


def test_marquez_unreachable_is_a_502_that_says_what_to_do(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    with ui_server(tmp_path, MARQUEZ_URL=f"http://127.0.0.1:{dead}") as ui:
        response = requests.get(f"{ui}/api/v1/namespaces", timeout=30)
        assert response.status_code == 502
        body = response.json()
        assert body["error"].startswith(f"Marquez unreachable at http://127.0.0.1:{dead} (MARQUEZ_URL)")
        assert "lakehouse up" in body["hint"]


def test_drift_report_missing_invalid_and_present(tmp_path, marquez_url):
    report = tmp_path / "diff" / "last.json"
    with ui_server(tmp_path, MARQUEZ_URL=marquez_url, LINEAGE_DIFF_REPORT=str(report)) as ui:
        missing = requests.get(f"{ui}/lineage-ui/drift", timeout=30)
        assert missing.status_code == 404
        assert "run `lineage diff`" in missing.json()["hint"]
        report.parent.mkdir(parents=True)
        report.write_text("{not json")
        broken = requests.get(f"{ui}/lineage-ui/drift", timeout=30)
        assert broken.status_code == 500 and "not valid JSON" in broken.json()["error"]
        report.write_text(json.dumps({"version": 7, "drifts": []}))
        assert "not a version 1" in requests.get(f"{ui}/lineage-ui/drift", timeout=30).json()["error"]
        written = {
            "version": 1,
            "generated_at": "2025-04-01T00:00:00Z",
            "marquez": marquez_url,
            "summary": {},
            "drifts": [],
        }
        report.write_text(json.dumps(written))
        assert requests.get(f"{ui}/lineage-ui/drift", timeout=30).json() == written
        config = requests.get(f"{ui}/lineage-ui/config", timeout=30).json()
        assert config == {"marquez": marquez_url, "marquezKind": "external", "driftReport": str(report.resolve())}


def test_every_app_url_serves_the_app_shell(tmp_path, marquez_url):
    with ui_server(tmp_path, MARQUEZ_URL=marquez_url) as ui:
        for path in ("/", "/lineage?node=dataset%3Afile%3A%2Fx", "/run/123", "/drift", "/dataset?ns=a&name=b"):
            response = requests.get(f"{ui}{path}", timeout=30)
            assert response.status_code == 200 and '<div id="root">' in response.text, path
            assert response.headers["cache-control"] == "no-cache"
        asset = next(p for p in response.text.split('"') if p.startswith("/assets/") and p.endswith(".js"))
        cached = requests.get(f"{ui}{asset}", timeout=30)
        assert cached.status_code == 200 and "immutable" in cached.headers["cache-control"]
        assert requests.get(f"{ui}/assets/missing.js", timeout=30).status_code == 404


def test_configuration_errors_are_specific(tmp_path, monkeypatch):
    for name in ("LINEAGE_DIFF_REPORT", "LINEAGE_UI_PORT", "MARQUEZ_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(tmp_path))
    config = UiConfig.from_settings(Settings.from_env())
    assert config.drift_report == tmp_path.resolve() / "lineage" / "diff" / "last.json"
    assert config.port == 3002
    monkeypatch.setenv("LINEAGE_DIFF_REPORT", str(tmp_path / "r.json"))
    assert UiConfig.from_settings(Settings.from_env()).drift_report == (tmp_path / "r.json").resolve()
    monkeypatch.setenv("LINEAGE_UI_PORT", "abc")
    with pytest.raises(ValueError, match="LINEAGE_UI_PORT must be a port number, got 'abc'"):
        UiConfig.from_settings(Settings.from_env())
    monkeypatch.setenv("LINEAGE_UI_PORT", "70000")
    with pytest.raises(ValueError, match="between 1 and 65535"):
        UiConfig.from_settings(Settings.from_env())


def test_marquez_database_down_is_explained_with_what_to_run(tmp_path, cut_server):
    """A real built-in Marquez whose Postgres goes away answers 503; the UI passes on what that
    usually means and what to do, not "500 internal error; see the server log"."""
    server, cut = cut_server
    with ui_server(tmp_path, MARQUEZ_URL=server.url) as ui:
        assert requests.get(f"{ui}/api/v1/namespaces", timeout=30).status_code == 200
        cut.down()
        try:
            response = requests.get(f"{ui}/api/v1/namespaces", timeout=30)
        finally:
            cut.up()
    body = response.json()
    assert response.status_code == 503, body
    assert body["error"].startswith("Marquez answered 503"), body
    assert "check its database" in body["hint"] and server.url in body["hint"], body

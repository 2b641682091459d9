"""openlineage-python builds the outbox transport from openlineage.yml, as dbt-ol does."""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.uuid import generate_new_uuid

from lakehouse_core.settings import REPO_ROOT
from lineage.outbox import Outbox
from lineage.transport import OutboxConfig, OutboxTransport


def _event(state: RunState = RunState.START) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=dt.datetime.now(dt.UTC).isoformat(),
        run=Run(runId=str(generate_new_uuid())),
        job=Job(namespace="lakehouse", name="transport.test"),
        producer="urn:test",
    )


def test_client_from_config_file_writes_to_the_outbox(openlineage_config: Path):
    client = OpenLineageClient()
    assert isinstance(client.transport, OutboxTransport)
    event = _event()
    client.emit(event)
    (row,) = Outbox(openlineage_config).pending()
    assert (row.run_id, row.event_type, row.job_namespace, row.job_name) == (
        event.run.runId,
        "START",
        "lakehouse",
        "transport.test",
    )
    assert json.loads(row.body)["run"]["runId"] == event.run.runId


def test_repo_config_uses_the_data_dir_outbox(data_dir: Path, monkeypatch):
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(REPO_ROOT / "openlineage.yml"))
    client = OpenLineageClient()
    assert isinstance(client.transport, OutboxTransport)
    assert client.transport.outbox.path == data_dir / "lineage" / "outbox.sqlite3"
    client.emit(_event())
    assert Outbox().counts().pending == 1


def test_openlineage_url_does_not_bypass_the_outbox(openlineage_config: Path, monkeypatch):
    # The client folds OPENLINEAGE_URL into the configured transport's settings; nothing may be sent.
    monkeypatch.setenv("OPENLINEAGE_URL", "http://127.0.0.1:9")
    client = OpenLineageClient()
    assert isinstance(client.transport, OutboxTransport)
    client.emit(_event())
    assert Outbox(openlineage_config).counts().pending == 1


def test_storage_failure_is_a_warning_unless_strict(tmp_path: Path, caplog):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the outbox directory should be")
    lenient = OutboxTransport(OutboxConfig.from_dict({"path": str(blocked / "outbox.sqlite3")}))
    with caplog.at_level(logging.WARNING, logger="lineage.transport"):
        assert lenient.emit(_event()) is None
    assert "not stored in the outbox" in caplog.text

    strict = OutboxTransport(OutboxConfig.from_dict({"path": str(blocked / "outbox.sqlite3"), "strict": "true"}))
    with pytest.raises(OSError):
        strict.emit(_event())


def test_config_from_env_variables(tmp_path: Path, monkeypatch):
    path = tmp_path / "env-outbox.sqlite3"
    monkeypatch.chdir(tmp_path)  # no openlineage.yml here
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "lineage.transport.OutboxTransport")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__PATH", str(path))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__STRICT", "true")
    client = OpenLineageClient()
    assert isinstance(client.transport, OutboxTransport) and client.transport.config.strict
    assert client.transport.emit(_event()) == 1


def test_relative_outbox_path_is_refused():
    # Processes run in different directories (dbt in dbt/): a relative path would split the outbox.
    with pytest.raises(ValueError, match="absolute"):
        OutboxConfig.from_dict({"type": "lineage.transport.OutboxTransport", "path": "lineage/outbox.sqlite3"})

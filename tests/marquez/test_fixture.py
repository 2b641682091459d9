"""The Marquez fixture: one Marquez per session, and fresh ones with empty stores on demand."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid

import pytest

from tests.marquez import conformance as cf
from tests.marquez_fixture import KINDS, docker_engine_answers

pytestmark = pytest.mark.marquez


def _get(url: str) -> tuple[int, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.loads(response.read() or b'""')


def _post_event(url: str, namespace: str) -> int:
    event = {
        "eventType": "COMPLETE",
        "eventTime": "2025-03-01T00:00:00Z",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": namespace, "name": "fixture_probe"},
        "inputs": [],
        "outputs": [],
        "producer": "https://example.invalid/tests/marquez_fixture",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    request = urllib.request.Request(
        url + "/api/v1/lineage", data=json.dumps(event).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def test_session_marquez_answers(marquez_url: str, marquez_kind: str) -> None:
    assert marquez_kind in KINDS
    status, body = _get(marquez_url + "/api/v1/namespaces")
    assert status == 200 and isinstance(body, dict) and "namespaces" in body


def test_docker_probe_is_cheap() -> None:
    started = time.monotonic()
    assert docker_engine_answers(timeout=2) in (True, False)
    assert time.monotonic() - started < 10


def test_fresh_marquez_has_its_own_empty_store(fresh_marquez, marquez_url: str, marquez_kind: str) -> None:
    if marquez_kind == "external":
        # a shared MARQUEZ_URL cannot give an empty store: such tests skip (fail under CI)
        with pytest.raises((pytest.skip.Exception, pytest.fail.Exception)):
            fresh_marquez()
        return
    first = fresh_marquez()
    assert first.url != marquez_url and first.kind == marquez_kind
    assert cf.foreign_namespaces(first.url) == []
    namespace = f"fixture-{uuid.uuid4().hex[:8]}"
    assert _post_event(first.url, namespace) == 201
    assert cf.foreign_namespaces(first.url) == [namespace]
    assert namespace not in cf.foreign_namespaces(marquez_url)
    second = fresh_marquez()
    assert cf.foreign_namespaces(second.url) == []


def test_a_builtin_server_that_dies_fails_with_its_log(postgres, tmp_path) -> None:
    import psycopg

    from tests.marquez_fixture import start_builtin_server

    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\necho 'simulated start-up failure: no such module' >&2\nexit 3\n")
    fake_python.chmod(0o755)
    with psycopg.connect(postgres.with_db("postgres").url, autocommit=True) as conn:
        before = {r[0] for r in conn.execute("select datname from pg_database where datname like 'marquez_test_%'")}
    with pytest.raises(RuntimeError) as failure:
        start_builtin_server(postgres, tmp_path / "logs", python=str(fake_python))
    message = str(failure.value)
    assert "exited with code 3" in message
    assert "simulated start-up failure" in message  # the log's tail
    with psycopg.connect(postgres.with_db("postgres").url, autocommit=True) as conn:
        after = {r[0] for r in conn.execute("select datname from pg_database where datname like 'marquez_test_%'")}
    assert after <= before  # its database was dropped again

"""Acknowledged means in the model, or a failure that is visible: an event the projector cannot
apply turns /healthcheck degraded, counts in /metrics and is listed by GET /projection-errors."""

from __future__ import annotations

import hashlib
import random
import time
import uuid

import psycopg
import pytest
import requests
from psycopg.types.json import Jsonb

from tests.marquez.support import get_json, post_ok, run_event, unique

pytestmark = pytest.mark.marquez


def _incompressible(n: int) -> str:
    """n random four-byte characters: Postgres cannot compress them under its index limit."""
    rng = random.Random(7)
    return "".join(chr(rng.randrange(0x20000, 0x2A6DF)) for _ in range(n))


def _store_unprojectable(db_url: str) -> None:
    """An event stored as if acknowledged before today's checks: a job name Postgres cannot index."""
    ns = unique("unprojectable")
    event = run_event(
        "START", namespace=ns, job=_incompressible(1000), run_id=str(uuid.uuid4()), event_time="2025-03-09T00:00:00Z"
    )
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO lineage_events (event_hash, event_type, event_time, job_namespace, job_name, producer, kind, event)"
            " VALUES (%s, 'START', '2025-03-09T00:00:00Z', %s, 'x', 'test', 'RunEvent', %s)",
            (hashlib.sha256(ns.encode()).hexdigest(), ns, Jsonb(event)),
        )
        conn.execute("SELECT pg_notify('marquez_events', '')")


def test_a_projection_error_is_visible_everywhere(start_builtin):
    server = start_builtin()
    health = requests.get(f"{server.url}/healthcheck", timeout=10).json()
    assert (health["status"], health["projectionErrors"], health["healthy"]) == ("ok", 0, True)
    assert get_json(server.url, "/projection-errors") == {"totalCount": 0, "errors": []}

    _store_unprojectable(server.db_url)
    ns = unique("after")
    post_ok(
        server.url,
        run_event("START", namespace=ns, job="j", run_id=str(uuid.uuid4()), event_time="2025-03-09T00:00:00Z"),
    )
    assert get_json(server.url, f"/namespaces/{ns}")["name"] == ns  # the others are applied all the same

    health = requests.get(f"{server.url}/healthcheck", timeout=10)
    assert health.status_code == 200  # still serving ...
    body = health.json()
    assert (body["status"], body["projectionErrors"], body["healthy"]) == ("degraded", 1, False)  # ... degraded
    assert "/projection-errors" in body["message"]

    metrics = requests.get(f"{server.url}/metrics", timeout=10).text
    assert "marquez_projection_errors 1.0" in metrics
    assert "marquez_pending_events 0.0" in metrics

    listed = get_json(server.url, "/projection-errors")
    assert listed["totalCount"] == 1
    (error,) = listed["errors"]
    assert (
        error["eventType"] == "START"
        and "index row" in error["error"].lower()
        or "ProgramLimitExceeded" in error["error"]
    )

    # Retry hands it to the projector again (it fails again: still listed, nothing lost).
    response = requests.post(
        f"{server.url}/api/v1/projection-errors/retry", headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 200 and response.json() == {"requeued": 1}
    deadline = time.monotonic() + 10
    while get_json(server.url, "/projection-errors")["totalCount"] != 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert get_json(server.url, "/projection-errors")["totalCount"] == 1


def test_a_read_that_answers_before_its_writes_are_applied_says_so(builtin_marquez):
    """The projector is kept off one stored event (its row locked); a read waits for it (10 s),
    then answers with X-Marquez-Unapplied-Events; once applied, no header."""
    ns = unique("unapplied")
    post_ok(
        builtin_marquez.url,
        run_event("START", namespace=ns, job="j", run_id=str(uuid.uuid4()), event_time="2025-03-09T00:00:00Z"),
    )
    get_json(builtin_marquez.url, "/namespaces")  # applied
    with psycopg.connect(builtin_marquez.db_url) as conn:
        (event_id,) = conn.execute(
            "INSERT INTO lineage_events (event_hash, event_type, event_time, job_namespace, job_name, producer, kind, event)"
            " VALUES (%s, 'START', now(), %s, 'j', 'test', 'RunEvent', %s) RETURNING id",
            (
                uuid.uuid4().hex,
                ns,
                Jsonb(
                    run_event(
                        "START", namespace=ns, job="k", run_id=str(uuid.uuid4()), event_time="2025-03-09T00:00:00Z"
                    )
                ),
            ),
        ).fetchone()
        conn.commit()
        conn.execute("SELECT id FROM lineage_events WHERE id = %s FOR UPDATE", (event_id,))  # the projector skips it
        response = requests.get(f"{builtin_marquez.url}/api/v1/namespaces/{ns}", timeout=30)
        assert response.status_code == 200
        assert response.headers.get("X-Marquez-Unapplied-Events") == "1"
    response = requests.get(f"{builtin_marquez.url}/api/v1/namespaces/{ns}/jobs", timeout=30)
    assert "X-Marquez-Unapplied-Events" not in response.headers
    assert {j["name"] for j in response.json()["jobs"]} == {"j", "k"}

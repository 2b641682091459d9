"""A read of one job, dataset or run waits only for the pending events that name it (its own
writes), not for every other producer's backlog; reads of everything (lists, /lineage) still wait
for all. Keys: `marquez.model.subjects`, stored with each event (migration V007)."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from marquez.model import subjects
from tests.marquez.support import get_json, parent_facet, post_ok, run_event, unique

pytestmark = pytest.mark.marquez

T = "2025-03-09T00:00:00Z"


def _dataset(namespace: str, name: str) -> dict:
    return {"namespace": namespace, "name": name, "facets": {}}


def test_a_read_waits_only_for_the_pending_events_naming_what_it_reads(builtin_marquez):
    ns = unique("scope")
    post_ok(builtin_marquez.url, run_event("START", namespace=ns, job="j", run_id=str(uuid.uuid4()), event_time=T))
    get_json(builtin_marquez.url, "/namespaces")  # applied
    pending = run_event(
        "START", namespace=ns, job="k", run_id=str(uuid.uuid4()), event_time=T, outputs=[_dataset(ns, "k_out")]
    )
    with psycopg.connect(builtin_marquez.db_url) as conn:
        (event_id,) = conn.execute(
            "INSERT INTO lineage_events (event_hash, event_type, event_time, job_namespace, job_name, producer, kind,"
            " event, subjects) VALUES (%s, 'START', now(), %s, 'k', 'test', 'RunEvent', %s, %s) RETURNING id",
            (uuid.uuid4().hex, ns, Jsonb(pending), subjects.of_event(pending)),
        ).fetchone()
        conn.commit()
        conn.execute("SELECT id FROM lineage_events WHERE id = %s FOR UPDATE", (event_id,))  # the projector skips it
        started = time.monotonic()
        other = requests.get(f"{builtin_marquez.url}/api/v1/namespaces/{ns}/jobs/j", timeout=30)
        assert other.status_code == 200 and other.json()["name"] == "j"
        assert "X-Marquez-Unapplied-Events" not in other.headers
        assert time.monotonic() - started < 5  # not the 10 s barrier
        own = requests.get(f"{builtin_marquez.url}/api/v1/namespaces/{ns}/datasets/k_out", timeout=30)
        assert own.headers.get("X-Marquez-Unapplied-Events") == "1"  # waited, then said so
        assert own.status_code == 404  # not applied yet: honest about it
    assert get_json(builtin_marquez.url, f"/namespaces/{ns}/datasets/k_out")["name"] == "k_out"


def test_an_event_stored_before_keys_were_makes_every_keyed_read_wait(builtin_marquez):
    """Events stored before migration V007 carry the key '*' (the column's default): they may
    change anything, so a read of any one job waits for them too."""
    ns = unique("scope")
    post_ok(builtin_marquez.url, run_event("START", namespace=ns, job="j", run_id=str(uuid.uuid4()), event_time=T))
    get_json(builtin_marquez.url, "/namespaces")  # applied
    old = run_event("START", namespace=ns, job="k", run_id=str(uuid.uuid4()), event_time=T)
    with psycopg.connect(builtin_marquez.db_url) as conn:
        (event_id, keys) = conn.execute(
            "INSERT INTO lineage_events (event_hash, event_type, event_time, job_namespace, job_name, producer, kind,"
            " event) VALUES (%s, 'START', now(), %s, 'k', 'test', 'RunEvent', %s) RETURNING id, subjects",
            (uuid.uuid4().hex, ns, Jsonb(old)),
        ).fetchone()
        assert keys == [subjects.ANY]
        conn.commit()
        conn.execute("SELECT id FROM lineage_events WHERE id = %s FOR UPDATE", (event_id,))  # the projector skips it
        response = requests.get(f"{builtin_marquez.url}/api/v1/namespaces/{ns}/jobs/j", timeout=30)
        assert response.status_code == 200
        assert response.headers.get("X-Marquez-Unapplied-Events") == "1"


def test_a_run_event_carries_the_keys_of_the_runs_earlier_events(builtin_marquez):
    """A COMPLETE that names no outputs still makes the START's outputs current: a read of such an
    output waits for it too."""
    ns, run_id = unique("scope"), str(uuid.uuid4())
    post_ok(
        builtin_marquez.url,
        run_event("START", namespace=ns, job="j", run_id=run_id, event_time=T, outputs=[_dataset(ns, "out")]),
    )
    post_ok(builtin_marquez.url, run_event("COMPLETE", namespace=ns, job="j", run_id=run_id, event_time=T))
    with psycopg.connect(builtin_marquez.db_url) as conn:
        rows = conn.execute(
            "SELECT event_type, subjects FROM lineage_events WHERE run_uuid = %s ORDER BY id", (run_id,)
        ).fetchall()
    assert [r[0] for r in rows] == ["START", "COMPLETE"]
    assert subjects.name("out") in rows[1][1] and subjects.name("j") in rows[1][1]
    assert subjects.run(uuid.UUID(run_id)) in rows[1][1]


def test_a_child_event_names_its_parent_and_the_name_it_is_filed_under():
    parent_run = str(uuid.uuid4())
    event = run_event(
        "START",
        namespace="ns",
        job="child",
        run_id=str(uuid.uuid4()),
        event_time=T,
        run_facets=parent_facet("ns", "parent", parent_run),
    )
    keys = subjects.of_event(event)
    for key in (subjects.name("child"), subjects.name("parent"), subjects.name("parent.child")):
        assert key in keys
    assert subjects.run(uuid.UUID(parent_run)) in keys


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
PARTS = st.fixed_dictionaries(
    {},
    optional={
        "job": JSON | st.fixed_dictionaries({"name": JSON, "namespace": JSON}),
        "run": JSON | st.fixed_dictionaries({"runId": JSON, "facets": JSON}),
        "inputs": JSON | st.lists(st.fixed_dictionaries({"name": JSON, "facets": JSON}), max_size=3),
        "outputs": JSON,
        "dataset": JSON,
    },
)


@settings(max_examples=300, deadline=None)
@given(PARTS)
def test_keys_of_any_document_are_strings_and_never_raise(raw):
    """The keys are computed for every stored event, whatever its shape (the parser checks the
    shape first, but this must never be the thing that fails)."""
    keys = subjects.of_event(raw)
    assert all(isinstance(k, str) for k in keys) and keys == sorted(set(keys))

"""Each deliberate difference from Marquez 0.51.1 (marquez.differences.DIFFERENCES) holds.

One test per difference, named `test_<key>` (dashes as underscores); the last test fails when
a difference is listed without a test here. They run against the built-in server (on a real
Marquez these are the bugs the differences fix).
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid

import pytest
import requests

from marquez.differences import DIFFERENCES
from tests.marquez.support import (
    dataset,
    error_text,
    get_json,
    iso,
    parent_facet,
    post_event,
    post_ok,
    run_event,
    unique,
    utcnow,
)
from tests.marquez_fixture import MarquezServer

pytestmark = pytest.mark.marquez


def _time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _events_at(url: str, moment: dt.datetime) -> list[dict]:
    """The stored events whose eventTime is exactly `moment`."""
    body = get_json(url, "/events/lineage", {"after": iso(moment), "before": iso(moment), "limit": 1000})
    assert body["totalCount"] == len(body["events"])
    return body["events"]


def _unique_moment() -> dt.datetime:
    """An event time no other test uses (so /events/lineage can be filtered to one test's events)."""
    return dt.datetime(2001, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=uuid.uuid4().int % 10**14)


def test_bad_input_400(builtin_marquez: MarquezServer) -> None:
    """Malformed JSON, a bad timestamp and a mistyped field: 400 naming the field (Marquez: 500)."""
    url = builtin_marquez.url + "/api/v1/lineage"
    ns = unique("diff-bad")
    malformed = requests.post(
        url, data=b'{"eventType": "START",', headers={"Content-Type": "application/json"}, timeout=10
    )
    assert malformed.status_code == 400
    assert "JSON" in error_text(malformed)
    assert malformed.json()["code"] == 400

    base = run_event("START", namespace=ns, job="j", run_id=str(uuid.uuid4()), event_time=utcnow())
    bad_time = post_event(builtin_marquez.url, {**base, "eventTime": "yesterday"})
    assert bad_time.status_code == 400 and "eventTime" in error_text(bad_time)
    mistyped = post_event(builtin_marquez.url, {**base, "inputs": {"namespace": ns, "name": "x"}})
    assert mistyped.status_code == 400 and "inputs" in error_text(mistyped)
    # and none of it was stored
    assert get_json(builtin_marquez.url, f"/namespaces/{ns}", status=404)["code"] == 404


def test_run_state_by_event_time(builtin_marquez: MarquezServer) -> None:
    """A START that arrives after its COMPLETE leaves the run COMPLETED (Marquez #2264: RUNNING)."""
    ns, run_id = unique("diff-order"), str(uuid.uuid4())
    started = (utcnow() - dt.timedelta(hours=2)).replace(microsecond=250000)
    ended = started + dt.timedelta(minutes=5)
    out = [dataset(ns, "mart.out", [("id", "INTEGER")])]
    common = dict(namespace=ns, job="late_start", run_id=run_id, outputs=out)
    post_ok(
        builtin_marquez.url,
        run_event("COMPLETE", event_time=ended, **common),
        run_event("START", event_time=started, **common),
    )
    run = get_json(builtin_marquez.url, f"/jobs/runs/{run_id}")
    assert run["state"] == "COMPLETED"
    assert _time(run["startedAt"]) == started
    assert _time(run["endedAt"]) == ended
    assert run["durationMs"] == 5 * 60 * 1000
    job = get_json(builtin_marquez.url, f"/namespaces/{ns}/jobs/late_start")
    assert job["latestRun"]["state"] == "COMPLETED"
    # a late progress event (RUNNING, earlier than the COMPLETE) does not reopen the run either
    post_ok(builtin_marquez.url, run_event("RUNNING", event_time=started + dt.timedelta(minutes=1), **common))
    run = get_json(builtin_marquez.url, f"/jobs/runs/{run_id}")
    assert run["state"] == "COMPLETED" and _time(run["endedAt"]) == ended


def test_sources_list(builtin_marquez: MarquezServer) -> None:
    """GET /api/v1/sources lists sources, the default one included (Marquez: 500)."""
    ns, source = unique("diff-src"), unique("lake-db")
    post_ok(
        builtin_marquez.url,
        run_event(
            "COMPLETE", namespace=ns, job="j", run_id=str(uuid.uuid4()), event_time=utcnow(),
            inputs=[dataset(ns, "raw.a", [("id", "INTEGER")])],
            outputs=[dataset(ns, "raw.b", [("id", "INTEGER")], source=(source, "postgres://lake:5432"))],
        ),
    )  # fmt: skip
    response = requests.get(builtin_marquez.url + "/api/v1/sources", params={"limit": 1000}, timeout=10)
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    by_name = {s["name"]: s for s in body["sources"]}
    assert "default" in by_name, "the default source (datasets without a dataSource facet) is listed"
    assert by_name[source]["connectionUrl"] == "postgres://lake:5432"
    assert body["totalCount"] >= 2
    assert get_json(builtin_marquez.url, f"/sources/{source}")["name"] == source


def test_idempotent_events(builtin_marquez: MarquezServer) -> None:
    """The same event posted twice is stored once; the run is listed once (Marquez: twice)."""
    ns, run_id, moment = unique("diff-dup"), str(uuid.uuid4()), _unique_moment()
    event = run_event(
        "COMPLETE", namespace=ns, job="replayed", run_id=run_id, event_time=moment,
        outputs=[dataset(ns, "mart.out", [("id", "INTEGER")])],
    )  # fmt: skip
    post_ok(builtin_marquez.url, event, event)
    assert [e["run"]["runId"] for e in _events_at(builtin_marquez.url, moment)] == [run_id]
    runs = get_json(builtin_marquez.url, f"/namespaces/{ns}/jobs/replayed/runs")
    assert runs["totalCount"] == 1 and [r["id"] for r in runs["runs"]] == [run_id]
    versions = get_json(builtin_marquez.url, f"/namespaces/{ns}/datasets/mart.out/versions")
    assert versions["totalCount"] == 1
    # a different event of the same run is not a duplicate
    post_ok(builtin_marquez.url, {**event, "eventType": "START"})
    assert sorted(e["eventType"] for e in _events_at(builtin_marquez.url, moment)) == ["COMPLETE", "START"]


def test_batch_ingest(builtin_marquez: MarquezServer) -> None:
    """POST /api/v1/lineage/batch: 3 good events and 1 bad, answered per event; the 3 stored."""
    ns, moment = unique("diff-batch"), _unique_moment()
    runs = [str(uuid.uuid4()) for _ in range(4)]
    events = [
        run_event("COMPLETE", namespace=ns, job=f"job_{i}", run_id=runs[i], event_time=moment,
                  outputs=[dataset(ns, f"mart.out_{i}", [("id", "INTEGER")])])
        for i in range(4)
    ]  # fmt: skip
    events[2]["eventTime"] = "not a time"
    response = requests.post(builtin_marquez.url + "/api/v1/lineage/batch", json=events, timeout=30)
    assert response.status_code == 200, response.text[:500]
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (3, 1)
    statuses = {r["index"]: r for r in body["results"]}
    assert [statuses[i]["status"] for i in range(4)] == [201, 201, 400, 201]
    assert any("eventTime" in e for e in statuses[2]["errors"])
    assert sorted(e["run"]["runId"] for e in _events_at(builtin_marquez.url, moment)) == sorted(runs[:2] + runs[3:])
    for i in (0, 1, 3):
        assert get_json(builtin_marquez.url, f"/jobs/runs/{runs[i]}")["state"] == "COMPLETED"
    get_json(builtin_marquez.url, f"/jobs/runs/{runs[2]}", status=404)
    assert {j["name"] for j in get_json(builtin_marquez.url, f"/namespaces/{ns}/jobs")["jobs"]} == {
        "job_0",
        "job_1",
        "job_3",
    }
    # posting the batch again stores nothing new (idempotent-events) and says so
    again = requests.post(builtin_marquez.url + "/api/v1/lineage/batch", json=events, timeout=30).json()
    assert [r.get("duplicate") for r in again["results"] if r["status"] < 300] == [True, True, True]
    assert len(_events_at(builtin_marquez.url, moment)) == 3


def test_bad_query_400(builtin_marquez: MarquezServer) -> None:
    """Unparseable query parameters: 400 naming the parameter (Marquez: 500 or ignored)."""
    ns = unique("diff-query")
    post_ok(
        builtin_marquez.url, run_event("COMPLETE", namespace=ns, job="j", run_id=str(uuid.uuid4()), event_time=utcnow())
    )
    for path, params, name in (
        ("/namespaces", {"limit": "abc"}, "limit"),
        (f"/namespaces/{ns}/jobs", {"limit": "abc"}, "limit"),
        (f"/namespaces/{ns}/datasets", {"offset": "x"}, "offset"),
        ("/jobs", {"limit": "ten"}, "limit"),
        ("/events/lineage", {"limit": "1.5"}, "limit"),
        ("/search", {"q": "j", "limit": "abc"}, "limit"),
        ("/tags", {"offset": "-1"}, "offset"),
        ("/lineage", {"nodeId": f"job:{ns}:j", "depth": "deep"}, "depth"),
    ):
        response = requests.get(f"{builtin_marquez.url}/api/v1{path}", params=params, timeout=10)
        assert response.status_code == 400, f"{path} {params}: {response.status_code} {response.text[:200]}"
        assert name in error_text(response), f"{path} {params}: {response.text[:200]}"


def test_every_difference_has_a_test() -> None:
    """A difference added to marquez.differences without a test here fails this test."""
    module = sys.modules[__name__]
    keys = [d.key for d in DIFFERENCES]
    assert keys, "marquez.differences.DIFFERENCES is empty"
    assert len(keys) == len(set(keys)), f"duplicate keys: {keys}"
    untested = [k for k in keys if not callable(getattr(module, "test_" + k.replace("-", "_"), None))]
    assert not untested, f"differences without a test_<key> in {__name__}: {untested}"
    tests = {name for name in dir(module) if name.startswith("test_") and name != "test_every_difference_has_a_test"}
    stale = tests - {"test_" + k.replace("-", "_") for k in keys}
    assert not stale, f"tests here for differences no longer listed: {sorted(stale)}"


def test_host_allow_list(builtin_marquez) -> None:
    """More in tests/marquez/test_browser_reach.py."""
    assert (
        requests.get(
            f"{builtin_marquez.url}/api/v1/namespaces", headers={"Host": "evil.example"}, timeout=10
        ).status_code
        == 421
    )
    write = requests.put(
        f"{builtin_marquez.url}/api/v1/tags/X", json={}, headers={"Origin": "http://evil.example"}, timeout=10
    )
    assert write.status_code == 403


def test_future_events_refused(builtin_marquez) -> None:
    """More in tests/marquez/test_browser_reach.py."""
    event = run_event(
        "START", namespace=unique("future"), job="j", run_id=str(uuid.uuid4()), event_time="9999-01-01T00:00:00Z"
    )
    response = requests.post(f"{builtin_marquez.url}/api/v1/lineage", json=event, timeout=10)
    assert response.status_code == 400 and "eventTime" in error_text(response)


def test_projection_errors_listed(builtin_marquez) -> None:
    """More in tests/marquez/test_projection_errors.py."""
    listed = requests.get(f"{builtin_marquez.url}/api/v1/projection-errors", timeout=10).json()
    assert isinstance(listed["errors"], list) and listed["totalCount"] >= 0
    assert "projectionErrors" in requests.get(f"{builtin_marquez.url}/healthcheck", timeout=10).json()


def test_column_lineage_input_field_type(builtin_marquez) -> None:
    """An input-only field's node in /column-lineage has its type (Marquez: "", the node built from
    the derived field's inputFields, marquez/db/models/ColumnLineageNodeData.java). The replay of
    tests/data/marquez/conformance-external/x01-airflow.json checks it on Airflow's events too."""
    ns, run_id = unique("diff-coltype"), str(uuid.uuid4())
    source = dataset(ns, "raw.readings", [("a", "INTEGER"), ("b", "VARCHAR")])
    derived = dataset(ns, "mart.readings", [("a", "INTEGER")], column_lineage={"a": [(ns, "raw.readings", "a")]})
    common = dict(namespace=ns, job="copy", run_id=run_id, inputs=[source], outputs=[derived])
    post_ok(
        builtin_marquez.url,
        run_event("START", event_time=utcnow() - dt.timedelta(minutes=1), **common),
        run_event("COMPLETE", event_time=utcnow(), **common),
    )
    graph = get_json(builtin_marquez.url, "/column-lineage", {"nodeId": f"datasetField:{ns}:mart.readings:a"})["graph"]
    types = {node["id"]: node["data"]["fieldType"] for node in graph}
    assert types == {f"datasetField:{ns}:mart.readings:a": "INTEGER", f"datasetField:{ns}:raw.readings:a": "INTEGER"}


def test_typeless_field_once(builtin_marquez) -> None:
    """A field without a type, named by two events that read the dataset, is listed once with type
    null (Marquez: once per event; DatasetFieldDao.upsert, ON CONFLICT (dataset_uuid, name, type)).
    tests/marquez/test_producers.py checks dbt-ol's typeless fields on its own events."""
    ns, run_id = unique("diff-typeless"), str(uuid.uuid4())
    source = dataset(ns, "raw.orders")
    source["facets"]["schema"] = {"fields": [{"name": "id", "description": "the key"}]}
    common = dict(namespace=ns, job="model", run_id=run_id, inputs=[source], outputs=[dataset(ns, "mart.orders")])
    post_ok(
        builtin_marquez.url,
        run_event("START", event_time=utcnow() - dt.timedelta(minutes=1), **common),
        run_event("COMPLETE", event_time=utcnow(), **common),
    )
    fields = get_json(builtin_marquez.url, f"/namespaces/{ns}/datasets/raw.orders")["fields"]
    assert fields == [{"name": "id", "type": None, "tags": [], "description": "the key"}]


def _documented(ns: str, name: str, description: str | None) -> dict:
    ds = dataset(ns, name, [("id", "INTEGER")])
    if description is not None:
        ds["facets"]["documentation"] = {"description": description}
    return ds


def test_description_kept(builtin_marquez) -> None:
    """A later event naming the dataset without a documentation facet keeps its description
    (Marquez: null, DatasetDao.upsert's description = EXCLUDED.description); a documentation facet
    changes it."""
    ns = unique("diff-description")
    moment = utcnow() - dt.timedelta(minutes=5)
    for i, description in enumerate(("orders, one row each", None, "orders, deduplicated")):
        run_id = str(uuid.uuid4())
        common = dict(namespace=ns, job="load", run_id=run_id, outputs=[_documented(ns, "mart.orders", description)])
        post_ok(
            builtin_marquez.url,
            run_event("START", event_time=moment + dt.timedelta(seconds=2 * i), **common),
            run_event("COMPLETE", event_time=moment + dt.timedelta(seconds=2 * i + 1), **common),
        )
        shown = get_json(builtin_marquez.url, f"/namespaces/{ns}/datasets/mart.orders")["description"]
        assert shown == ("orders, one row each" if description is None else description)


def test_parent_job_in_facet_namespace(builtin_marquez) -> None:
    """A parent that never posted is filed under the namespace its facet names (Marquez: the
    child's, OpenLineageDao.createParentJobRunRecord); the child stays in its own namespace."""
    child_ns, dag_ns, dag_run, task_run = unique("diff-child"), unique("diff-dag"), str(uuid.uuid4()), str(uuid.uuid4())
    facet = parent_facet(dag_ns, "nightly", dag_run)
    common = dict(namespace=child_ns, job="nightly.extract", run_id=task_run, run_facets=facet)
    post_ok(
        builtin_marquez.url,
        run_event("START", event_time=utcnow() - dt.timedelta(minutes=1), **common),
        run_event("COMPLETE", event_time=utcnow(), **common),
    )
    assert get_json(builtin_marquez.url, f"/namespaces/{dag_ns}/jobs/nightly")["latestRun"]["id"] == dag_run
    get_json(builtin_marquez.url, f"/namespaces/{child_ns}/jobs/nightly", status=404)
    child = get_json(builtin_marquez.url, f"/namespaces/{child_ns}/jobs/nightly.extract")
    assert (child["parentJobName"], child["simpleName"]) == ("nightly", "extract")


def test_retyped_field_once(builtin_marquez) -> None:
    """A reader naming a field with another type: the dataset lists the field once, with that type
    (Marquez: once per type, DatasetFieldDao.upsert keyed by (dataset, name, type))."""
    ns, writer, reader = unique("diff-retyped"), str(uuid.uuid4()), str(uuid.uuid4())
    moment = utcnow() - dt.timedelta(minutes=5)
    written = dict(namespace=ns, job="write", run_id=writer, outputs=[dataset(ns, "t", [("id", "INTEGER")])])
    read = dict(namespace=ns, job="read", run_id=reader, inputs=[dataset(ns, "t", [("id", "BIGINT")])])
    post_ok(
        builtin_marquez.url,
        run_event("START", event_time=moment, **written),
        run_event("COMPLETE", event_time=moment + dt.timedelta(seconds=1), **written),
        run_event("START", event_time=moment + dt.timedelta(seconds=2), **read),
        run_event("COMPLETE", event_time=moment + dt.timedelta(seconds=3), **read),
    )
    fields = get_json(builtin_marquez.url, f"/namespaces/{ns}/datasets/t")["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [("id", "BIGINT")]


def test_node_id_fallback(builtin_marquez) -> None:
    """A node id Marquez's NodeId.parts cannot cut (it answers 500) is cut at the last ':' and found;
    one naming nothing answers 404. tests/marquez/test_marquez_rules.py checks the ids it cuts."""
    ns, run_id = f"postgres://{unique('diff-nodeid')}:5432", str(uuid.uuid4())
    out = dataset(ns, "1st_table", [("id", "INTEGER")], column_lineage={"id": [(ns, "0_source", "id")]})
    common = dict(namespace=unique("diff-nodeid-job"), job="load", run_id=run_id, outputs=[out])
    common["inputs"] = [dataset(ns, "0_source", [("id", "INTEGER")])]
    post_ok(
        builtin_marquez.url,
        run_event("START", event_time=utcnow() - dt.timedelta(minutes=1), **common),
        run_event("COMPLETE", event_time=utcnow(), **common),
    )
    graph = get_json(builtin_marquez.url, "/lineage", {"nodeId": f"dataset:{ns}:1st_table"})["graph"]
    assert f"dataset:{ns}:0_source" in {n["id"] for n in graph}
    columns = get_json(builtin_marquez.url, "/column-lineage", {"nodeId": f"datasetField:{ns}:1st_table:id"})
    assert {n["id"] for n in columns["graph"]} == {f"datasetField:{ns}:1st_table:id", f"datasetField:{ns}:0_source:id"}
    get_json(builtin_marquez.url, "/lineage", {"nodeId": f"dataset:{ns}:2nd_table"}, status=404)


def test_legacy_write_api(builtin_marquez) -> None:
    """Marquez's pre-OpenLineage writes (NamespaceResource.createOrUpdate, SourceResource, DatasetResource,
    JobResource.createOrUpdate / createRun / markRunAs) answer 405 naming the event to post instead,
    and change nothing."""
    ns = unique("diff-legacy")
    run_id = str(uuid.uuid4())
    writes = [
        ("PUT", f"/namespaces/{ns}", {"ownerName": "me"}, "JobEvent"),
        ("PUT", f"/sources/{ns}", {"type": "POSTGRESQL", "connectionUrl": "jdbc:postgresql://h/db"}, "dataSource"),
        ("PUT", f"/namespaces/{ns}/datasets/t", {"type": "DB_TABLE", "physicalName": "t"}, "DatasetEvent"),
        ("PUT", f"/namespaces/{ns}/jobs/j", {"type": "BATCH"}, "JobEvent"),
        ("POST", f"/namespaces/{ns}/jobs/j/runs", {}, "START RunEvent"),
        *[
            ("POST", f"/jobs/runs/{run_id}/{a}", None, f"{a.upper()} RunEvent")
            for a in ("start", "complete", "fail", "abort")
        ],
    ]
    for method, path, body, instead in writes:
        response = requests.request(method, f"{builtin_marquez.url}/api/v1{path}", json=body, timeout=15)
        assert response.status_code == 405, (method, path, response.status_code, response.text)
        message = response.json()["message"]
        assert instead in message and "/api/v1/lineage" in message, (path, message)
    get_json(builtin_marquez.url, f"/namespaces/{ns}", status=404)
    get_json(builtin_marquez.url, f"/sources/{ns}", status=404)
    get_json(builtin_marquez.url, f"/jobs/runs/{run_id}", status=404)

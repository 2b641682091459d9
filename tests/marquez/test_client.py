"""The official Python client (`marquez-python` 0.50.0) reads what the session's Marquez stored.

A small dbt-like lineage is posted as OpenLineage events (the client has no method to post
OpenLineage events, so they go by plain HTTP POST, as every OpenLineage transport sends them):
an orchestrator run whose child job reads a lake table and writes a mart table, with schemas
and column lineage. Then every read goes through `MarquezClient`, and the answers are checked
for content: names, fields, states, times, versions and column edges.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests
from marquez_client import MarquezClient
from marquez_client.errors import APIError

from tests.marquez.support import (
    dataset,
    get_json,
    iso,
    parent_facet,
    post_ok,
    run_event,
    unique,
    utcnow,
)

pytestmark = pytest.mark.marquez

RAW = "lake.public.readings"
MART = "mart.public.reactor_temps"
PARENT_JOB = "bioreactor_daily"
CHILD_JOB = "build_reactor_temps"


def _time(text: str | None) -> dt.datetime | None:
    return None if text is None else dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def lineage(marquez_url: str) -> dict:
    """Post the lineage once; the tests below read it back through the client."""
    ns = unique("client")
    ds_ns = f"postgres://{unique('client-db')}:5432"
    parent_run, child_run = str(uuid.uuid4()), str(uuid.uuid4())
    t0 = (utcnow() - dt.timedelta(hours=1)).replace(microsecond=123000)
    t1 = t0 + dt.timedelta(seconds=42)
    raw = dataset(
        ds_ns, RAW, [("reactor_id", "INTEGER"), ("temp_k", "DOUBLE")], source=("lake-db", "postgres://lake:5432")
    )
    mart = dataset(
        ds_ns,
        MART,
        [("reactor_id", "INTEGER"), ("temp_c", "DOUBLE")],
        column_lineage={"temp_c": [(ds_ns, RAW, "temp_k")], "reactor_id": [(ds_ns, RAW, "reactor_id")]},
    )
    child = dict(namespace=ns, job=CHILD_JOB, run_id=child_run, run_facets=parent_facet(ns, PARENT_JOB, parent_run))
    post_ok(
        marquez_url,
        run_event("START", namespace=ns, job=PARENT_JOB, run_id=parent_run, event_time=t0 - dt.timedelta(seconds=1)),
        run_event("START", event_time=t0, inputs=[raw], outputs=[mart], **child),
        run_event("COMPLETE", event_time=t1, inputs=[raw], outputs=[mart], **child),
        run_event("COMPLETE", namespace=ns, job=PARENT_JOB, run_id=parent_run, event_time=t1 + dt.timedelta(seconds=1)),
    )
    return {"ns": ns, "ds_ns": ds_ns, "parent_run": parent_run, "child_run": child_run, "t0": t0, "t1": t1}


@pytest.fixture(scope="module")
def client(marquez_url: str) -> MarquezClient:
    # No api_key: the client would put it in a header dict shared by every client in the process.
    return MarquezClient(url=marquez_url)


def test_list_namespaces(client: MarquezClient, lineage: dict) -> None:
    names, offset = set(), 0
    while True:  # the session's Marquez is shared: page until both are seen or the list ends
        page = client.list_namespaces(limit=100, offset=offset)["namespaces"]
        names |= {n["name"] for n in page}
        if {lineage["ns"], lineage["ds_ns"]} <= names or len(page) < 100:
            break
        offset += 100
    assert lineage["ns"] in names and lineage["ds_ns"] in names
    one = client.get_namespace(lineage["ds_ns"])
    assert one["name"] == lineage["ds_ns"] and one["ownerName"]


def test_list_datasets(client: MarquezClient, lineage: dict) -> None:
    listed = client.list_datasets(lineage["ds_ns"])
    assert listed["totalCount"] == 2
    by_name = {d["name"]: d for d in listed["datasets"]}
    assert set(by_name) == {RAW, MART}
    assert [f["name"] for f in by_name[RAW]["fields"]] == ["reactor_id", "temp_k"]
    assert by_name[RAW]["sourceName"] == "lake-db"
    assert all(d["namespace"] == lineage["ds_ns"] for d in listed["datasets"])


def test_get_dataset(client: MarquezClient, lineage: dict) -> None:
    mart = client.get_dataset(lineage["ds_ns"], MART)
    assert mart["id"] == {"namespace": lineage["ds_ns"], "name": MART}
    assert [(f["name"], f["type"]) for f in mart["fields"]] == [("reactor_id", "INTEGER"), ("temp_c", "DOUBLE")]
    assert mart["currentVersion"], "a dataset written by a completed run has a current version"
    assert mart["sourceName"] == "default"  # no dataSource facet on the mart
    summary = {c["name"]: c for c in mart["columnLineage"]}
    assert set(summary) == {"temp_c", "reactor_id"}
    assert [(i["dataset"], i["field"]) for i in summary["temp_c"]["inputFields"]] == [(RAW, "temp_k")]
    assert summary["temp_c"]["transformationType"] == "IDENTITY"

    versions = client.list_dataset_versions(lineage["ds_ns"], MART)["versions"]
    assert len(versions) == 1
    assert versions[0]["createdByRun"]["id"] == lineage["child_run"]
    assert client.get_dataset_version(lineage["ds_ns"], MART, versions[0]["version"])["name"] == MART


def test_list_jobs(client: MarquezClient, lineage: dict) -> None:
    listed = client.list_jobs(lineage["ns"])
    by_name = {j["name"]: j for j in listed["jobs"]}
    child_name = f"{PARENT_JOB}.{CHILD_JOB}"  # Marquez files a child job under its parent's name
    assert set(by_name) == {PARENT_JOB, child_name}
    child = by_name[child_name]
    assert child["simpleName"] == CHILD_JOB and child["parentJobName"] == PARENT_JOB
    assert child["latestRun"]["state"] == "COMPLETED" and child["latestRun"]["id"] == lineage["child_run"]
    assert child["inputs"] == [{"namespace": lineage["ds_ns"], "name": RAW}]
    assert child["outputs"] == [{"namespace": lineage["ds_ns"], "name": MART}]
    assert by_name[PARENT_JOB]["latestRun"]["state"] == "COMPLETED"

    assert client.get_job(lineage["ns"], child_name)["simpleName"] == CHILD_JOB
    with pytest.raises(APIError):  # by its emitted name it does not exist (404), as in Marquez
        client.get_job(lineage["ns"], CHILD_JOB)


def test_job_runs(client: MarquezClient, lineage: dict) -> None:
    runs = client.list_job_runs(lineage["ns"], f"{PARENT_JOB}.{CHILD_JOB}")["runs"]
    assert [r["id"] for r in runs] == [lineage["child_run"]]
    assert runs[0]["state"] == "COMPLETED"


def test_get_run(client: MarquezClient, lineage: dict) -> None:
    run = client.get_job_run(lineage["child_run"])
    assert run["id"] == lineage["child_run"]
    assert run["state"] == "COMPLETED"
    assert _time(run["startedAt"]) == lineage["t0"]
    assert _time(run["endedAt"]) == lineage["t1"]
    assert run["durationMs"] == 42_000
    assert [v["datasetVersionId"]["name"] for v in run["inputDatasetVersions"]] == [RAW]
    assert [v["datasetVersionId"]["name"] for v in run["outputDatasetVersions"]] == [MART]
    # the child's run names its parent run in its arguments, as Marquez does
    assert run["args"].get("run_id") == lineage["parent_run"]


def test_column_lineage(client: MarquezClient, lineage: dict) -> None:
    ds_ns = lineage["ds_ns"]
    graph = client.get_column_lineage_by_dataset(ds_ns, MART)["graph"]
    nodes = {n["id"]: n for n in graph}
    temp_c, temp_k = f"datasetField:{ds_ns}:{MART}:temp_c", f"datasetField:{ds_ns}:{RAW}:temp_k"
    assert {temp_c, temp_k, f"datasetField:{ds_ns}:{MART}:reactor_id", f"datasetField:{ds_ns}:{RAW}:reactor_id"} <= set(
        nodes
    )
    assert all(n["type"] == "DATASET_FIELD" for n in graph)
    data = nodes[temp_c]["data"]
    assert (data["dataset"], data["field"], data["fieldType"]) == (MART, "temp_c", "DOUBLE")
    assert [(i["dataset"], i["field"]) for i in data["inputFields"]] == [(RAW, "temp_k")]
    assert {"origin": temp_c, "destination": temp_k} in nodes[temp_c]["inEdges"]

    one_field = client.get_column_lineage_by_dataset_field(ds_ns, MART, "temp_c")["graph"]
    ids = {n["id"] for n in one_field}
    assert temp_c in ids and temp_k in ids
    assert f"datasetField:{ds_ns}:{MART}:reactor_id" not in ids  # only the asked field's lineage


def test_tags_through_client(client: MarquezClient, lineage: dict) -> None:
    tag = unique("CLIENT_PII").upper()
    assert client.create_tag(tag, "reactor serial numbers") == {"name": tag, "description": "reactor serial numbers"}
    assert {"name": tag, "description": "reactor serial numbers"} in client.list_tags(limit=1000)["tags"]
    tagged = client.tag_dataset(lineage["ds_ns"], MART, tag)
    assert tag in tagged["tags"]
    tagged = client.tag_dataset_field(lineage["ds_ns"], MART, "reactor_id", tag)
    assert {f["name"]: f["tags"] for f in tagged["fields"]}["reactor_id"] == [tag]
    assert tag in client.get_dataset(lineage["ds_ns"], MART)["tags"]


def test_reads_the_client_has_no_method_for(marquez_url: str, lineage: dict) -> None:
    """`/lineage` and `/events/lineage` have no method in marquez-python 0.50.0 (its
    `list_events` calls `/api/v1/events`, which Marquez 0.51 does not serve): plain HTTP."""
    ds_ns = lineage["ds_ns"]
    graph = get_json(marquez_url, "/lineage", {"nodeId": f"dataset:{ds_ns}:{MART}", "depth": 2})["graph"]
    ids = {n["id"] for n in graph}
    child = f"job:{lineage['ns']}:{PARENT_JOB}.{CHILD_JOB}"
    assert {f"dataset:{ds_ns}:{MART}", f"dataset:{ds_ns}:{RAW}", child} <= ids

    second = dt.timedelta(seconds=1)
    window = {"after": iso(lineage["t0"] - second), "before": iso(lineage["t1"] + second), "limit": 1000}
    events = get_json(marquez_url, "/events/lineage", window)["events"]
    mine = [(e["eventType"], e["run"]["runId"]) for e in events if e["job"]["namespace"] == lineage["ns"]]
    assert sorted(mine) == sorted(
        [("START", lineage["parent_run"]), ("START", lineage["child_run"]), ("COMPLETE", lineage["child_run"]),
         ("COMPLETE", lineage["parent_run"])]
    )  # fmt: skip
    assert requests.get(f"{marquez_url}/api/v1/events/lineage", params={"limit": 1}, timeout=10).status_code == 200

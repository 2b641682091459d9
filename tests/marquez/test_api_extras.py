"""Marquez API scenarios the recordings do not cover (shapes from ../shared/reference/marquez/
openapi.yml, and for /jobs and /stats, which the spec lacks, from Marquez 0.51's resources):
tags, statistics, the global job list, namespace listing and soft delete, and the built-in
server's own operations endpoints (/healthcheck, /metrics) and optional API key.

Tests that count what the store holds use a fresh Marquez with an empty store; the others use
unique namespaces on the session's Marquez.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
import requests

from tests.marquez.support import (
    dataset,
    error_text,
    get_json,
    iso,
    post_event,
    post_ok,
    run_event,
    unique,
    utcnow,
)
from tests.marquez_fixture import MarquezServer

pytestmark = pytest.mark.marquez


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _run(url: str, ns: str, job: str, *terminal: str, when: dt.datetime | None = None, **io) -> str:
    """Post START (then each of `terminal`) for a new run of `job`; its run id."""
    run_id, when = str(uuid.uuid4()), when or utcnow()
    events = [run_event("START", namespace=ns, job=job, run_id=run_id, event_time=when, **io)]
    for i, kind in enumerate(terminal, start=1):
        events.append(
            run_event(kind, namespace=ns, job=job, run_id=run_id, event_time=when + dt.timedelta(seconds=i), **io)
        )
    post_ok(url, *events)
    return run_id


def _send(method: str, url: str, **kwargs) -> dict:
    response = requests.request(method, url, timeout=15, **kwargs)
    assert response.status_code == 200, f"{method} {url}: {response.status_code} {response.text[:300]}"
    return response.json()


# -- tags ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tagged(marquez_url: str) -> dict:
    ns = unique("tags")
    _run(
        marquez_url, ns, "load_readings", "COMPLETE",
        outputs=[dataset(ns, "lake.readings", [("reactor_id", "INTEGER"), ("serial_no", "VARCHAR")])],
    )  # fmt: skip
    return {"ns": ns, "tag": unique("PII").upper().replace("-", "_")}


def test_create_and_list_a_tag(marquez_url: str, tagged: dict) -> None:
    tag = tagged["tag"]
    created = _send("PUT", f"{marquez_url}/api/v1/tags/{tag}", json={"description": "personal data"})
    assert created == {"name": tag, "description": "personal data"}
    listed = get_json(marquez_url, "/tags", {"limit": 1000})["tags"]
    assert {"name": tag, "description": "personal data"} in listed
    # PUT again with a new description updates it
    _send("PUT", f"{marquez_url}/api/v1/tags/{tag}", json={"description": "personal data (GDPR)"})
    assert {"name": tag, "description": "personal data (GDPR)"} in get_json(marquez_url, "/tags", {"limit": 1000})[
        "tags"
    ]


def test_tag_a_dataset(marquez_url: str, tagged: dict) -> None:
    ns, tag = tagged["ns"], tagged["tag"]
    path = f"{marquez_url}/api/v1/namespaces/{ns}/datasets/lake.readings"
    added = _send("POST", f"{path}/tags/{tag}")  # the method Marquez and its web UI use
    assert tag in added["tags"] and added["name"] == "lake.readings"
    assert tag in get_json(marquez_url, f"/namespaces/{ns}/datasets/lake.readings")["tags"]
    assert tag in {t for d in get_json(marquez_url, f"/namespaces/{ns}/datasets")["datasets"] for t in d["tags"]}
    removed = _send("DELETE", f"{path}/tags/{tag}")
    assert tag not in removed["tags"]
    assert tag not in get_json(marquez_url, f"/namespaces/{ns}/datasets/lake.readings")["tags"]


def test_tag_a_dataset_field(marquez_url: str, tagged: dict) -> None:
    ns, tag = tagged["ns"], tagged["tag"]
    path = f"{marquez_url}/api/v1/namespaces/{ns}/datasets/lake.readings/fields/serial_no/tags/{tag}"

    def field_tags() -> dict:
        fields = get_json(marquez_url, f"/namespaces/{ns}/datasets/lake.readings")["fields"]
        return {f["name"]: f["tags"] for f in fields}

    added = _send("POST", path)
    assert {f["name"]: f["tags"] for f in added["fields"]}["serial_no"] == [tag]
    assert field_tags() == {"reactor_id": [], "serial_no": [tag]}
    assert (
        tag not in get_json(marquez_url, f"/namespaces/{ns}/datasets/lake.readings")["tags"]
    )  # the field's, not the dataset's
    _send("DELETE", path)
    assert field_tags() == {"reactor_id": [], "serial_no": []}


def test_tag_a_job(marquez_url: str, tagged: dict) -> None:
    ns, tag = tagged["ns"], tagged["tag"]
    path = f"{marquez_url}/api/v1/namespaces/{ns}/jobs/load_readings/tags/{tag}"
    assert tag in _send("POST", path, json={})["tags"]
    assert get_json(marquez_url, f"/namespaces/{ns}/jobs/load_readings")["tags"] == [tag]
    assert tag not in _send("DELETE", path)["tags"]
    assert get_json(marquez_url, f"/namespaces/{ns}/jobs/load_readings")["tags"] == []


def test_put_adds_a_tag_too(builtin_marquez: MarquezServer) -> None:
    """Issue 9 names PUT for tagging; the built-in server takes it as Marquez's POST."""
    url, ns, tag = builtin_marquez.url, unique("tags-put"), unique("T").upper()
    _run(url, ns, "j", "COMPLETE", outputs=[dataset(ns, "d", [("a", "INTEGER")])])
    assert tag in _send("PUT", f"{url}/api/v1/namespaces/{ns}/datasets/d/tags/{tag}")["tags"]
    fields = _send("PUT", f"{url}/api/v1/namespaces/{ns}/datasets/d/fields/a/tags/{tag}")["fields"]
    assert fields[0]["tags"] == [tag]
    assert _send("PUT", f"{url}/api/v1/namespaces/{ns}/jobs/j/tags/{tag}")["tags"] == [tag]


# -- statistics --------------------------------------------------------------------------------------
def _intervals(body, hours: bool) -> list[dict]:
    assert isinstance(body, list) and body, body
    step = dt.timedelta(hours=1) if hours else dt.timedelta(days=1)
    assert len(body) == (24 if hours else 7), len(body)
    for item in body:
        assert _time(item["endInterval"]) - _time(item["startInterval"]) == step, item
    for a, b in zip(body, body[1:]):
        assert a["endInterval"] == b["startInterval"], (a, b)
    return body


def _containing(intervals: list[dict], moment: dt.datetime) -> int:
    hits = [i for i, x in enumerate(intervals) if _time(x["startInterval"]) <= moment < _time(x["endInterval"])]
    assert len(hits) == 1, f"{moment} is in {len(hits)} intervals: {intervals[0]} .. {intervals[-1]}"
    return hits[0]


@pytest.fixture(scope="module")
def stats_store(marquez_factory) -> dict:
    """A fresh Marquez holding only this: 3 jobs (one completes, one fails, one aborts), 2
    datasets in 2 sources (the default one and lake-db), 6 events, all posted now."""
    url = marquez_factory.start().url
    ns = unique("stats")
    posted = utcnow()
    _run(
        url,
        ns,
        "ok",
        "COMPLETE",
        when=posted,
        inputs=[dataset(ns, "raw.readings", [("id", "INTEGER")])],
        outputs=[dataset(ns, "mart.temps", [("id", "INTEGER")], source=("lake-db", "postgres://lake:5432"))],
    )
    _run(url, ns, "fails", "FAIL", when=posted)
    _run(url, ns, "aborts", "ABORT", when=posted)  # fmt: skip
    return {"url": url, "posted": posted}


@pytest.mark.parametrize("period", ["DAY", "WEEK"])
def test_stats_lineage_events(stats_store: dict, period: str) -> None:
    """/stats/lineage-events: events per hour (DAY: 24) or day (WEEK: 7) by type, as Marquez's
    LineageMetric {startInterval, endInterval, start, complete, fail, abort} (the web UI's
    chart reads these four); events posted now count in the current (last) interval."""
    url, posted = stats_store["url"], stats_store["posted"]
    events = _intervals(get_json(url, "/stats/lineage-events", {"period": period, "timezone": "UTC"}), period == "DAY")
    at = _containing(events, posted)
    assert at >= len(events) - 2, f"{period}: events posted now are not in the current interval"
    counts = {k: events[at].get(k) for k in ("start", "complete", "fail", "abort")}
    assert counts == {"start": 3, "complete": 1, "fail": 1, "abort": 1}, f"{period}: {events[at]}"
    assert all(not any(x.get(k) for k in counts) for i, x in enumerate(events) if i != at), events


@pytest.mark.parametrize("period", ["DAY", "WEEK"])
@pytest.mark.parametrize("kind, total", [("jobs", 3), ("datasets", 2), ("sources", 2)])
def test_stats_counts(stats_store: dict, period: str, kind: str, total: int) -> None:
    """/stats/jobs, /datasets, /sources: how many exist at the end of each interval
    {startInterval, endInterval, count} (cumulative, as in Marquez)."""
    url, posted = stats_store["url"], stats_store["posted"]
    body = _intervals(get_json(url, f"/stats/{kind}", {"period": period, "timezone": "UTC"}), period == "DAY")
    at = _containing(body, posted)
    assert at >= len(body) - 2, f"{kind} {period}: things created now are not in the current interval"
    series = [x["count"] for x in body]
    assert series[at:] == [total] * (len(body) - at), f"{kind} {period}: {series}"
    assert series[:at] == [0] * at, f"{kind} {period}: {series}"  # nothing existed before


# -- the global job list -----------------------------------------------------------------------------
def test_global_jobs_list(fresh_marquez) -> None:
    """GET /api/v1/jobs: every namespace's jobs, paged (limit, offset, totalCount), filtered by
    the state of their latest run (lastRunStates, repeatable)."""
    url = fresh_marquez().url
    a, b = unique("jobs-a"), unique("jobs-b")
    _run(url, a, "ok", "COMPLETE")
    _run(url, a, "fails", "FAIL")
    _run(url, b, "busy")
    _run(url, b, "recovered", "FAIL", when=utcnow() - dt.timedelta(hours=1))
    _run(url, b, "recovered", "COMPLETE")  # its latest run completed
    everything = {(a, "ok"), (a, "fails"), (b, "busy"), (b, "recovered")}

    pages = [get_json(url, "/jobs", {"limit": 3, "offset": offset}) for offset in (0, 3, 6)]
    assert [p["totalCount"] for p in pages] == [4, 4, 4]
    assert [len(p["jobs"]) for p in pages] == [3, 1, 0]
    seen = [(j["namespace"], j["name"]) for p in pages for j in p["jobs"]]
    assert len(seen) == len(set(seen)) and set(seen) == everything

    def filtered(*states: str) -> set:
        body = get_json(url, "/jobs", {"lastRunStates": list(states), "limit": 100})
        assert body["totalCount"] == 4  # as recorded from Marquez (p03): counted before the filter
        assert all(j["latestRun"]["state"] in states for j in body["jobs"]), body["jobs"]
        return {(j["namespace"], j["name"]) for j in body["jobs"]}

    assert filtered("FAILED") == {(a, "fails")}
    assert filtered("RUNNING") == {(b, "busy")}
    assert filtered("COMPLETED") == {(a, "ok"), (b, "recovered")}
    assert filtered("FAILED", "RUNNING") == {(a, "fails"), (b, "busy")}
    assert filtered("ABORTED") == set()


# -- namespaces ----------------------------------------------------------------------------------------
def _listed(url: str) -> dict[str, dict]:
    out, offset = {}, 0
    while True:
        page = get_json(url, "/namespaces", {"limit": 100, "offset": offset})
        out.update({n["name"]: n for n in page["namespaces"]})
        if len(page["namespaces"]) < 100:
            return out
        offset += 100


def test_namespaces_list_delete_and_revive(marquez_url: str) -> None:
    ns = unique("ns-life")
    _run(marquez_url, ns, "first", "COMPLETE", outputs=[dataset(ns, "d1", [("a", "INTEGER")])])
    listed = _listed(marquez_url)
    assert ns in listed
    assert listed[ns]["ownerName"] and listed[ns]["createdAt"] and listed[ns].get("isHidden") is False

    deleted = _send("DELETE", f"{marquez_url}/api/v1/namespaces/{ns}")
    assert deleted["name"] == ns
    assert ns not in _listed(marquez_url)
    assert get_json(marquez_url, f"/namespaces/{ns}")["isHidden"] is True
    get_json(marquez_url, f"/namespaces/{ns}/jobs/first", status=404)
    get_json(marquez_url, f"/namespaces/{ns}/datasets/d1", status=404)
    assert get_json(marquez_url, f"/namespaces/{ns}/jobs")["jobs"] == []

    _run(marquez_url, ns, "second", "COMPLETE", outputs=[dataset(ns, "d2", [("a", "INTEGER")])])
    listed = _listed(marquez_url)
    assert ns in listed and listed[ns]["isHidden"] is False
    assert {j["name"] for j in get_json(marquez_url, f"/namespaces/{ns}/jobs")["jobs"]} == {"second"}
    assert {d["name"] for d in get_json(marquez_url, f"/namespaces/{ns}/datasets")["datasets"]} == {"d2"}
    get_json(marquez_url, f"/namespaces/{ns}/jobs/first", status=404)  # what the new event did not name stays deleted


def test_unknown_namespace(marquez_url: str) -> None:
    ns = unique("ns-none")
    assert "not found" in error_text(requests.get(f"{marquez_url}/api/v1/namespaces/{ns}", timeout=10)).lower()
    response = requests.delete(f"{marquez_url}/api/v1/namespaces/{ns}", timeout=10)
    assert response.status_code == 404 and ns in error_text(response)


# -- operations: health, metrics, API key ------------------------------------------------------------
def _metric(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{k}="{v}"' in match.group(1) for k, v in labels.items()):
            return float(match.group(2))
    return 0.0


def test_healthcheck_and_metrics(builtin_marquez: MarquezServer) -> None:
    url = builtin_marquez.url
    health = requests.get(url + "/healthcheck", timeout=10)
    assert health.status_code == 200 and health.json()["healthy"] is True

    def scrape() -> str:
        response = requests.get(url + "/metrics", timeout=10)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        return response.text

    before = scrape()
    assert "# TYPE marquez_http_requests_total counter" in before
    assert "marquez_http_request_seconds_bucket" in before
    ns = unique("metrics")
    _run(url, ns, "j", "COMPLETE")
    assert post_event(url, {"eventTime": "never"}).status_code in (400, 422)
    after = scrape()

    def grew(name: str, **labels: str) -> float:
        return _metric(after, name, **labels) - _metric(before, name, **labels)

    posts = {s: grew("marquez_http_requests_total", method="POST", status=s) for s in ("201", "400", "422")}
    assert posts["201"] == 2 and posts["400"] + posts["422"] == 1, posts
    outcomes = [grew("marquez_lineage_events_total", outcome=o) for o in ("accepted", "rejected")]
    assert outcomes == [2, 1], outcomes


def test_api_key(start_builtin) -> None:
    """With MARQUEZ_API_KEY set, /api/v1 needs `Authorization: Bearer <key>` (as the OpenLineage
    HTTP transport sends it); /healthcheck stays open."""
    key = uuid.uuid4().hex
    server = start_builtin({"MARQUEZ_API_KEY": key})
    url, ns = server.url, unique("keyed")
    event = run_event("COMPLETE", namespace=ns, job="j", run_id=str(uuid.uuid4()), event_time=utcnow())
    right = {"Authorization": f"Bearer {key}"}

    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {key}"}, {"Authorization": key}):
        refused = post_event(url, event, headers=headers)
        assert refused.status_code == 401, (headers, refused.status_code)
        assert "key" in error_text(refused).lower()
        assert requests.get(url + "/api/v1/namespaces", headers=headers, timeout=10).status_code == 401
    assert requests.get(url + "/healthcheck", timeout=10).status_code == 200
    get_json(url, f"/namespaces/{ns}", status=404, headers=right)  # nothing refused was stored

    assert post_event(url, event, headers=right).status_code == 201
    assert ns in {n["name"] for n in get_json(url, "/namespaces", headers=right)["namespaces"]}
    assert get_json(url, f"/namespaces/{ns}/jobs/j", headers=right)["latestRun"]["state"] == "COMPLETED"

    # the OpenLineage client's HTTP transport, configured with the key, gets through
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    transport = HttpTransport(
        HttpConfig.from_dict({"type": "http", "url": url, "auth": {"type": "api_key", "apiKey": key}})
    )
    run_id = str(uuid.uuid4())
    OpenLineageClient(transport=transport).emit(
        RunEvent(eventType=RunState.COMPLETE, eventTime=iso(utcnow()), run=Run(runId=run_id),
                 job=Job(namespace=ns, name="from_openlineage_client"), producer="https://example.invalid/tests")
    )  # fmt: skip
    assert get_json(url, f"/jobs/runs/{run_id}", headers=right)["state"] == "COMPLETED"

"""Bad input: every malformed request gets a 4xx whose JSON names the problem, and leaves no trace.

The requests: every malformed POST in the recordings (p07-bad-input, steps Marquez answered 422
or 500), and more of our own: mistyped fields, missing pieces, bodies that are not events,
bodies over the size cap, bad query parameters, routes that do not exist. Each runs against a
built-in server of its own (a small body cap, so the cap is cheap to test), seeded with a run
that the bad requests name (same namespace, job and datasets), and each is checked twice:
- the answer: the expected 4xx, JSON `{"code", "message"}` or `{"errors": [...]}`, naming the
  field or parameter at fault (Marquez answers 500 to some of these: see
  marquez.differences, bad-input-400);
- the store: row count and contents of every table are the same before and after.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import string
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from tests.marquez import conformance as cf
from tests.marquez.support import (
    DATASET_EVENT_URL,
    PRODUCER,
    dataset,
    error_text,
    get_json,
    post_ok,
    run_event,
    state_changes,
    store_state,
)
from tests.marquez_fixture import MarquezServer, start_builtin_server

pytestmark = pytest.mark.marquez

CAP = 64 * 1024  # MARQUEZ_MAX_BODY_BYTES of this module's server
NS, JOB = "conf-p07", "j"  # the names the recorded bad events use
DS_NS, DS = "conf-p07-x", "readings"
T0 = dt.datetime(2025, 3, 9, 0, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory) -> MarquezServer:
    started = start_builtin_server(
        request.getfixturevalue("postgres"),
        tmp_path_factory.mktemp("marquez-bad-input"),
        extra_env={"MARQUEZ_MAX_BODY_BYTES": str(CAP)},
    )
    try:
        run_id = str(uuid.uuid4())
        out = dataset(DS_NS, DS, [("reactor_id", "INTEGER"), ("temp", "DOUBLE")])
        post_ok(
            started.url,
            run_event("START", namespace=NS, job=JOB, run_id=run_id, event_time=T0, outputs=[out]),
            run_event("COMPLETE", namespace=NS, job=JOB, run_id=run_id, event_time=T0 + dt.timedelta(minutes=1), outputs=[out]),
        )  # fmt: skip
        yield started
    finally:
        started.stop()


# -- the requests ----------------------------------------------------------------------------------
@dataclass
class Bad:
    id: str
    method: str
    path: str
    json: Any = None  # sent as JSON when `raw` is None
    raw: bytes | None = None
    headers: dict = field(default_factory=dict)
    status: int | None = None  # None: any 4xx
    mentions: tuple[str, ...] = ()  # all must appear in the error's message(s)


def good(**changes) -> dict:
    """A valid run event about the seeded job and dataset, with `changes` applied."""
    event = run_event(
        "START",
        namespace=NS,
        job=JOB,
        run_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "bad-input")),
        event_time=T0 + dt.timedelta(hours=1),
        outputs=[dataset(DS_NS, DS, [("reactor_id", "INTEGER"), ("temp", "DOUBLE")])],
    )
    event.update(changes)
    return event


def with_output(**facets) -> dict:
    return good(outputs=[{"namespace": DS_NS, "name": DS, "facets": facets}])


def schema(*fields) -> dict:
    return {"schema": {"_producer": PRODUCER, "_schemaURL": "https://example.invalid/schema", "fields": list(fields)}}


RUN_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "bad-input-run"))
# 10,000 random letters: Marquez's API documents names up to 1,024 characters; this one does not
# compress, so no B-tree index entry can hold it.
LONG_NAME = "".join(random.Random(9).choices(string.ascii_letters, k=10_000))
JOB_DOC = {"namespace": NS, "name": JOB}


def _oversized() -> bytes:
    event = good()
    event["run"]["facets"]["padding"] = {"_producer": PRODUCER, "_schemaURL": "x", "text": "x" * (CAP + 1024)}
    return json.dumps(event).encode()


OWN: list[Bad] = [
    Bad("eventTime-a-number", "POST", "/api/v1/lineage", good(eventTime=1741478400), status=400, mentions=("eventTime",)),
    Bad("eventTime-out-of-range-in-utc", "POST", "/api/v1/lineage", good(eventTime="0001-01-01T00:00:00+14:00"),
        status=400, mentions=("eventTime",)),
    Bad("runId-an-object", "POST", "/api/v1/lineage", good(run={"runId": {"uuid": RUN_ID}}), status=400, mentions=("run.runId",)),
    Bad("inputs[0]-a-string", "POST", "/api/v1/lineage", good(inputs=["conf-p07-x/readings"]),
        status=400, mentions=("inputs[0]",)),
    Bad("run-facets-a-list", "POST", "/api/v1/lineage", good(run={"runId": RUN_ID, "facets": [{"x": 1}]}),
        status=400, mentions=("run.facets",)),
    Bad("job-facets-a-list", "POST", "/api/v1/lineage", good(job={**JOB_DOC, "facets": []}),
        status=400, mentions=("job.facets",)),
    Bad("a-run-facet-a-string", "POST", "/api/v1/lineage", good(run={"runId": RUN_ID, "facets": {"spark": "x"}}),
        status=400, mentions=("run.facets.spark",)),
    Bad("schema-fields-not-a-list", "POST", "/api/v1/lineage", with_output(schema={"fields": {"name": "temp"}}),
        status=400, mentions=("outputs[0].facets.schema.fields",)),
    Bad("schema-field-without-name", "POST", "/api/v1/lineage",
        with_output(**schema({"name": "reactor_id", "type": "INTEGER"}, {"type": "DOUBLE"})),
        status=400, mentions=("outputs[0].facets.schema.fields[1].name",)),
    Bad("schema-field-description-a-number", "POST", "/api/v1/lineage",
        with_output(**schema({"name": "temp", "type": "DOUBLE", "description": 7})),
        status=400, mentions=("description",)),
    Bad("lifecycleStateChange-a-number", "POST", "/api/v1/lineage",
        with_output(lifecycleStateChange={"_producer": PRODUCER, "_schemaURL": "x", "lifecycleStateChange": 3}),
        status=400, mentions=("lifecycleStateChange",)),
    Bad("parent-facet-without-run", "POST", "/api/v1/lineage",
        good(run={"runId": RUN_ID, "facets": {"parent": {"job": {"namespace": NS, "name": "p"}}}}),
        status=400, mentions=("run.facets.parent.run",)),
    Bad("nominalTime-garbage", "POST", "/api/v1/lineage",
        good(run={"runId": RUN_ID, "facets": {"nominalTime": {"nominalStartTime": "the day after"}}}),
        status=400, mentions=("nominalTime.nominalStartTime",)),
    Bad("eventType-a-number", "POST", "/api/v1/lineage", good(eventType=3), status=400, mentions=("eventType",)),
    Bad("producer-a-list", "POST", "/api/v1/lineage", good(producer=[PRODUCER]), status=400, mentions=("producer",)),
    Bad("second-output-without-namespace", "POST", "/api/v1/lineage",
        good(outputs=[dataset(DS_NS, DS), {"name": "other"}]), status=422, mentions=("outputs[1].namespace",)),
    Bad("dataset-event-dataset-a-string", "POST", "/api/v1/lineage",
        {"eventTime": "2025-03-09T02:00:00Z", "producer": PRODUCER, "schemaURL": DATASET_EVENT_URL, "dataset": "x"},
        status=400, mentions=("dataset",)),
    Bad("top-level-a-string", "POST", "/api/v1/lineage", "an event", status=400, mentions=("object",)),
    Bad("top-level-null", "POST", "/api/v1/lineage", raw=b"null", mentions=("null",)),
    Bad("NaN-is-not-JSON", "POST", "/api/v1/lineage", raw=b'{"eventTime": NaN}', status=400, mentions=("JSON",)),
    Bad("not-UTF-8", "POST", "/api/v1/lineage", raw=b"\xff\xfe{}", status=400, mentions=("UTF-8",)),
    Bad("form-encoded-body", "POST", "/api/v1/lineage", raw=b"eventType=START&eventTime=now",
        headers={"Content-Type": "application/x-www-form-urlencoded"}, status=415, mentions=("Content-Type",)),
    Bad("NUL-in-job-name", "POST", "/api/v1/lineage", good(job={"namespace": NS, "name": "j\u0000"}), mentions=("job.name",)),
    Bad("job-name-of-10000-characters", "POST", "/api/v1/lineage",
        good(job={"namespace": NS, "name": LONG_NAME}), mentions=("job.name",)),
    Bad("body-over-the-cap", "POST", "/api/v1/lineage", raw=_oversized(), status=413, mentions=("body", str(CAP))),
    Bad("batch-not-an-array", "POST", "/api/v1/lineage/batch", good(), status=400, mentions=("array",)),
    Bad("tag-description-body-not-an-object", "PUT", "/api/v1/tags/NEW_TAG", [1], status=400, mentions=("description",)),
    Bad("tag-on-a-field-that-does-not-exist", "POST", f"/api/v1/namespaces/{DS_NS}/datasets/{DS}/fields/nope/tags/NEW_TAG",
        raw=b"", status=404, mentions=("nope",)),
    # routes that do not exist
    Bad("unknown-route", "POST", "/api/v1/lineage/events", good(), status=404, mentions=("Not Found",)),
    Bad("prefix-twice", "POST", "/api/v1/api/v1/lineage", good(), status=404, mentions=("Not Found",)),
    Bad("no-api-prefix", "POST", "/lineage", good(), status=404, mentions=("Not Found",)),
    Bad("wrong-method", "PATCH", "/api/v1/lineage", good(), status=405, mentions=("Method Not Allowed",)),
    # bad query parameters
    Bad("limit-abc", "GET", "/api/v1/namespaces?limit=abc", status=400, mentions=("limit",)),
    Bad("offset-negative", "GET", f"/api/v1/namespaces/{NS}/jobs?offset=-1", status=400, mentions=("offset",)),
    Bad("depth-negative", "GET", f"/api/v1/lineage?nodeId=dataset:{DS_NS}:{DS}&depth=-1", status=400, mentions=("depth",)),
    Bad("events-after-garbage", "GET", "/api/v1/events/lineage?after=garbage", status=400, mentions=("after",)),
    Bad("events-after-out-of-range-in-utc", "GET", "/api/v1/events/lineage?after=0001-01-01T00:00:00%2B14:00",
        status=400, mentions=("after",)),
    Bad("events-sortDirection", "GET", "/api/v1/events/lineage?sortDirection=sideways", status=400, mentions=("sortDirection",)),
    Bad("stats-period", "GET", "/api/v1/stats/jobs?period=YEAR", status=400, mentions=("period",)),
    Bad("run-id-not-a-uuid", "GET", "/api/v1/jobs/runs/not-a-uuid", status=400, mentions=("not-a-uuid",)),
]  # fmt: skip


# What each recorded malformed POST must name (by its label in p07-bad-input).
RECORDED_MENTIONS = {
    "invalid JSON": ("JSON",),
    "empty body": ("body",),
    "a JSON array": ("object", "array"),
    "RunEvent without eventTime": ("eventTime",),
    "RunEvent without producer": ("producer",),
    "RunEvent without run": ("run",),
    "RunEvent without job": ("job",),
    "job without name": ("job.name",),
    "job without namespace": ("job.namespace",),
    "eventTime not a timestamp": ("eventTime", "yesterday"),
    "inputs is an object, not a list": ("inputs",),
    "output dataset without name": ("outputs[0].name",),
}


def _p07() -> cf.Scenario:
    return next(s for s in cf.load_scenarios() if s.name.startswith("p07"))


def recorded_bad_posts() -> list[Bad]:
    out = []
    for step in _p07().steps:
        if step.method != "POST" or step.status not in (422, 500):
            continue
        label = step.label or f"step {step.index}"
        out.append(
            Bad(
                id=f"recorded: {label}",
                method="POST",
                path=step.path,
                json=step.body,
                raw=step.raw.encode() if step.raw is not None else None,
                # 422 as recorded; Marquez's 500s (body says code 400) are 400 here (bad-input-400)
                status=422 if step.status == 422 else 400,
                mentions=RECORDED_MENTIONS.get(label, ("<no expectation written for this recorded step>",)),
            )
        )
    return out


RECORDED = recorded_bad_posts()


def test_recordings_hold_the_malformed_posts() -> None:
    labels = {b.id.removeprefix("recorded: ") for b in RECORDED}
    assert len(RECORDED) >= 10, [b.id for b in RECORDED]
    assert labels == set(RECORDED_MENTIONS), "recorded malformed POSTs and RECORDED_MENTIONS differ"


def _send(base_url: str, bad: Bad) -> requests.Response:
    headers = dict(bad.headers)
    if bad.raw is not None:
        data = bad.raw
    elif bad.json is not None:
        data = json.dumps(bad.json).encode()
    else:
        data = None
    if data is not None:
        headers.setdefault("Content-Type", "application/json")  # as OpenLineage transports send it
    return requests.request(bad.method, base_url + bad.path, data=data, headers=headers, timeout=30)


def _check(server: MarquezServer, bad: Bad) -> None:
    before = store_state(server.db_url)
    response = _send(server.url, bad)
    after = store_state(server.db_url)
    problems = []
    expected = "a 4xx" if bad.status is None else str(bad.status)
    if not (400 <= response.status_code < 500 if bad.status is None else response.status_code == bad.status):
        problems.append(f"answered {response.status_code} (expected {expected}): {response.text[:300]}")
    else:
        try:
            text = error_text(response)
        except AssertionError as exc:
            problems.append(str(exc).split("\n")[0])
        else:
            missing = [m for m in bad.mentions if m not in text]
            if missing:
                problems.append(f"the error does not name {missing}: {text[:300]!r}")
    changes = state_changes(before, after)
    if changes:
        problems.append(f"left a trace in the store: {changes}")
    assert not problems, f"{bad.method} {bad.path[:120]} ({bad.id}):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("bad", RECORDED, ids=lambda b: b.id)
def test_recorded_malformed_post(server: MarquezServer, bad: Bad) -> None:
    _check(server, bad)


@pytest.mark.parametrize("bad", OWN, ids=lambda b: b.id)
def test_bad_request(server: MarquezServer, bad: Bad) -> None:
    _check(server, bad)


def test_missing_field_errors_are_as_recorded(server: MarquezServer) -> None:
    """For missing fields the whole body is Marquez's, byte for byte: {"errors": [...]}."""
    for bad in RECORDED:
        if bad.status == 422:
            label = bad.id.removeprefix("recorded: ")
            recorded = next(step.response for step in _p07().steps if step.label == label)
            assert _send(server.url, bad).json() == recorded, bad.id


def test_body_over_the_cap_without_content_length(server: MarquezServer) -> None:
    """A chunked body (no Content-Length) is cut off at the cap too."""
    payload = _oversized()
    before = store_state(server.db_url)

    def chunks():
        for i in range(0, len(payload), 8192):
            yield payload[i : i + 8192]

    response = requests.post(
        server.url + "/api/v1/lineage", data=chunks(), headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 413, response.text[:300]
    assert str(CAP) in error_text(response)
    assert not state_changes(before, store_state(server.db_url))


def test_a_body_under_the_cap_is_stored(server: MarquezServer) -> None:
    """The cap rejects only what is over it: a valid event just under it is stored."""
    event = good(run={"runId": str(uuid.uuid4()), "facets": {}}, eventType="COMPLETE")
    size = len(json.dumps(event).encode())
    event["run"]["facets"]["padding"] = {"_producer": PRODUCER, "_schemaURL": "x", "text": ""}
    event["run"]["facets"]["padding"]["text"] = "x" * (CAP - size - 200)
    assert CAP - 200 < len(json.dumps(event).encode()) <= CAP
    before = store_state(server.db_url)
    post_ok(server.url, event)
    changed = {c.split(":")[0] for c in state_changes(before, store_state(server.db_url))}
    assert {"lineage_events", "runs"} <= changed, "the store check does not see a stored event"
    assert get_json(server.url, f"/jobs/runs/{event['run']['runId']}")["state"] == "COMPLETED"


def test_the_seeded_run_is_untouched(server: MarquezServer) -> None:
    """After all the bad requests, the seeded job still shows only what good events said."""
    job = get_json(server.url, f"/namespaces/{NS}/jobs/{JOB}")
    assert job["outputs"] == [{"namespace": DS_NS, "name": DS}]
    fields = get_json(server.url, f"/namespaces/{DS_NS}/datasets/{DS}")["fields"]
    assert [(f["name"], f["type"]) for f in fields] == [("reactor_id", "INTEGER"), ("temp", "DOUBLE")]

"""Property-based tests (hypothesis) against the real server: whatever the event or the query,
the answer is never a 5xx, and an acknowledged event is applied to the model without error.

Events are drawn from the OpenLineage grammar with every field free to be mistyped, null, deep,
long (in bytes), holding NULs, wide characters or extreme numbers; queries from the routes of the
API with arbitrary path segments and parameters.
"""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import quote

import orjson
import psycopg
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from marquez import limits
from tests.marquez_fixture import start_builtin_server

pytestmark = pytest.mark.marquez

SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)

# -- building blocks -------------------------------------------------------------------------------
PLAIN = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
TEXT = st.one_of(
    PLAIN,
    PLAIN,
    PLAIN,
    st.text(alphabet=st.sampled_from("ab/:.\x00%é\U0001f600 "), max_size=30).filter(
        lambda t: "\x00" not in t or len(t) % 4 == 0
    ),
    st.sampled_from(["", " ", "a", "ns", "x" * 1025, "\U0001f600" * 256, "\U0001f600" * 257, "s" * 3000]),
)
SCALAR = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**63), 2**64 - 1), st.floats(allow_nan=False, allow_infinity=False), TEXT
)
JSON = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(PLAIN, PLAIN, TEXT), inner, max_size=4)
    ),
    max_leaves=12,
)


def deep(depth: int) -> dict:
    doc: object = 1
    for _ in range(depth):
        doc = [doc]
    return {"d": doc}


def maybe(valid, *, odds: int = 12):
    """Mostly a valid value (odds-1 in odds), sometimes any JSON at all."""
    return st.sampled_from([True] * (odds - 1) + [False]).flatmap(lambda ok: valid if ok else JSON)


TIMES = st.one_of(
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)).map(
        lambda t: t.isoformat()
    ),
    st.sampled_from(
        [
            "2025-03-09T00:00:00Z",
            "2025-03-09T00:00:00+00:00",
            "9999-12-31T23:59:59Z",
            "0001-01-01T00:00:00Z",
            "2025-03-09",
            "nope",
            "2025-13-01T00:00:00Z",
            "2025-03-09T00:00:00+23:59",
        ]
    ),
)
NAME = st.one_of(st.sampled_from(["ns", "prop", "postgres://h:5432", "a/b", "j", "d"]), TEXT)
FIELD = st.fixed_dictionaries({"name": maybe(NAME)}, optional={"type": maybe(TEXT), "description": maybe(TEXT)})
COLUMN_LINEAGE = st.fixed_dictionaries(
    {
        "fields": maybe(
            st.dictionaries(
                NAME,
                maybe(
                    st.fixed_dictionaries(
                        {
                            "inputFields": maybe(
                                st.lists(
                                    maybe(
                                        st.fixed_dictionaries(
                                            {"namespace": maybe(NAME), "name": maybe(NAME), "field": maybe(NAME)}
                                        )
                                    ),
                                    max_size=3,
                                )
                            )
                        },
                        optional={"transformationType": maybe(TEXT)},
                    )
                ),
                max_size=3,
            )
        )
    }
)
DATASET_FACETS = st.fixed_dictionaries(
    {},
    optional={
        "schema": maybe(st.fixed_dictionaries({"fields": maybe(st.lists(maybe(FIELD), max_size=4))})),
        "columnLineage": maybe(COLUMN_LINEAGE),
        "dataSource": maybe(st.fixed_dictionaries({"name": maybe(NAME), "uri": maybe(TEXT)})),
        "documentation": maybe(st.fixed_dictionaries({"description": maybe(TEXT)})),
        "lifecycleStateChange": maybe(st.fixed_dictionaries({"lifecycleStateChange": maybe(TEXT)})),
        "deep": st.integers(1, 80).map(deep),
    },
)
DATASET = st.fixed_dictionaries(
    {"namespace": maybe(NAME), "name": maybe(NAME)},
    optional={
        "facets": maybe(DATASET_FACETS),
        "inputFacets": maybe(st.dictionaries(TEXT, JSON, max_size=2)),
        "outputFacets": maybe(st.dictionaries(TEXT, JSON, max_size=2)),
    },
)
RUN_ID = st.one_of(st.uuids().map(str), st.uuids().map(lambda u: str(u).upper()), TEXT)
PARENT = st.fixed_dictionaries(
    {
        "run": maybe(st.fixed_dictionaries({"runId": maybe(RUN_ID)})),
        "job": maybe(st.fixed_dictionaries({"namespace": maybe(NAME), "name": maybe(NAME)})),
    }
)
RUN = st.fixed_dictionaries(
    {"runId": maybe(RUN_ID)},
    optional={
        "facets": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "parent": maybe(PARENT),
                    "nominalTime": maybe(
                        st.fixed_dictionaries(
                            {"nominalStartTime": maybe(TIMES)}, optional={"nominalEndTime": maybe(TIMES)}
                        )
                    ),
                    "other": JSON,
                },
            )
        )
    },
)
JOB = st.fixed_dictionaries(
    {"namespace": maybe(NAME), "name": maybe(NAME)},
    optional={
        "facets": maybe(
            st.fixed_dictionaries(
                {},
                optional={
                    "documentation": maybe(st.fixed_dictionaries({"description": maybe(TEXT)})),
                    "sourceCodeLocation": maybe(st.fixed_dictionaries({"url": maybe(TEXT)})),
                },
            )
        )
    },
)
RUN_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent"
SCHEMA_URLS = st.sampled_from(
    [
        "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
        "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/DatasetEvent",
        "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/JobEvent",
    ]
)
EVENT = st.fixed_dictionaries(
    {
        "eventTime": maybe(TIMES),
        "producer": maybe(st.just("https://example.com/prop")),
        "schemaURL": maybe(st.one_of(*[st.just(RUN_URL)] * 6, SCHEMA_URLS)),
        "eventType": maybe(st.sampled_from(["START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER", "complete"])),
        "run": maybe(RUN),
        "job": maybe(JOB),
        "inputs": maybe(st.lists(maybe(DATASET), max_size=3)),
        "outputs": maybe(st.lists(maybe(DATASET), max_size=3)),
    },
    optional={"dataset": maybe(DATASET)},
)


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, tmp_path_factory):
    """A server of its own: a projection error here is one of these events'."""
    started = start_builtin_server(request.getfixturevalue("postgres"), tmp_path_factory.mktemp("marquez-properties"))
    try:
        yield started
    finally:
        started.stop()


def _projection_errors(db_url: str) -> list:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT id, projection_error, event::text FROM lineage_events WHERE projection_error IS NOT NULL"
        ).fetchall()


def _settle(server) -> None:
    """A read waits until every stored event is applied (read-your-writes)."""
    assert requests.get(f"{server.url}/api/v1/namespaces", timeout=30).status_code == 200


def _encode(doc) -> bytes | None:
    try:
        return orjson.dumps(doc)
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer over 64 bits: not sendable as JSON here
        return None


@SETTINGS
@given(event=EVENT)
def test_no_event_answers_5xx_and_every_acknowledged_one_is_projected(server, event):
    body = _encode(event)
    if body is None:
        return
    response = requests.post(
        f"{server.url}/api/v1/lineage", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code < 500, f"{response.status_code} {response.text[:300]} for {body[:2000]!r}"
    note(f"status {response.status_code}")
    if response.status_code >= 400:
        assert response.json(), response.text
        return
    _settle(server)
    errors = _projection_errors(server.db_url)
    assert not errors, "acknowledged, then not projected:\n" + "\n".join(
        f"{e[1][:200]}\n  {e[2][:3000]}" for e in errors
    )


@SETTINGS
@given(events=st.lists(EVENT, min_size=1, max_size=4))
def test_no_batch_answers_5xx(server, events):
    body = _encode(events)
    if body is None:
        return
    response = requests.post(
        f"{server.url}/api/v1/lineage/batch", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code < 500, f"{response.status_code} {response.text[:300]} for {body[:2000]!r}"
    _settle(server)
    errors = _projection_errors(server.db_url)
    assert not errors, "acknowledged, then not projected:\n" + "\n".join(
        f"{e[1][:200]}\n  {e[2][:3000]}" for e in errors
    )


# -- queries ---------------------------------------------------------------------------------------
SEGMENT = st.one_of(
    st.sampled_from(["ns", "prop", "j", "d", "a%2Fb", "%00", "%ZZ", "%C3%28", "..", "%F0%9F%98%80" * 300, "x" * 3000]),
    st.text(min_size=1, max_size=20).map(lambda t: quote(t, safe="")),
    st.uuids().map(str),
)
ROUTES = [
    "namespaces",
    "namespaces/{}",
    "namespaces/{}/datasets",
    "namespaces/{}/datasets/{}",
    "namespaces/{}/datasets/{}/versions",
    "namespaces/{}/datasets/{}/versions/{}",
    "namespaces/{}/jobs",
    "namespaces/{}/jobs/{}",
    "namespaces/{}/jobs/{}/runs",
    "namespaces/{}/jobs/{}/versions",
    "jobs",
    "jobs/runs/{}",
    "jobs/runs/{}/facets",
    "sources",
    "sources/{}",
    "lineage",
    "column-lineage",
    "search",
    "events/lineage",
    "stats/{}",
    "tags",
    "tags/{}",
    "namespaces/{}/datasets/{}/tags/{}",
    "namespaces/{}/datasets/{}/fields/{}/tags/{}",
    "namespaces/{}/jobs/{}/tags/{}",
]
PARAM_NAMES = st.sampled_from(
    [
        "limit",
        "offset",
        "depth",
        "nodeId",
        "q",
        "filter",
        "sort",
        "namespace",
        "after",
        "before",
        "sortDirection",
        "period",
        "timezone",
        "type",
        "withDownstream",
        "lastRunStates",
        "runState",
    ]
)
PARAM_VALUES = st.one_of(
    st.sampled_from(
        [
            "0",
            "-1",
            "1",
            "100",
            "1001",
            str(2**31),
            str(2**63),
            str(2**64),
            "1e9",
            "",
            "%00",
            "dataset:ns:d",
            "job:ns:j",
            "datasetField:ns:d:a",
            "dataset:",
            "UTC",
            "Mars/Base",
            "+99:99",
            "DAY",
            "WEEK",
            "asc",
            "2025-01-01T00:00:00Z",
            "9999-99-99",
            "DATASET",
            "JOB",
            "NAME",
            "true",
            "run",
            "job",
            "x" * 5000,
        ]
    ),
    st.text(max_size=20).map(lambda t: quote(t, safe="")),
)


@SETTINGS
@given(
    route=st.sampled_from(ROUTES),
    segments=st.lists(SEGMENT, min_size=4, max_size=4),
    params=st.lists(st.tuples(PARAM_NAMES, PARAM_VALUES), max_size=4),
    method=st.sampled_from(["GET", "GET", "GET", "PUT", "POST", "DELETE"]),
)
def test_no_query_answers_5xx(seeded, route, segments, params, method):
    path = route.format(*segments[: route.count("{}")])
    query = "&".join(f"{k}={v}" for k, v in params)
    url = f"{seeded.url}/api/v1/{path}" + (f"?{query}" if query else "")
    headers = {"Content-Type": "application/json"}
    response = requests.request(
        method, url, data=b"{}" if method in ("PUT", "POST") else None, headers=headers, timeout=30
    )
    assert response.status_code < 500, f"{method} {url[:500]} -> {response.status_code} {response.text[:300]}"
    note(f"status {response.status_code}")


@pytest.fixture(scope="module")
def seeded(server):
    """A model for the query tests to find things in."""
    ns = "ns"
    event = {
        "eventTime": "2025-03-09T00:00:00Z",
        "eventType": "COMPLETE",
        "producer": "https://example.com/prop",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": ns, "name": "j"},
        "inputs": [{"namespace": ns, "name": "d", "facets": {"schema": {"fields": [{"name": "a", "type": "INT"}]}}}],
        "outputs": [
            {
                "namespace": ns,
                "name": "e",
                "facets": {
                    "schema": {"fields": [{"name": "a", "type": "INT"}]},
                    "columnLineage": {"fields": {"a": {"inputFields": [{"namespace": ns, "name": "d", "field": "a"}]}}},
                },
            }
        ],
    }
    assert requests.post(f"{server.url}/api/v1/lineage", json=event, timeout=30).status_code == 201
    return server


def test_limits_are_the_documented_ones():
    assert limits.MAX_NAME_BYTES == 1024 and limits.MAX_JSON_DEPTH < 254  # orjson serialises at most 254 levels


# -- the same event, written differently, is one event ------------------------------------------------
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))


@SETTINGS
@given(
    instant=st.datetimes(
        min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2025, 1, 1), timezones=st.just(dt.UTC)
    ),
    offset=OFFSETS,
    upper=st.booleans(),
    zulu=st.booleans(),
)
def test_an_event_rewritten_in_another_offset_or_case_is_stored_once(server, instant, offset, upper, zulu):
    run_id = str(uuid.uuid4())
    ns = f"canon-{uuid.uuid4().hex[:8]}"
    event = {
        "eventTime": instant.isoformat().replace("+00:00", "Z") if zulu else instant.isoformat(),
        "eventType": "START", "producer": "https://example.com/prop", "schemaURL": RUN_URL,
        "run": {"runId": run_id}, "job": {"namespace": ns, "name": "j"},
    }  # fmt: skip
    variant = dict(
        event, eventTime=instant.astimezone(offset).isoformat(), run={"runId": run_id.upper() if upper else run_id}
    )
    for doc in (event, variant):
        response = requests.post(f"{server.url}/api/v1/lineage", json=doc, timeout=30)
        assert response.status_code == 201, response.text
    with psycopg.connect(server.db_url) as conn:
        (count,) = conn.execute("SELECT count(*) FROM lineage_events WHERE job_namespace = %s", (ns,)).fetchone()
    assert count == 1, (event, variant)

"""No input answers 5xx: each case the issue probed (each once a 500, or a 201 the projector then
failed on), as a regression test. Every limit is in `marquez.limits`; each refusal is a 4xx whose
message names the field or parameter, and nothing refused is stored."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import orjson
import psycopg
import pytest
import requests

from marquez import limits
from marquez.storage.ingest import job_namespace
from tests.marquez.support import dataset, error_text, get_json, parent_facet, post_event, post_ok, run_event, unique

pytestmark = pytest.mark.marquez

T0 = dt.datetime(2025, 3, 9, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def server(builtin_marquez):
    return builtin_marquez


def _event(ns: str | None = None, job: str = "j", event_type: str = "START", **kwargs) -> dict:
    return run_event(
        event_type, namespace=ns or unique("lim"), job=job, run_id=str(uuid.uuid4()), event_time=T0, **kwargs
    )


def _refused(response: requests.Response, *names: str, status: int = 400) -> str:
    assert response.status_code == status, f"{response.status_code}: {response.text[:300]}"
    text = error_text(response)
    for name in names:
        assert name in text, f"{name!r} not named in {text!r}"
    return text


def _nested(depth: int):
    doc: object = 1
    for _ in range(depth - 1):
        doc = {"a": doc}
    return doc


def _errors(db_url: str) -> list:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT id, projection_error FROM lineage_events WHERE projection_error IS NOT NULL"
        ).fetchall()


# -- JSON nesting ---------------------------------------------------------------------------------
def _deep_body(depth: int) -> bytes:
    """An event whose run facet `deep` nests `depth` levels (written by hand: no JSON encoder
    in Python goes that deep)."""
    text = orjson.dumps(_event(run_facets={"deep": "__DEEP__"})).decode()
    return text.replace('"__DEEP__"', '{"a":' * (depth - 1) + "1" + "}" * (depth - 1)).encode()


@pytest.mark.parametrize("depth", [65, 254, 255, 600, 990, 1024])
def test_deep_nesting_is_refused(server, depth):
    response = requests.post(
        f"{server.url}/api/v1/lineage", data=_deep_body(depth), headers={"Content-Type": "application/json"}, timeout=15
    )
    # Past orjson's own limit (1,024) the parser refuses it, before any path is known.
    body = _refused(response, *(["run.facets.deep"] if depth < 1024 else []))
    assert str(limits.MAX_JSON_DEPTH) in body


def test_nesting_within_the_limit_is_accepted(server):
    post_ok(server.url, _event(run_facets={"deep": _nested(limits.MAX_JSON_DEPTH - 5)}))


def test_deep_nesting_in_a_batch_is_refused_per_item(server):
    good = orjson.dumps(_event()).decode()
    body = "[" + good + "," + _deep_body(500).decode() + "]"
    response = requests.post(
        f"{server.url}/api/v1/lineage/batch", data=body, headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 200, response.text[:300]
    assert "nests deeper" in response.text


# -- nulls inside arrays --------------------------------------------------------------------------
@pytest.mark.parametrize("side", ["inputs", "outputs"])
def test_null_dataset_is_refused(server, side):
    _refused(post_event(server.url, _event(**{side: [None]})), f"{side}[0]")


def test_null_schema_field_is_refused(server):
    ds = dataset(unique("ns"), "t", [("a", "INT")])
    ds["facets"]["schema"]["fields"].append(None)
    _refused(post_event(server.url, _event(outputs=[ds])), "outputs[0].facets.schema.fields[1]")


# -- column lineage: a bad facet is refused, and one stored before never breaks a read -----------
@pytest.mark.parametrize(
    "facet, named",
    [
        ({"fields": [1]}, "columnLineage.fields"),
        ({"fields": {"a": 1}}, "columnLineage.fields.a"),
        ({"fields": {"a": {"inputFields": [1]}}}, "inputFields[0]"),
        ({"fields": {"a": {"inputFields": [{"namespace": "n", "name": 2, "field": "x"}]}}}, "inputFields[0].name"),
        ({"fields": {"a": {"inputFields": {}}}}, "inputFields"),
        ("x", "columnLineage"),
    ],
)
def test_bad_column_lineage_is_refused(server, facet, named):
    ds = dataset(unique("ns"), "t", [("a", "INT")])
    ds["facets"]["columnLineage"] = facet
    _refused(post_event(server.url, _event(outputs=[ds])), named)


def test_a_malformed_stored_facet_does_not_break_column_lineage(server):
    ns = unique("cl")
    good = dataset(ns, "good", [("a", "INT")], column_lineage={"a": [(ns, "src", "x")]})
    bad = dataset(ns, "bad", [("a", "INT")])
    post_ok(server.url, _event(ns, event_type="COMPLETE", outputs=[good, bad]))
    get_json(server.url, "/column-lineage", {"nodeId": f"dataset:{ns}:good"})
    with psycopg.connect(server.db_url) as conn:  # as if stored before the check existed
        conn.execute(
            'UPDATE dataset_versions v SET facets = v.facets || \'{"columnLineage": {"fields": [1]}}\'::jsonb'
            " FROM datasets d WHERE d.current_version_uuid = v.uuid AND d.namespace_name = %s AND d.name = 'bad'",
            (ns,),
        )
    graph = get_json(server.url, "/column-lineage", {"nodeId": f"dataset:{ns}:good"})
    assert any(n["id"].endswith(":good:a") for n in graph["graph"]), graph


# -- names: bytes, not characters; every name, parents and sources included ------------------------
WIDE = "\U0001f600"  # four bytes in UTF-8


@pytest.mark.parametrize(
    "where",
    [
        "job.namespace",
        "job.name",
        "inputs[0].name",
        "outputs[0].namespace",
        "outputs[0].facets.schema.fields[0].name",
        "outputs[0].facets.dataSource.name",
        "run.facets.parent.job.name",
        "run.facets.parent.job.namespace",
    ],
)
def test_names_over_the_byte_limit_are_refused(server, where):
    long = WIDE * limits.MAX_NAME_BYTES  # 1,024 characters, 4,096 bytes
    ns = unique("names")
    job, run_facets = "j", {}
    inputs = [dataset(ns, "in")]
    outputs = [dataset(ns, "out", [("a", "INT")], source=("src", "postgres://h"))]
    if where == "job.namespace":
        ns = long
    elif where == "job.name":
        job = long
    elif where == "inputs[0].name":
        inputs[0]["name"] = long
    elif where == "outputs[0].namespace":
        outputs[0]["namespace"] = long
    elif where.endswith("fields[0].name"):
        outputs[0]["facets"]["schema"]["fields"][0]["name"] = long
    elif where.endswith("dataSource.name"):
        outputs[0]["facets"]["dataSource"]["name"] = "s" * 100_000
    else:
        run_facets = parent_facet(
            long if where.endswith("namespace") else ns, long if where.endswith("name") else "p", str(uuid.uuid4())
        )
    event = run_event(
        "START",
        namespace=ns,
        job=job,
        run_id=str(uuid.uuid4()),
        event_time=T0,
        inputs=inputs,
        outputs=outputs,
        run_facets=run_facets,
    )
    _refused(post_event(server.url, event), where, "bytes")


def _incompressible(n_bytes: int) -> str:
    """Random four-byte characters (Postgres cannot compress them to fit its index)."""
    rng = random.Random()
    return "".join(chr(rng.randrange(0x20000, 0x2A6DF)) for _ in range(n_bytes // 4))


def test_names_at_the_byte_limit_are_projected(server):
    """Names of exactly MAX_NAME_BYTES incompressible bytes everywhere, a job filed under its
    parent at MAX_JOB_KEY_BYTES: acknowledged AND in the model (the projector does not fail)."""
    before = len(_errors(server.db_url))
    ns, name, parent = (_incompressible(limits.MAX_NAME_BYTES) for _ in range(3))
    job = _incompressible(limits.MAX_JOB_KEY_BYTES - 2 * limits.MAX_NAME_BYTES - 1)
    out = dataset(ns, name, [(name, "INT")], source=(name, "postgres://h"))
    event = run_event(
        "COMPLETE",
        namespace=ns,
        job=job,
        run_id=str(uuid.uuid4()),
        event_time=T0,
        outputs=[out],
        run_facets=parent_facet(ns, parent, str(uuid.uuid4())),
    )
    post_ok(server.url, event)
    quoted_ns, quoted_name = requests.utils.quote(ns, safe=""), requests.utils.quote(name, safe="")
    assert get_json(server.url, f"/namespaces/{quoted_ns}/datasets/{quoted_name}")["name"] == name
    # A job is filed under its namespace with the characters Marquez does not allow in one made `_`.
    filed_ns = requests.utils.quote(job_namespace(ns), safe="")
    assert get_json(server.url, f"/namespaces/{filed_ns}/jobs/{requests.utils.quote(parent + '.' + job, safe='')}")
    tagged = requests.post(
        f"{server.url}/api/v1/namespaces/{quoted_ns}/datasets/{quoted_name}/tags/{quoted_name}", timeout=15
    )
    assert tagged.status_code == 200, tagged.text[:300]
    assert len(_errors(server.db_url)) == before


def test_filed_job_name_over_the_key_limit_is_refused(server):
    ns = "n" * 1000
    event = run_event(
        "START",
        namespace=ns,
        job="j" * 1000,
        run_id=str(uuid.uuid4()),
        event_time=T0,
        run_facets=parent_facet(ns, "p" * 1000, str(uuid.uuid4())),
    )
    _refused(post_event(server.url, event), "run.facets.parent.job.name", "job.name")


# -- list lengths --------------------------------------------------------------------------------
def test_too_many_datasets_are_refused(server):
    ns = unique("many")
    event = _event(ns, inputs=[{"namespace": ns, "name": f"d{i}"} for i in range(limits.MAX_DATASETS + 1)])
    _refused(post_event(server.url, event), "inputs", str(limits.MAX_DATASETS))


# -- query integers, NUL in paths and queries ------------------------------------------------------
@pytest.mark.parametrize("path", ["/namespaces", "/jobs", "/tags", "/sources", "/events/lineage"])
@pytest.mark.parametrize("value", [str(2**63), str(2**64), str(limits.MAX_OFFSET + 1), "9" * 5000, "1e3", "٣"])
def test_offsets_out_of_range_are_refused(server, path, value):
    response = requests.get(f"{server.url}/api/v1{path}", params={"offset": value}, timeout=15)
    _refused(response, "offset")


@pytest.mark.parametrize(
    "path",
    [
        "/namespaces/a%00b",
        "/namespaces/a%00b/datasets/x",
        "/namespaces/ns/jobs/x%00",
        "/jobs/runs/%00",
        "/search?q=a%00",
        "/search?q=a&namespace=%00",
        "/lineage?nodeId=dataset:a:b%00",
        "/column-lineage?nodeId=dataset:a%00:b",
        "/namespaces?%00=1",
        "/stats/jobs?timezone=UTC%00",
        "/events/lineage?after=%00",
    ],
)
def test_nul_in_path_or_query_is_refused(server, path):
    response = requests.get(f"{server.url}/api/v1{path}", timeout=15)
    _refused(response, "NUL")


def test_nul_in_a_write_path_is_refused(server):
    response = requests.put(f"{server.url}/api/v1/tags/a%00b", json={}, timeout=15)
    _refused(response, "NUL")


def test_unknown_time_zone_is_refused(server):
    for tz in ("Mars/Base", "+99999999:99", "x" * 5000):
        response = requests.get(f"{server.url}/api/v1/stats/jobs", params={"timezone": tz}, timeout=15)
        assert response.status_code == 400, response.text[:300]


# -- tags ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("body", [{"description": {"a": 1}}, {"description": 3}, {"description": ["x"]}, [1], "s", 7])
def test_tag_description_must_be_a_string(server, body):
    response = requests.put(f"{server.url}/api/v1/tags/{unique('t')}", json=body, timeout=15)
    assert response.status_code == 400, response.text[:300]
    error_text(response)


def test_tag_names_over_the_byte_limit_are_refused(server):
    long = WIDE * 1024
    response = requests.put(f"{server.url}/api/v1/tags/{requests.utils.quote(long)}", json={}, timeout=15)
    _refused(response, "tag name", "bytes")
    ns = unique("tags")
    post_ok(server.url, _event(ns, outputs=[dataset(ns, "d", [("a", "INT")])]))
    for path in (
        f"/namespaces/{ns}/datasets/d/tags/",
        f"/namespaces/{ns}/datasets/d/fields/a/tags/",
        f"/namespaces/{ns}/jobs/j/tags/",
    ):
        response = requests.post(f"{server.url}/api/v1{path}{requests.utils.quote('x' * 3000)}", timeout=15)
        _refused(response, "tag name")


# -- the API key -----------------------------------------------------------------------------------
def test_non_ascii_bearer_token_is_refused_not_a_500(start_builtin):
    keyed = start_builtin({"MARQUEZ_API_KEY": "s3cret"})
    for token in ("s3crét", "\u00e9", "ключ"):
        response = requests.get(
            f"{keyed.url}/api/v1/namespaces", headers={"Authorization": f"Bearer {token}".encode()}, timeout=15
        )
        assert response.status_code == 401, response.text[:300]
    ok = requests.get(f"{keyed.url}/api/v1/namespaces", headers={"Authorization": "Bearer s3cret"}, timeout=15)
    assert ok.status_code == 200


# -- found by the property tests -------------------------------------------------------------------
def test_a_dataset_named_twice_on_one_side_is_projected(server):
    """Once a CardinalityViolation in the projector: acknowledged and never in the model."""
    before = len(_errors(server.db_url))
    ns = unique("twice")
    post_ok(server.url, _event(ns, event_type="COMPLETE", outputs=[dataset(ns, "d"), dataset(ns, "d")]))
    assert get_json(server.url, f"/namespaces/{ns}/datasets/d")["name"] == "d"
    assert len(_errors(server.db_url)) == before

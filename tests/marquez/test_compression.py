"""Compressed posts (issue 23): the official OpenLineage clients configured with `compression:
gzip` send `Content-Encoding: gzip`. Marquez (Dropwizard's gzip handling) stores them; so does the
built-in server, on POST /lineage and /lineage/batch, with the body cap applied to the compressed
and to the decompressed size (a gzip bomb gets 413 without the server inflating it in memory).
Other encodings are refused with 415 naming them."""

from __future__ import annotations

import datetime as dt
import gzip
import random
import re
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson
import psutil
import psycopg
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marquez import limits
from tests.marquez.support import dataset, error_text, get_json, run_event, unique
from tests.marquez.test_properties import EVENT
from tests.marquez_fixture import MarquezServer, start_builtin_server

pytestmark = pytest.mark.marquez

CAP = 4 << 20  # MARQUEZ_MAX_BODY_BYTES of the small-cap server (4 MiB)
T0 = dt.datetime(2025, 3, 9, tzinfo=dt.UTC)
JSON_HEADERS = {"Content-Type": "application/json"}
GZIP_HEADERS = {**JSON_HEADERS, "Content-Encoding": "gzip"}


@pytest.fixture(scope="module")
def small(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[MarquezServer]:
    """A server whose body cap is CAP (limits are cheap to reach)."""
    started = start_builtin_server(
        request.getfixturevalue("postgres"),
        tmp_path_factory.mktemp("marquez-gzip"),
        extra_env={"MARQUEZ_MAX_BODY_BYTES": str(CAP)},
    )
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def server(builtin_marquez) -> MarquezServer:
    return builtin_marquez


def _event(ns: str, job: str = "j", event_type: str = "COMPLETE", **kwargs) -> dict:
    return run_event(event_type, namespace=ns, job=job, run_id=str(uuid.uuid4()), event_time=T0, **kwargs)


def _post(server: MarquezServer, body: bytes, path: str = "lineage", headers: dict | None = None) -> requests.Response:
    return requests.post(f"{server.url}/api/v1/{path}", data=body, headers=headers or GZIP_HEADERS, timeout=60)


def _padded(ns: str, size: int) -> bytes:
    """An event of exactly `size` bytes of JSON (a run facet padded with letters)."""
    event = _event(ns)
    event["run"]["facets"]["padding"] = {"_producer": "p", "_schemaURL": "s", "text": ""}
    base = len(orjson.dumps(event))
    assert base < size
    event["run"]["facets"]["padding"]["text"] = "x" * (size - base)
    body = orjson.dumps(event)
    assert len(body) == size
    return body


def _stored(server: MarquezServer, ns: str, job: str = "j") -> dict:
    return get_json(server.url, f"/namespaces/{ns}/jobs/{job}")


# -- what the clients send ---------------------------------------------------------------------------
def test_a_gzip_event_is_stored_and_readable(server):
    ns = unique("gz")
    out = dataset(ns, "out", [("a", "INTEGER")])
    event = _event(ns, outputs=[out])
    response = _post(server, gzip.compress(orjson.dumps(event), compresslevel=3))
    assert response.status_code == 201, response.text
    job = _stored(server, ns)
    assert job["latestRun"]["id"] == event["run"]["runId"]
    assert job["latestRun"]["state"] == "COMPLETED"
    assert [o["name"] for o in job["outputs"]] == ["out"]
    assert [f["name"] for f in get_json(server.url, f"/namespaces/{ns}/datasets/out")["fields"]] == ["a"]


def test_a_gzip_batch_is_stored(server):
    ns = unique("gzb")
    events = [_event(ns, job=f"j{i}") for i in range(3)]
    response = _post(server, gzip.compress(orjson.dumps(events)), path="lineage/batch")
    assert response.status_code == 200, response.text
    assert all(item["status"] == 201 for item in response.json()["results"]), response.text
    for i, event in enumerate(events):
        assert _stored(server, ns, f"j{i}")["latestRun"]["id"] == event["run"]["runId"]


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", "x-gzip", "gzip ", "identity, gzip", "gzip, identity"])
def test_gzip_spellings_are_accepted(server, encoding):
    ns = unique("gzs")
    response = _post(
        server, gzip.compress(orjson.dumps(_event(ns))), headers={**JSON_HEADERS, "Content-Encoding": encoding}
    )
    assert response.status_code == 201, response.text
    assert _stored(server, ns)["latestRun"]["state"] == "COMPLETED"


def test_identity_is_a_plain_body(server):
    ns = unique("gzi")
    response = _post(server, orjson.dumps(_event(ns)), headers={**JSON_HEADERS, "Content-Encoding": "identity"})
    assert response.status_code == 201, response.text
    assert _stored(server, ns)["latestRun"]["state"] == "COMPLETED"


def test_concatenated_gzip_members_and_padding_are_one_body(server):
    """`gzip.decompress` (and gunzip) read a body of several gzip members as their concatenation."""
    ns = unique("gzm")
    body = orjson.dumps(_event(ns))
    cut = len(body) // 3
    response = _post(server, gzip.compress(body[:cut]) + gzip.compress(body[cut:]) + b"\x00" * 8)
    assert response.status_code == 201, response.text
    assert _stored(server, ns)["latestRun"]["state"] == "COMPLETED"


def test_a_gzip_body_sent_in_chunks_is_stored(server):
    """Transfer-Encoding: chunked, the compressed bytes cut at arbitrary places."""
    ns = unique("gzc")
    compressed = gzip.compress(orjson.dumps(_event(ns, outputs=[dataset(ns, "o", [("a", "TEXT")])])))

    def chunks():
        for start in range(0, len(compressed), 7):
            yield compressed[start : start + 7]

    response = _post(server, chunks())
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert response.status_code == 201, response.text
    assert _stored(server, ns)["latestRun"]["state"] == "COMPLETED"


# -- what is refused ---------------------------------------------------------------------------------
@pytest.mark.parametrize("encoding", ["deflate", "br", "zstd", "compress", "gzip, gzip", "gzip, br", "bogus"])
def test_other_encodings_are_refused_with_415_naming_them(server, encoding):
    ns = unique("gze")
    response = _post(
        server, gzip.compress(orjson.dumps(_event(ns))), headers={**JSON_HEADERS, "Content-Encoding": encoding}
    )
    assert response.status_code == 415, response.text
    text = error_text(response)
    assert "Content-Encoding" in text
    assert encoding.split(",")[-1].strip() in text
    get_json(server.url, f"/namespaces/{ns}", status=404)  # nothing stored


@pytest.mark.parametrize(
    ("case", "body"),
    [
        ("not gzip at all", b'{"eventType": "START"}'),
        ("truncated", gzip.compress(b'{"eventType": "START", "x": "' + b"y" * 500 + b'"}')[:-12]),
        ("corrupt", gzip.compress(b"{}")[:10] + b"\xff" * 20),
        ("trailing garbage", gzip.compress(b"{}") + b"garbage"),
        ("a zlib stream, not gzip", zlib.compress(b"{}")),
    ],
)
def test_a_broken_gzip_body_is_400(server, case, body):
    response = _post(server, body)
    assert response.status_code == 400, f"{case}: {response.status_code} {response.text}"
    assert "gzip" in error_text(response)


def test_an_empty_gzip_body_is_answered_as_an_empty_plain_body(server):
    response = _post(server, b"")
    plain = _post(server, b"", headers=JSON_HEADERS)
    assert response.status_code == plain.status_code == 422, response.text
    assert response.json() == plain.json()


# -- the limits, on the decompressed body ------------------------------------------------------------
def test_a_body_at_the_cap_once_decompressed_is_accepted(small):
    ns = unique("gzcap")
    response = _post(small, gzip.compress(_padded(ns, CAP)))
    assert response.status_code == 201, response.text
    assert _stored(small, ns)["latestRun"]["state"] == "COMPLETED"


@pytest.mark.parametrize("path", ["lineage", "lineage/batch"])
def test_a_body_over_the_cap_once_decompressed_is_413(small, path):
    ns = unique("gzover")
    plain = _padded(ns, CAP + 1)
    body = plain if path == "lineage" else b"[" + plain[: CAP - 1] + b"]"  # batch: CAP + 1 bytes too
    compressed = gzip.compress(body)
    assert len(compressed) < CAP // 50  # the compressed body is far under the cap
    response = _post(small, compressed, path=path)
    assert response.status_code == 413, response.text
    text = error_text(response)
    assert str(CAP) in text and "decompressed" in text
    get_json(small.url, f"/namespaces/{ns}", status=404)


def test_a_compressed_body_over_the_cap_is_413_before_inflating(small):
    """The cap on the bytes received still holds (random bytes do not compress)."""
    noise = random.Random(23).randbytes(CAP + 1)
    response = _post(small, gzip.compress(noise, compresslevel=0))
    assert response.status_code == 413, response.text
    assert str(CAP) in error_text(response)


def _server_process(server: MarquezServer) -> psutil.Process:
    port = server.url.rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if "serve" in cmdline and port in cmdline:
            return child
    raise AssertionError(f"no server process listening on {port} among this test's children")


def _peak_rss(process: psutil.Process) -> int:
    """The process's peak resident memory (VmHWM), bytes."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/<pid>/status")


@pytest.mark.parametrize("path", ["lineage", "lineage/batch"])
def test_a_gzip_bomb_is_413_without_inflating_it(small, path):
    """About 4 GiB of zeros in a body under the cap (gzip members of 64 MiB each, concatenated):
    refused as soon as the output passes the cap; the server's peak memory barely moves."""
    member = gzip.compress(b"\x00" * (64 << 20), compresslevel=9)
    copies = min(64, (CAP - 1) // len(member))
    bomb = member * copies
    assert len(bomb) < CAP and copies * (64 << 20) >= 3 << 30
    process = _server_process(small)
    before = _peak_rss(process)
    started = time.monotonic()
    response = _post(small, bomb, path=path)
    took = time.monotonic() - started
    assert response.status_code == 413, response.text
    assert "decompressed" in error_text(response)
    grown = _peak_rss(process) - before
    assert grown < 64 << 20, f"the server's peak memory grew by {grown >> 20} MiB inflating a bomb"
    assert took < 10, f"refusing the bomb took {took:.1f} s"


def test_nesting_and_batch_limits_hold_for_gzip_bodies(server):
    """The checks after decompression are the plain body's: nesting (400), events per batch (413)."""
    ns = unique("gzl")
    event = _event(ns)
    event["run"]["facets"]["deep"] = "__DEEP__"
    deep_body = orjson.dumps(event).replace(b'"__DEEP__"', b'{"a":' * 100 + b"1" + b"}" * 100)
    response = _post(server, gzip.compress(deep_body))
    assert response.status_code == 400, response.text
    assert str(limits.MAX_JSON_DEPTH) in error_text(response)
    many = [_event(ns)] * (limits.MAX_BATCH + 1)
    response = _post(server, gzip.compress(orjson.dumps(many)), path="lineage/batch")
    assert response.status_code == 413, response.text
    assert str(limits.MAX_BATCH) in error_text(response)


def test_the_body_time_out_holds_for_gzip_bodies(start_builtin):
    slow = start_builtin({"MARQUEZ_BODY_TIMEOUT_SECONDS": "1"})
    compressed = gzip.compress(orjson.dumps(_event(unique("gzt"))))

    def stalled():
        yield compressed[:10]
        time.sleep(3)
        yield compressed[10:]

    response = _post(slow, stalled())
    assert response.status_code == 408, response.text


# -- properties --------------------------------------------------------------------------------------
PROPERTY = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def _gzipped(body: bytes, level: int, cuts: list[int], chunk: int) -> Iterator[bytes] | bytes:
    """`body` as gzip: one member per piece between `cuts`, sent whole or in `chunk`-byte pieces."""
    points = sorted({min(c, len(body)) for c in cuts})
    pieces = [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]
    compressed = b"".join(gzip.compress(piece, compresslevel=level) for piece in pieces)
    if chunk == 0:
        return compressed
    return iter([compressed[i : i + chunk] for i in range(0, len(compressed), chunk)] or [b""])


def _stored_events(server: MarquezServer) -> int:
    assert server.db_url
    with psycopg.connect(server.db_url) as conn:
        row = conn.execute("SELECT count(*) FROM lineage_events").fetchone()
    assert row is not None
    return row[0]


SERVER_TIME = re.compile(r"\(server time [^)]*\)")


def _same(doc: object) -> object:
    """`doc` without what differs between two requests (the server time a refusal quotes)."""
    return orjson.loads(SERVER_TIME.sub("(server time)", orjson.dumps(doc).decode()))


def _answer(response: requests.Response) -> tuple[int, object]:
    return response.status_code, _same(response.json() if response.content else None)


@PROPERTY
@given(
    event=EVENT,
    level=st.integers(0, 9),
    cuts=st.lists(st.integers(0, 4000), max_size=3),
    chunk=st.sampled_from([0, 1, 5, 64, 4096]),
)
def test_any_event_gzipped_is_answered_as_the_plain_event(server, event, level, cuts, chunk):
    """Whatever the event (valid or not) and however it is gzipped (level, members, chunks), the
    answer is the plain body's; an acknowledged gzip event is the same event as the plain one
    (posting the plain one after it is a duplicate, stored once)."""
    try:
        body = orjson.dumps(event)
    except (orjson.JSONEncodeError, TypeError):
        return
    before = _stored_events(server)
    compressed = _post(server, _gzipped(body, level, cuts, chunk))
    after_gzip = _stored_events(server)
    plain = _post(server, body, headers=JSON_HEADERS)
    assert compressed.status_code < 500, compressed.text
    assert _answer(compressed) == _answer(plain)
    if compressed.status_code == 201:  # stored (or a duplicate of an earlier example's)
        assert after_gzip - before in (0, 1)
        assert _stored_events(server) == after_gzip, "the plain event is not the gzip one's duplicate"
    else:
        assert after_gzip == before


@PROPERTY
@given(
    events=st.lists(EVENT, min_size=1, max_size=4),
    level=st.integers(1, 9),
    cuts=st.lists(st.integers(0, 4000), max_size=2),
)
def test_any_batch_gzipped_is_answered_as_the_plain_batch(server, events, level, cuts):
    """The batch answer (per item: stored, duplicate, refused and why) is the plain body's, once the
    gzip batch's own stored items are counted as duplicates for the plain one."""
    try:
        body = orjson.dumps(events)
    except (orjson.JSONEncodeError, TypeError):
        return
    compressed = _post(server, _gzipped(body, level, cuts, 0), path="lineage/batch")
    plain = _post(server, body, path="lineage/batch", headers=JSON_HEADERS)
    assert compressed.status_code == plain.status_code, (compressed.text, plain.text)
    if compressed.status_code == 200:
        gz, pl = compressed.json()["results"], plain.json()["results"]
        assert len(gz) == len(pl) == len(events)
        for a, b in zip(gz, pl, strict=True):
            if a["status"] in (200, 201):  # stored (or already) through gzip: a duplicate in plain
                assert b["status"] == 200, (a, b)
            else:
                assert _same(a) == _same(b)
    else:
        assert _answer(compressed) == _answer(plain)

"""Safe in a browser's reach: a web page cannot write (no text/plain POST, no foreign Origin, no
cross-site fetch), a DNS-rebinding page gets nothing (Host allow-list), the API key never on the
command line; plus the request-level time limits (stalled bodies, events from the future)."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
import time
import uuid

import pytest
import requests

from marquez.config import ServerConfig
from tests.marquez.support import get_json, iso, run_event, unique, utcnow

pytestmark = pytest.mark.marquez


@pytest.fixture(scope="module")
def server(builtin_marquez):
    return builtin_marquez


def _event(**kwargs) -> dict:
    kwargs.setdefault("event_time", dt.datetime(2025, 3, 9, tzinfo=dt.UTC))
    return run_event(
        "START", namespace=kwargs.pop("namespace", unique("browser")), job="j", run_id=str(uuid.uuid4()), **kwargs
    )


def _namespaces(url: str) -> set[str]:
    return {n["name"] for n in get_json(url, "/namespaces", {"limit": 1000})["namespaces"]}


# -- writes from a web page --------------------------------------------------------------------------
def test_a_text_plain_post_is_refused_and_stores_nothing(server):
    event = _event()
    import json

    response = requests.post(
        f"{server.url}/api/v1/lineage", data=json.dumps(event), headers={"Content-Type": "text/plain"}, timeout=10
    )
    assert response.status_code == 415 and "Content-Type" in response.json()["message"]
    assert event["job"]["namespace"] not in _namespaces(server.url)


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "https://attacker.test:5555", "null", "http://127.0.0.1.evil.example"]
)
def test_a_foreign_origin_cannot_write(server, origin):
    event = _event()
    headers = {"Origin": origin}
    assert requests.post(f"{server.url}/api/v1/lineage", json=event, headers=headers, timeout=10).status_code == 403
    assert (
        requests.post(f"{server.url}/api/v1/namespaces/x/datasets/y/tags/PII", headers=headers, timeout=10).status_code
        == 403
    )
    assert requests.put(f"{server.url}/api/v1/tags/PII", json={}, headers=headers, timeout=10).status_code == 403
    assert requests.delete(f"{server.url}/api/v1/namespaces/x", headers=headers, timeout=10).status_code == 403
    assert event["job"]["namespace"] not in _namespaces(server.url)
    # Reads are not writes: a page's GET is answered (it cannot read the answer without CORS).
    assert requests.get(f"{server.url}/api/v1/namespaces", headers=headers, timeout=10).status_code == 200


def test_a_cross_site_fetch_cannot_write(server):
    response = requests.post(
        f"{server.url}/api/v1/lineage", json=_event(), headers={"Sec-Fetch-Site": "cross-site"}, timeout=10
    )
    assert response.status_code == 403


@pytest.mark.parametrize("origin", ["http://localhost:3002", "http://127.0.0.1:3000", "http://[::1]:5555"])
def test_a_local_origin_may_write(server, origin):
    response = requests.post(f"{server.url}/api/v1/lineage", json=_event(), headers={"Origin": origin}, timeout=10)
    assert response.status_code == 201, response.text


def test_a_bodyless_tag_post_needs_no_content_type(server):
    """Marquez's own Python client tags with a POST that has no body and no content type."""
    ns = unique("tagged")
    event = _event(namespace=ns, outputs=[{"namespace": ns, "name": "d"}])
    assert requests.post(f"{server.url}/api/v1/lineage", json=event, timeout=10).status_code == 201
    assert requests.post(f"{server.url}/api/v1/namespaces/{ns}/datasets/d/tags/PII", timeout=10).status_code == 200


# -- DNS rebinding: the Host allow-list ----------------------------------------------------------------
@pytest.mark.parametrize("host", ["evil.example", "evil.example:5555", "127.0.0.1.nip.io"])
def test_a_foreign_host_gets_nothing(server, host):
    for path in ("/api/v1/namespaces", "/healthcheck", "/metrics"):
        response = requests.get(f"{server.url}{path}", headers={"Host": host}, timeout=10)
        assert response.status_code == 421, (path, response.status_code)


@pytest.mark.parametrize("host", ["localhost", "localhost:5555", "127.0.0.1", "[::1]:5555"])
def test_loopback_hosts_are_answered(server, host):
    assert requests.get(f"{server.url}/api/v1/namespaces", headers={"Host": host}, timeout=10).status_code == 200


def test_the_allow_list_is_a_setting(start_builtin):
    other = start_builtin({"MARQUEZ_ALLOWED_HOSTS": "marquez.internal,127.0.0.1"})
    assert (
        requests.get(
            f"{other.url}/api/v1/namespaces", headers={"Host": "marquez.internal:5000"}, timeout=10
        ).status_code
        == 200
    )
    assert (
        requests.get(f"{other.url}/api/v1/namespaces", headers={"Host": "evil.example"}, timeout=10).status_code == 421
    )
    assert requests.get(f"{other.url}/api/v1/namespaces", headers={"Host": "localhost"}, timeout=10).status_code == 421
    write = requests.post(
        f"{other.url}/api/v1/lineage", json=_event(), headers={"Origin": "http://marquez.internal"}, timeout=10
    )
    assert write.status_code == 201


def test_default_hosts():
    assert ServerConfig(db_url="x").hosts() == {"localhost", "127.0.0.1", "::1"}
    assert "marquez" in ServerConfig(db_url="x", host="marquez").hosts()
    assert ServerConfig(db_url="x", host="0.0.0.0").hosts() == {"localhost", "127.0.0.1", "::1"}


# -- the API key --------------------------------------------------------------------------------------
def test_the_api_key_is_refused_on_the_command_line():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "marquez",
            "serve",
            "--api-key",
            "s3cret",
            "--db-url",
            "postgresql://nobody@127.0.0.1:1/x",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "MARQUEZ_API_KEY" in result.stderr and "s3cret" not in result.stderr + result.stdout


def test_the_api_key_is_never_in_a_repr():
    assert "s3cret" not in repr(ServerConfig(db_url="x", api_key="s3cret"))


# -- time limits -----------------------------------------------------------------------------------------
def test_a_stalled_body_is_timed_out(start_builtin):
    slow = start_builtin({"MARQUEZ_BODY_TIMEOUT_SECONDS": "1"})
    host, port = slow.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/lineage HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000\r\n\r\n{"eventTime": '
        )
        started = time.monotonic()
        answer = sock.recv(4096)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert waited < 5


def test_events_from_the_future_are_refused_past_ones_welcome(server):
    now = utcnow()
    far = _event(event_time=iso(now + dt.timedelta(days=2)))
    response = requests.post(f"{server.url}/api/v1/lineage", json=far, timeout=10)
    assert response.status_code == 400 and "eventTime" in response.json()["message"]
    start_9999 = _event(event_time="9999-01-01T00:00:00Z")
    assert requests.post(f"{server.url}/api/v1/lineage", json=start_9999, timeout=10).status_code == 400
    for when in (
        now + dt.timedelta(hours=1),
        now - dt.timedelta(days=3650),
        dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
    ):
        assert (
            requests.post(f"{server.url}/api/v1/lineage", json=_event(event_time=iso(when)), timeout=10).status_code
            == 201
        )


def test_the_future_margin_is_a_setting(start_builtin):
    strict = start_builtin({"MARQUEZ_MAX_FUTURE_SECONDS": "60"})
    soon = _event(event_time=iso(utcnow() + dt.timedelta(minutes=5)))
    assert requests.post(f"{strict.url}/api/v1/lineage", json=soon, timeout=10).status_code == 400
    batch = requests.post(f"{strict.url}/api/v1/lineage/batch", json=[soon], timeout=10).json()
    assert batch["results"][0]["status"] == 400

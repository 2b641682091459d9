"""Postgres down: 503 with Retry-After within a second, never a hang or a 500; once it is back,
the first request is answered (pooled connections are checked before use). Also: the same event
written differently (+00:00 for Z, an upper-case runId) is one event.

Postgres is reached through a real TCP proxy the test can cut (every connection dropped, new
ones refused) and restore: to the server it is Postgres going away and coming back."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest
import requests

from tests.marquez.support import get_json, run_event, unique
from tests.marquez_fixture import REPO_ROOT, _create_database, _drop_database, _healthy, _stop_process

pytestmark = pytest.mark.marquez


class TcpCut:
    """A TCP forwarder to (host, port) that can be cut and restored on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.port = _free_port()
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None
        self.up()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def down(self) -> None:
        """Postgres goes away: new connections refused, open ones reset."""
        assert self.listener is not None
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread (close alone does not)
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for conn in self.conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()
                except OSError:
                    pass
            self.conns.clear()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclasses.dataclass
class CutServer:
    url: str
    process: subprocess.Popen


@pytest.fixture
def cut_server(request, tmp_path):
    postgres = request.getfixturevalue("postgres")
    dbname = f"marquez_cut_{uuid.uuid4().hex[:10]}"
    admin_url = postgres.with_db("postgres").url
    _create_database(admin_url, dbname)
    cut = TcpCut(postgres.host, postgres.port)
    through = dataclasses.replace(postgres, host="127.0.0.1", port=cut.port, dbname=dbname).url
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEZ_")}
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "marquez", "serve", "--host", "127.0.0.1", "--port", str(port), "--db-url", through],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = CutServer(f"http://127.0.0.1:{port}", process)
    try:
        deadline = time.monotonic() + 60
        while not _healthy(server.url):
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-3000:]
            time.sleep(0.2)
        yield server, cut
    finally:
        _stop_process(process)
        log.close()
        _drop_database(admin_url, dbname)


def _event(ns: str) -> dict:
    return run_event("START", namespace=ns, job="j", run_id=str(uuid.uuid4()), event_time="2025-03-09T00:00:00Z")


def test_postgres_down_answers_503_quickly_and_the_first_request_after_is_answered(cut_server):
    server, cut = cut_server
    ns = unique("down")
    assert requests.post(f"{server.url}/api/v1/lineage", json=_event(ns), timeout=10).status_code == 201
    get_json(server.url, "/namespaces")
    cut.down()
    try:
        for method, path, body in (
            ("GET", "/api/v1/namespaces", None),
            ("POST", "/api/v1/lineage", _event(ns)),
            ("GET", "/healthcheck", None),
            ("GET", f"/api/v1/namespaces/{ns}/jobs", None),
        ):
            started = time.monotonic()
            response = requests.request(method, f"{server.url}{path}", json=body, timeout=30)
            took = time.monotonic() - started
            assert response.status_code == 503, (path, response.status_code, response.text[:300])
            assert response.headers.get("Retry-After") == "1", path
            assert took < 1.5, f"{path} took {took:.2f} s"
            if path.startswith("/api"):
                assert "database" in response.json()["message"]
    finally:
        cut.up()
    # Back: the very first request is answered (the pool's dead connections are not handed out).
    response = requests.get(f"{server.url}/api/v1/namespaces/{ns}", timeout=30)
    assert response.status_code == 200, response.text[:300]
    assert requests.post(f"{server.url}/api/v1/lineage", json=_event(ns), timeout=30).status_code == 201


# -- duplicates on the canonical event -----------------------------------------------------------------
def test_the_same_event_written_differently_is_stored_once(builtin_marquez):
    ns = unique("canon")
    run_id = str(uuid.uuid4())
    base = run_event("START", namespace=ns, job="j", run_id=run_id, event_time="2025-03-09T10:00:00Z")
    variants = [
        base,
        {**base, "eventTime": "2025-03-09T10:00:00+00:00"},
        {**base, "eventTime": "2025-03-09T11:00:00+01:00"},
        {**base, "eventTime": "2025-03-09T10:00:00.000000Z"},
        {**base, "run": {**base["run"], "runId": run_id.upper()}},
        {**base, "run": {**base["run"], "runId": run_id.upper()}, "eventTime": "2025-03-09T10:00:00+00:00"},
    ]
    answers = [requests.post(f"{builtin_marquez.url}/api/v1/lineage", json=v, timeout=10).status_code for v in variants]
    assert answers == [201] * len(variants)
    with psycopg.connect(builtin_marquez.db_url) as conn:
        (count,) = conn.execute("SELECT count(*) FROM lineage_events WHERE job_namespace = %s", (ns,)).fetchone()
    assert count == 1
    # A different instant, or another run, is another event.
    other = {**base, "eventTime": "2025-03-09T10:00:01Z"}
    assert requests.post(f"{builtin_marquez.url}/api/v1/lineage", json=other, timeout=10).status_code == 201
    with psycopg.connect(builtin_marquez.db_url) as conn:
        (count,) = conn.execute("SELECT count(*) FROM lineage_events WHERE job_namespace = %s", (ns,)).fetchone()
    assert count == 2

"""How a Marquez is chosen and how the built-in one is run: `lakehouse_core.marquez`, the role and
database the service creates, `lakehouse marquez serve` on an empty database, and the
background server that `lakehouse up` starts and `lakehouse down` stops.

Real Postgres (the session's), real server processes, free ports (never 5555).
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from lakehouse_core import marquez as choose
from lakehouse_core.settings import REPO_ROOT, Settings, get_settings
from orchestration.services import marquez as service

pytestmark = pytest.mark.integration

LAKEHOUSE = Path(sys.executable).parent / "lakehouse"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert port != 5555
    return port


def _get(url: str, timeout: float = 5) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture
def builtin_env(monkeypatch):
    """No MARQUEZ_URL and a free MARQUEZ_PORT: the built-in kind, away from :5555."""
    for name in ("MARQUEZ_URL", "MARQUEZ_DB_URL", "MARQUEZ_API_KEY", "MARQUEZ_DB_PASSWORD", "MARQUEZ_HOST"):
        monkeypatch.delenv(name, raising=False)
    port = _free_port()
    monkeypatch.setenv("MARQUEZ_PORT", str(port))
    return port


# --- lakehouse_core.marquez: which Marquez ----------------------------------------------------


def _settings(monkeypatch, **env: str) -> Settings:
    """Settings read from an environment holding `env` and no other Marquez variable."""
    for name in ("MARQUEZ_URL", "MARQUEZ_PORT", "MARQUEZ_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


def test_choose_uses_marquez_url_when_set(monkeypatch):
    # MARQUEZ_PORT is irrelevant once MARQUEZ_URL is set
    settings = _settings(monkeypatch, MARQUEZ_URL="http://marquez.example.internal:5000/", MARQUEZ_PORT="6123")
    target = choose.resolve(settings=settings)
    assert target == choose.MarquezTarget("http://marquez.example.internal:5000", "external")
    assert target.port == 5000
    assert choose.resolve(url="http://other:5000", settings=settings).url == "http://other:5000"  # a --url flag wins


def test_choose_defaults_to_the_builtin_server(monkeypatch):
    assert choose.resolve(settings=_settings(monkeypatch)) == choose.MarquezTarget("http://127.0.0.1:5555", "builtin")
    assert choose.resolve(settings=_settings(monkeypatch, MARQUEZ_PORT="6123", MARQUEZ_API_KEY="k")) == (
        choose.MarquezTarget("http://127.0.0.1:6123", "builtin", "k")
    )
    assert choose.resolve(settings=_settings(monkeypatch, MARQUEZ_URL="")).kind == "builtin"


@pytest.mark.parametrize("url", ["marquez:5000", "ftp://marquez:5000", "http://marquez:5000/api/v1"])
def test_choose_rejects_a_marquez_url_it_cannot_use(url, monkeypatch):
    with pytest.raises(ValueError, match="MARQUEZ_URL"):
        choose.resolve(settings=_settings(monkeypatch, MARQUEZ_URL=url))
    with pytest.raises(ValueError, match="MARQUEZ_URL"):
        choose.resolve(url=url, settings=_settings(monkeypatch))


@contextmanager
def _http_server(routes: dict[str, int]):
    """A real HTTP server on a free port answering `routes` (path -> status), 404 otherwise."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            status = routes.get(self.path, 404)
            body = json.dumps({"namespaces": []} if status == 200 else {"code": status}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _answers(url: str, timeout_s: float = 2.0) -> bool:
    return choose.healthcheck(choose.MarquezTarget(url, "external"), timeout_s)


def test_healthcheck_accepts_a_real_marquez_api_port():
    # Real Marquez answers /healthcheck on its admin port only; its API port answers /api/v1.
    with _http_server({"/api/v1/namespaces": 200}) as url:
        assert _answers(url)
    with _http_server({"/healthcheck": 200}) as url:
        assert _answers(url)
    with _http_server({}) as url:  # an HTTP server that is not a Marquez
        assert not _answers(url)
    started = time.monotonic()
    assert not _answers(f"http://127.0.0.1:{_free_port()}")  # nothing listens
    assert time.monotonic() - started < 3


def test_an_external_marquez_that_does_not_answer_names_marquez_url(monkeypatch):
    url = f"http://127.0.0.1:{_free_port()}"
    monkeypatch.setenv("MARQUEZ_URL", url)
    settings = get_settings()
    with pytest.raises(service.MarquezUnavailable, match=f"MARQUEZ_URL={url}"):
        service.ensure_running(settings)
    assert not service.pid_file(settings).exists()  # nothing was started


def test_an_external_marquez_that_answers_is_used_as_is(monkeypatch):
    with _http_server({"/api/v1/namespaces": 200}) as url:
        monkeypatch.setenv("MARQUEZ_URL", url)
        settings = get_settings()
        target, started = service.ensure_running(settings)
    assert (target.url, target.kind, started) == (url, "external", False)
    assert not service.pid_file(settings).exists()


# --- the built-in server's role and database ------------------------------------------------


def test_role_and_database_are_created_once(postgres, monkeypatch):
    monkeypatch.delenv("MARQUEZ_DB_PASSWORD", raising=False)
    settings = get_settings()
    first = service.ensure_database(settings)
    second = service.ensure_database(settings)  # idempotent: nothing to create the second time
    assert first == second
    assert (first.user, first.dbname, first.host, first.port) == ("marquez", "marquez", postgres.host, postgres.port)

    with psycopg.connect(postgres.with_db("postgres").url, autocommit=True) as admin:
        assert admin.execute("select count(*) from pg_roles where rolname = 'marquez' and rolcanlogin").fetchone() == (
            1,
        )
        owner = admin.execute("select pg_get_userbyid(datdba) from pg_database where datname = 'marquez'").fetchone()
        assert owner == ("marquez",)
    # As owner of its database the role may create its schema (PostgreSQL 15+ no longer lets
    # everyone create in `public`).
    with psycopg.connect(first.url) as conn:
        conn.execute("create table marquez_service_probe (id int)")
        conn.execute("drop table marquez_service_probe")


# --- `lakehouse marquez serve` on an empty database -------------------------------------------


@pytest.fixture
def fresh_marquez_db(settings, postgres):
    """An empty database owned by the role `marquez`, dropped afterwards."""
    role = service.ensure_database(settings)
    name = f"marquez_test_{uuid.uuid4().hex[:10]}"
    admin_url = postgres.with_db("postgres").url
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {} owner marquez").format(sql.Identifier(name)))
    yield role.with_db(name).url
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _wait_for_healthcheck(proc: subprocess.Popen, url: str, log: Path, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the server exited with {proc.returncode}:\n{log.read_text()}"
        if _answers(url, 1):
            return
        time.sleep(0.25)
    raise AssertionError(f"no answer on {url}/healthcheck within {timeout_s}s:\n{log.read_text()}")


def _tables(db_url: str) -> int:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "select count(*) from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')"
        ).fetchone()[0]


def test_lakehouse_marquez_serve_creates_its_schema_and_answers(fresh_marquez_db, tmp_path, monkeypatch):
    for name in ("MARQUEZ_URL", "MARQUEZ_DB_URL", "MARQUEZ_API_KEY", "MARQUEZ_HOST", "MARQUEZ_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert _tables(fresh_marquez_db) == 0
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    command = [
        str(LAKEHOUSE),
        "marquez",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--db-url",
        fresh_marquez_db,
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_healthcheck(proc, url, log)
        status, body = _get(f"{url}/healthcheck")
        assert status == 200
        status, body = _get(f"{url}/api/v1/namespaces")
        assert status == 200, body
        assert isinstance(json.loads(body)["namespaces"], list)
        assert _tables(fresh_marquez_db) > 0, "the server answered without creating its schema"

        proc.send_signal(signal.SIGTERM)  # what `lakehouse down` and service managers send
        proc.wait(timeout=30)
        # uvicorn shuts down gracefully, then re-raises the signal it caught: -SIGTERM is a clean stop.
        assert proc.returncode in (0, -signal.SIGTERM), log.read_text()
        assert "Traceback" not in log.read_text(), log.read_text()
        assert not service.port_is_open("127.0.0.1", port)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_lakehouse_marquez_serve_refuses_a_taken_port(fresh_marquez_db, monkeypatch):
    monkeypatch.delenv("MARQUEZ_URL", raising=False)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = subprocess.run(
            [str(LAKEHOUSE), "marquez", "serve", "--port", str(port), "--db-url", fresh_marquez_db],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 1
    assert f"port {port}" in result.stdout and "taken" in result.stdout


# --- the background server of `lakehouse up` / `down` / `status` -------------------------------


def test_service_starts_the_builtin_server_and_stops_it(postgres, builtin_env):
    port = builtin_env
    settings = get_settings()
    try:
        target, started = service.ensure_running(settings, timeout_s=90)
        assert (target.kind, target.url, started) == ("builtin", f"http://127.0.0.1:{port}", True)
        pid = int(service.pid_file(settings).read_text())
        assert service.running_pid(settings) == pid
        assert os.getpgid(pid) == pid  # its own process group: `down` stops it and only it
        assert service.log_file(settings).exists()
        assert _get(f"{target.url}/api/v1/namespaces")[0] == 200

        # A second `up` finds it running and starts nothing.
        assert service.ensure_running(settings) == (target, False)
        assert service.running_pid(settings) == pid

        assert service.stop(settings) is True
        assert not service.is_running(settings)
        assert not service.pid_file(settings).exists()
        assert not _answers(target.url, 1)
        assert service.stop(settings) is False
    finally:
        service.stop(settings)


def test_service_refuses_a_port_taken_by_something_else(postgres, monkeypatch):
    monkeypatch.delenv("MARQUEZ_URL", raising=False)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        monkeypatch.setenv("MARQUEZ_PORT", str(port))
        settings = get_settings()
        with pytest.raises(service.MarquezUnavailable, match=f"port {port} .*taken by another process.*MARQUEZ_PORT"):
            service.ensure_running(settings)
    assert not service.pid_file(settings).exists()


def test_service_reports_a_server_that_exits_with_its_log(postgres, builtin_env, monkeypatch):
    # A database that does not exist: the server cannot create its schema and must exit.
    missing = postgres.with_db(f"marquez_missing_{uuid.uuid4().hex[:8]}").url
    monkeypatch.setenv("MARQUEZ_DB_URL", missing)
    settings = get_settings()
    try:
        with pytest.raises(service.MarquezUnavailable, match="exited before answering.*marquez.log"):
            service.ensure_running(settings, timeout_s=90)
        assert not service.pid_file(settings).exists()
    finally:
        service.stop(settings)


def test_lakehouse_status_shows_the_chosen_marquez(monkeypatch):
    monkeypatch.delenv("MARQUEZ_URL", raising=False)
    port = _free_port()
    env = {**os.environ, "MARQUEZ_PORT": str(port)}
    result = subprocess.run(
        [str(LAKEHOUSE), "status"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("Marquez"))
    assert "stopped" in line and f"http://127.0.0.1:{port}" in line and "built-in" in line

    with _http_server({"/api/v1/namespaces": 200}) as url:
        env = {**os.environ, "MARQUEZ_URL": url}
        result = subprocess.run(
            [str(LAKEHOUSE), "status"], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    line = next(line for line in result.stdout.splitlines() if line.startswith("Marquez"))
    assert "running" in line and url in line and "MARQUEZ_URL" in line

"""The one Marquez every test uses (loaded from tests/conftest.py through `pytest_plugins`).

Which Marquez, in this order:

1. `MARQUEZ_URL` set: that server, as is ("external"); nothing is started.
2. A Docker engine answers: the real `marquezproject/marquez:0.51.1` with `postgres:14`,
   through testcontainers ("testcontainers").
3. Otherwise the project's built-in server ("builtin"): `python -m marquez serve` on a free
   port, over a fresh database (unique name) in the session's Postgres, its log in a file.

`MARQUEZ_TEST_KIND=builtin|testcontainers` forces a kind (e.g. to test the built-in server
on a machine that has Docker). With `CI=true`, a Marquez that cannot be had is a failure,
never a skip, and a failing container start does not fall back to the built-in server.

Fixtures:
- `marquez_server` (session): a `MarquezServer` (kind, url, what it is);
- `marquez_url` (session): its base URL, e.g. http://127.0.0.1:41234;
- `marquez_kind` (session): "external", "testcontainers" or "builtin";
- `marquez_factory` (session) / `fresh_marquez` (function): start another Marquez with an
  empty store, for tests that count what the store holds. Built-in: a new server on a new
  database; testcontainers: a new container pair; external: impossible (a test there uses
  unique namespaces instead), so it skips, or fails under CI.

The session's terminal summary says which Marquez was used.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

MARQUEZ_IMAGE = "marquezproject/marquez:0.51.1"
MARQUEZ_DB_IMAGE = "postgres:14"
BUILTIN_START_TIMEOUT = float(os.environ.get("MARQUEZ_TEST_START_TIMEOUT", "90"))
CONTAINER_START_TIMEOUT = 300  # first pull of the images plus Marquez's migrations

KINDS = ("external", "testcontainers", "builtin")

_STARTED_KEY = pytest.StashKey[list]()  # every MarquezServer used or started, session's first
_NOTES_KEY = pytest.StashKey[list]()  # fallbacks worth telling the user about


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def unavailable(message: str) -> None:
    """A Marquez cannot be had: fail under CI (never skip there), skip otherwise."""
    if in_ci():
        pytest.fail(f"{message} (CI=true: failing instead of skipping)", pytrace=False)
    pytest.skip(message)


@dataclass
class MarquezServer:
    kind: str  # one of KINDS
    url: str  # base URL, no trailing slash
    description: str  # human-readable: what was started / used
    log_path: Path | None = None
    db_url: str | None = None  # built-in only: its database, for tests that look inside the store
    _stop: Callable[[], None] | None = field(default=None, repr=False)

    def stop(self) -> None:
        if self._stop is not None:
            stop, self._stop = self._stop, None
            stop()


# ---------------------------------------------------------------------------------------
# Docker / testcontainers


def docker_engine_answers(timeout: float = 3.0) -> bool:
    """True when a Docker engine answers a ping (DOCKER_HOST or the default socket); cheap
    and quiet when there is none."""
    try:
        import docker
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def start_marquez_container() -> MarquezServer:
    """Real Marquez 0.51.1 on postgres:14, on a private Docker network.

    The image's entrypoint waits for POSTGRES_HOST:POSTGRES_PORT and runs the server with
    its default config (marquez.dev.yml): API on MARQUEZ_PORT, admin (healthcheck) on
    MARQUEZ_ADMIN_PORT, database `marquez` as user `marquez`/`marquez` (given explicitly
    too), migrations on start, search (OpenSearch) off as in the recordings."""
    from testcontainers.community.postgres import PostgresContainer
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.network import Network
    from testcontainers.core.wait_strategies import HttpWaitStrategy

    network = Network().create()
    db = marquez = None
    try:
        db = (
            PostgresContainer(MARQUEZ_DB_IMAGE, username="marquez", password="marquez", dbname="marquez", driver=None)
            .with_network(network)
            .with_network_aliases("marquez-db")
        )
        db.start()
        marquez = (
            DockerContainer(MARQUEZ_IMAGE)
            .with_network(network)
            .with_exposed_ports(5000, 5001)
            .with_envs(
                MARQUEZ_PORT="5000",
                MARQUEZ_ADMIN_PORT="5001",
                POSTGRES_HOST="marquez-db",
                POSTGRES_PORT="5432",
                POSTGRES_DB="marquez",
                POSTGRES_USER="marquez",
                POSTGRES_PASSWORD="marquez",
                SEARCH_ENABLED="false",
            )
            .waiting_for(
                HttpWaitStrategy(5001, "/healthcheck")
                .for_status_code(200)
                .with_startup_timeout(CONTAINER_START_TIMEOUT)
            )
        )
        marquez.start()
        url = f"http://{marquez.get_container_host_ip()}:{marquez.get_exposed_port(5000)}"
    except BaseException:
        _stop_containers(marquez, db, network)
        raise

    return MarquezServer(
        kind="testcontainers",
        url=url,
        description=f"real {MARQUEZ_IMAGE} on {MARQUEZ_DB_IMAGE} (testcontainers) at {url}",
        _stop=lambda: _stop_containers(marquez, db, network),
    )


def _stop_containers(marquez, db, network) -> None:
    for thing in (marquez, db):
        if thing is not None:
            try:
                thing.stop()
            except Exception:
                pass
    try:
        network.remove()
    except Exception:
        pass


# ---------------------------------------------------------------------------------------
# The built-in server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _log_tail(path: Path, lines: int = 60) -> str:
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines)).rstrip() or "(log is empty)"
    except OSError as exc:
        return f"(no log: {exc})"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthcheck", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _create_database(admin_url: str, dbname: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(dbname)))


def _drop_database(admin_url: str, dbname: str) -> None:
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            try:
                conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(dbname)))
            except psycopg.errors.SyntaxError:  # Postgres < 13
                conn.execute(sql.SQL("drop database if exists {}").format(sql.Identifier(dbname)))
    except Exception:
        pass  # best effort: the session's embedded Postgres is thrown away anyway


def _stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def start_builtin_server(
    postgres,
    log_dir: Path,
    python: str = sys.executable,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
) -> MarquezServer:
    """`python -m marquez serve` on a free port over a new database in `postgres` (a
    PostgresConnection); waits for GET /healthcheck. On failure (the server exits, or is not
    healthy in time), drops the database and raises RuntimeError with the log's tail.
    `extra_env`: more environment for the server (e.g. MARQUEZ_API_KEY, MARQUEZ_MAX_BODY_BYTES).
    `port`: listen there (a test that needs a Marquez to come up where a client already points);
    default a free port."""
    dbname = f"marquez_test_{uuid.uuid4().hex[:10]}"
    admin_url = postgres.with_db("postgres").url
    db_url = postgres.with_db(dbname).url
    _create_database(admin_url, dbname)
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEZ_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra_env or {})

    last_error = ""
    fixed_port = port
    for attempt in range(3):  # a free port can be taken between choosing and binding it
        port = fixed_port or _free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = log_dir / f"{dbname}-{port}.log"
        command = [python, "-m", "marquez", "serve", "--host", "127.0.0.1", "--port", str(port), "--db-url", db_url]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + BUILTIN_START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break
            if _healthy(url):

                def stop(process=process) -> None:
                    _stop_process(process)
                    _drop_database(admin_url, dbname)

                return MarquezServer(
                    kind="builtin",
                    url=url,
                    description=f"built-in server (python -m marquez serve) at {url}, database {dbname}, log {log_path}",
                    log_path=log_path,
                    db_url=db_url,
                    _stop=stop,
                )
            time.sleep(0.2)
        if process.poll() is None:
            _stop_process(process)
            last_error = f"no 200 from {url}/healthcheck within {BUILTIN_START_TIMEOUT:.0f} s"
        else:
            last_error = f"the server exited with code {process.returncode}"
        tail = _log_tail(log_path)
        if "address already in use" in tail.lower() and attempt < 2 and not fixed_port:
            continue
        break
    _drop_database(admin_url, dbname)
    raise RuntimeError(
        f"built-in Marquez did not start: {last_error}\ncommand: {' '.join(command)}\n"
        f"--- last lines of {log_path} ---\n{tail}"
    )


# ---------------------------------------------------------------------------------------
# Choosing, starting and stopping


class MarquezFactory:
    """Starts Marquez servers of one kind and stops them all at the end of its scope."""

    def __init__(self, kind: str, request: pytest.FixtureRequest, log_dir: Path):
        self.kind = kind
        self.request = request
        self.log_dir = log_dir
        self.started: list[MarquezServer] = []

    def start(self) -> MarquezServer:
        if self.kind == "builtin":
            postgres = self.request.getfixturevalue("postgres")
            failure = None
            try:
                server = start_builtin_server(postgres, self.log_dir)
            except RuntimeError as exc:
                failure = str(exc)
            if failure is not None:
                pytest.fail(failure, pytrace=False)
        elif self.kind == "testcontainers":
            server = start_marquez_container()
        else:
            unavailable(
                "this test needs a Marquez with an empty store, and MARQUEZ_URL names a shared one: "
                "unset MARQUEZ_URL to use the built-in server"
            )
        self.started.append(server)
        _record(self.request.config, server)
        return server

    def stop_all(self) -> None:
        """Stop every server; first, each must hold no run of a Dagster run still open."""
        open_runs = []
        while self.started:
            server = self.started.pop()
            open_runs += open_dagster_runs(server.url)
            server.stop()
        assert not open_runs, f"Dagster runs left RUNNING/NEW in Marquez: {open_runs}"


def open_dagster_runs(url: str) -> list[str]:
    """Runs of the `dagster` job (one per Dagster run, lineage/naming.py) that Marquez still holds
    open, in every namespace: a Dagster run whose end never reached Marquez. Tests that leave
    one open on purpose name their job otherwise."""
    import requests

    found = []
    try:
        namespaces = requests.get(f"{url}/api/v1/namespaces", params={"limit": 1000}, timeout=30).json()["namespaces"]
    except requests.ConnectionError:  # a test stopped this server on purpose: nothing to read
        return []
    for namespace in namespaces:
        ns = urllib.request.quote(namespace["name"], safe="")
        response = requests.get(f"{url}/api/v1/namespaces/{ns}/jobs/dagster/runs", params={"limit": 1000}, timeout=30)
        if response.status_code == 404:
            continue
        response.raise_for_status()
        found += [f"{namespace['name']}/dagster run {r['id']} {r['state']}" for r in response.json()["runs"]
                  if r["state"] in ("RUNNING", "NEW")]  # fmt: skip
    return found


def _record(config: pytest.Config, server: MarquezServer) -> None:
    config.stash.setdefault(_STARTED_KEY, []).append(server)


def _choose(request: pytest.FixtureRequest, log_dir: Path) -> MarquezServer:
    forced = os.environ.get("MARQUEZ_TEST_KIND", "").strip().lower()
    if forced and forced not in ("builtin", "testcontainers"):
        pytest.fail(f"MARQUEZ_TEST_KIND must be builtin or testcontainers, not {forced!r}", pytrace=False)
    url = os.environ.get("MARQUEZ_URL", "").strip()
    if url and not forced:
        server = MarquezServer(kind="external", url=url.rstrip("/"), description=f"MARQUEZ_URL={url} (started nothing)")
        _record(request.config, server)
        return server

    if forced == "testcontainers" or (not forced and docker_engine_answers()):
        message = None
        try:
            server = start_marquez_container()
        except Exception as exc:
            message = f"real Marquez through testcontainers did not start: {type(exc).__name__}: {exc}"
        if message is None:
            _record(request.config, server)
            return server
        if in_ci() or forced == "testcontainers":
            pytest.fail(message, pytrace=False)
        request.config.stash.setdefault(_NOTES_KEY, []).append(message + "; using the built-in server")

    failure = None
    try:
        server = start_builtin_server(request.getfixturevalue("postgres"), log_dir)
    except RuntimeError as exc:
        failure = str(exc)
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    _record(request.config, server)
    return server


@pytest.fixture(scope="session")
def marquez_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The session's Marquez (see the module docstring for which one)."""
    server = _choose(request, tmp_path_factory.mktemp("marquez-logs"))
    print(f"\nMarquez for this session: {server.kind}: {server.description}")
    yield server
    try:  # after the whole suite, no Dagster run of ours is left open in the session's Marquez
        open_runs = open_dagster_runs(server.url)
    finally:
        server.stop()
    assert not open_runs, f"Dagster runs left RUNNING/NEW in the session's Marquez: {open_runs}"


@pytest.fixture(scope="session")
def marquez_url(marquez_server: MarquezServer) -> str:
    return marquez_server.url


@pytest.fixture(scope="session")
def marquez_kind(marquez_server: MarquezServer) -> str:
    return marquez_server.kind


@pytest.fixture(scope="session")
def marquez_factory(request: pytest.FixtureRequest, marquez_server: MarquezServer, tmp_path_factory):
    """Start more Marquez servers of the session's kind, each with an empty store; all are
    stopped at the end of the session. Prefer `fresh_marquez` inside a single test."""
    factory = MarquezFactory(marquez_server.kind, request, tmp_path_factory.mktemp("marquez-fresh-logs"))
    yield factory
    factory.stop_all()


@pytest.fixture
def fresh_marquez(request: pytest.FixtureRequest, marquez_server: MarquezServer, tmp_path_factory):
    """A factory: `fresh_marquez()` returns a new MarquezServer with an empty store, stopped
    when the test ends (built-in: new server and database; testcontainers: new containers;
    external MARQUEZ_URL: not possible, so the test skips, or fails under CI)."""
    factory = MarquezFactory(marquez_server.kind, request, tmp_path_factory.mktemp("marquez-fresh-logs"))
    yield factory.start
    factory.stop_all()


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    servers = config.stash.get(_STARTED_KEY, [])
    notes = config.stash.get(_NOTES_KEY, [])
    if not servers and not notes:
        return
    terminalreporter.section("Marquez")
    for note in notes:
        terminalreporter.write_line(f"note: {note}")
    if servers:
        first = servers[0]
        terminalreporter.write_line(f"session Marquez: {first.kind}: {first.description}")
        if len(servers) > 1:
            terminalreporter.write_line(
                f"plus {len(servers) - 1} fresh {first.kind} server(s) for tests needing an empty store"
            )

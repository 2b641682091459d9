"""The official OpenLineage clients, configured as their users configure them, post to a real
built-in server, and every event they send is readable afterwards (jobs, runs, datasets, through
the HTTP API).

- Python (`openlineage-python`, the project's dependency): a config dict in code (plain, gzip, API
  key), a YAML file (OPENLINEAGE_CONFIG; ./openlineage.yml), the simple environment (OPENLINEAGE_URL,
  OPENLINEAGE_API_KEY) and the dynamic one (OPENLINEAGE__TRANSPORT__*), as
  https://openlineage.io/docs/client/python/configuration documents them.
- Java (`io.openlineage:openlineage-java`, jars fetched by `make ol-java` from Maven Central):
  `Clients.newClient()` reading a YAML file (plain) and the OPENLINEAGE__TRANSPORT__* environment
  (gzip + API key), as https://openlineage.io/docs/client/java/configuration documents them.

Each client runs in a process of its own, with an environment and a home and working directory of
its own (nothing of the test's environment configures it). Whether the body really went gzip is
read from the server's `marquez_request_bodies_total{encoding="gzip"}`. Java or its jars missing
is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.marquez_fixture import MarquezServer, start_builtin_server

pytestmark = pytest.mark.marquez

REPO = Path(__file__).resolve().parents[2]
CLIENTS = Path(__file__).resolve().parent / "clients"
JARS = REPO / ".cache" / "openlineage-java" / "jars"
API_KEY = "lineage-key-7f3a9c"  # lower case: the Java client lower-cases environment values
TIMEOUT = 15


@pytest.fixture(scope="module")
def plain(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[MarquezServer]:
    started = start_builtin_server(request.getfixturevalue("postgres"), tmp_path_factory.mktemp("ol-clients"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def keyed(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[MarquezServer]:
    """A server that wants `Authorization: Bearer API_KEY` on /api/v1."""
    started = start_builtin_server(
        request.getfixturevalue("postgres"),
        tmp_path_factory.mktemp("ol-clients-key"),
        extra_env={"MARQUEZ_API_KEY": API_KEY},
    )
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def java_jars() -> Path:
    """The Java client's jars: fetched with `make ol-java` when absent (as `make setup` does)."""
    missing = [tool for tool in ("java", "javac", "mvn", "make") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the Java client test needs {', '.join(missing)} (.ci/run installs them)", pytrace=False)
    if not any(JARS.glob("openlineage-java-*.jar")):
        done = subprocess.run(["make", "ol-java"], cwd=REPO, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"make ol-java failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert any(JARS.glob("openlineage-java-*.jar")), f"no openlineage-java jar in {JARS}"
    return JARS


# -- running a client ---------------------------------------------------------------------------------
def _env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """The test's environment without anything that configures OpenLineage, a home of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENLINEAGE", "MARQUEZ_"))}
    env.update({"HOME": str(home), **extra})
    return env


def _run(command: list[str], home: Path, env: dict[str, str], ok: bool = True) -> subprocess.CompletedProcess:
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(command, cwd=home, env=_env(home, env), capture_output=True, text=True, timeout=120)
    if ok:
        assert done.returncode == 0, (
            f"{command[:3]} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        )
    return done


def python_client(home: Path, namespace: str, run_id: str, *, config: dict | None = None, env: dict | None = None,
                  ok: bool = True) -> subprocess.CompletedProcess:  # fmt: skip
    command = [sys.executable, str(CLIENTS / "emit_events.py"), namespace, run_id]
    if config is not None:
        command += ["--config", json.dumps(config)]
    return _run(command, home, env or {}, ok)


def java_client(jars: Path, home: Path, namespace: str, run_id: str, env: dict) -> subprocess.CompletedProcess:
    command = ["java", "-cp", f"{jars}/*", str(CLIENTS / "EmitEvents.java"), namespace, run_id]
    return _run(command, home, env)


def _settings(done: subprocess.CompletedProcess) -> dict:
    """The transport settings the Python emitter prints first."""
    return json.loads(done.stdout.splitlines()[0])


def _bodies(server: MarquezServer, encoding: str) -> float:
    text = requests.get(f"{server.url}/metrics", timeout=TIMEOUT).text
    found = re.search(rf'^marquez_request_bodies_total{{encoding="{encoding}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


# -- what must be readable ----------------------------------------------------------------------------
def _get(server: MarquezServer, path: str, headers: dict | None = None) -> dict:
    response = requests.get(f"{server.url}/api/v1/{path}", headers=headers, timeout=TIMEOUT)
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:400]}"
    return response.json()


def assert_readable(server: MarquezServer, namespace: str, run_id: str, prefix: str, headers: dict | None = None):
    """Every event the emitter sent is in the model: the job and its run (with facets), its
    datasets (schema, source, column lineage), the static dataset, the declared job, and for the
    Python emitter the child job under its parent."""
    src = f"{namespace}-src"
    job = _get(server, f"namespaces/{namespace}/jobs/{prefix}_job", headers)
    assert job["latestRun"]["id"] == run_id and job["latestRun"]["state"] == "COMPLETED", job["latestRun"]
    assert job["inputs"] == [{"namespace": src, "name": "src_table"}], job["inputs"]
    assert {"namespace": src, "name": "dst_table"} in job["outputs"], job["outputs"]
    assert job["description"] == "copies the readings"
    assert "sql" in job["facets"], job["facets"]
    run = _get(server, f"jobs/runs/{run_id}", headers)
    assert run["state"] == "COMPLETED" and run["durationMs"] == 90_000, run
    # The nominal time, where Marquez 0.51 answers it: the facet and the run's args (its
    # `nominalStartTime` is null even when set; model/json.py run()).
    assert run["facets"]["nominalTime"]["nominalStartTime"], run["facets"]
    assert run["args"].get("nominal_start_time"), run["args"]
    runs = _get(server, f"namespaces/{namespace}/jobs/{prefix}_job/runs", headers)
    assert [r["id"] for r in runs["runs"]] == [run_id]
    out = _get(server, f"namespaces/{src}/datasets/dst_table", headers)
    assert [(f["name"], f["type"]) for f in out["fields"]] == [("reactor_id", "INTEGER"), ("temp", "DOUBLE")]
    assert out["sourceName"] == src, out["sourceName"]
    assert [c["name"] for c in out["columnLineage"] or []] == ["temp"], out["columnLineage"]
    assert _get(server, f"namespaces/{src}/datasets/src_table", headers)["fields"], "input schema lost"
    static = _get(server, f"namespaces/{src}/datasets/static_table", headers)  # the DatasetEvent
    assert [f["name"] for f in static["fields"]] == ["reactor_id", "temp"]
    declared = _get(server, f"namespaces/{namespace}/jobs/{prefix}_declared", headers)  # the JobEvent
    assert declared["inputs"] == [{"namespace": src, "name": "src_table"}], declared
    if prefix == "py":
        child = _get(server, f"namespaces/{namespace}/jobs/py_job.py_task", headers)
        assert child["parentJobName"] == "py_job" and child["latestRun"]["state"] == "COMPLETED", child
        assert _get(server, f"namespaces/{src}/datasets/task_table", headers)["name"] == "task_table"
    graph = requests.get(
        f"{server.url}/api/v1/lineage",
        params={"nodeId": f"job:{namespace}:{prefix}_job", "depth": "2"},
        headers=headers,
        timeout=TIMEOUT,
    ).json()["graph"]
    assert {f"dataset:{src}:src_table", f"dataset:{src}:dst_table"} <= {n["id"] for n in graph}


def _names() -> tuple[str, str]:
    return f"olc-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())


# -- Python ---------------------------------------------------------------------------------------------
def test_python_client_plain(plain, tmp_path):
    ns, run_id = _names()
    before = _bodies(plain, "identity")
    done = python_client(tmp_path, ns, run_id, config={"transport": {"type": "http", "url": plain.url}})
    assert _settings(done) == {"kind": "http", "url": plain.url, "compression": "None", "auth": "TokenProvider"}
    assert _bodies(plain, "identity") - before >= 6
    assert_readable(plain, ns, run_id, "py")


def test_python_client_gzip(plain, tmp_path):
    ns, run_id = _names()
    before = _bodies(plain, "gzip")
    config = {"transport": {"type": "http", "url": plain.url, "compression": "gzip"}}
    assert _settings(python_client(tmp_path, ns, run_id, config=config))["compression"] == "gzip"
    assert _bodies(plain, "gzip") - before == 6, "the client's bodies did not arrive gzip-encoded"
    assert_readable(plain, ns, run_id, "py")


def test_python_client_api_key(keyed, tmp_path):
    ns, run_id = _names()
    auth = {"type": "api_key", "apiKey": API_KEY}
    done = python_client(tmp_path, ns, run_id, config={"transport": {"type": "http", "url": keyed.url, "auth": auth}})
    assert _settings(done)["auth"] == "ApiKeyTokenProvider"
    assert_readable(keyed, ns, run_id, "py", headers={"Authorization": f"Bearer {API_KEY}"})
    assert requests.get(f"{keyed.url}/api/v1/namespaces/{ns}", timeout=TIMEOUT).status_code == 401


def test_python_client_with_a_wrong_key_fails_and_stores_nothing(keyed, tmp_path):
    ns, run_id = _names()
    config = {"transport": {"type": "http", "url": keyed.url, "auth": {"type": "api_key", "apiKey": "wrong"}}}
    done = python_client(tmp_path, ns, run_id, config=config, ok=False)
    assert done.returncode != 0 and "401" in done.stderr, done.stderr[-2000:]
    headers = {"Authorization": f"Bearer {API_KEY}"}
    assert requests.get(f"{keyed.url}/api/v1/namespaces/{ns}", headers=headers, timeout=TIMEOUT).status_code == 404


def test_python_client_from_a_yaml_file_gzip_and_key(keyed, tmp_path):
    """OPENLINEAGE_CONFIG naming an openlineage.yml with all three: url, compression, api_key."""
    ns, run_id = _names()
    config = tmp_path / "conf" / "openlineage.yml"
    config.parent.mkdir()
    config.write_text(
        "transport:\n"
        "  type: http\n"
        f"  url: {keyed.url}\n"
        "  compression: gzip\n"
        "  auth:\n"
        "    type: api_key\n"
        f"    apiKey: {API_KEY}\n"
    )
    before = _bodies(keyed, "gzip")
    done = python_client(tmp_path / "home", ns, run_id, env={"OPENLINEAGE_CONFIG": str(config)})
    assert _settings(done)["compression"] == "gzip" and _settings(done)["auth"] == "ApiKeyTokenProvider"
    assert _bodies(keyed, "gzip") - before == 6
    assert_readable(keyed, ns, run_id, "py", headers={"Authorization": f"Bearer {API_KEY}"})


def test_python_client_from_openlineage_yml_in_the_working_directory(plain, tmp_path):
    ns, run_id = _names()
    (tmp_path / "openlineage.yml").write_text(f"transport:\n  type: http\n  url: {plain.url}\n")
    assert _settings(python_client(tmp_path, ns, run_id))["url"] == plain.url
    assert_readable(plain, ns, run_id, "py")


def test_python_client_from_openlineage_url_and_api_key(keyed, tmp_path):
    """The simplest environment: OPENLINEAGE_URL and OPENLINEAGE_API_KEY."""
    ns, run_id = _names()
    done = python_client(tmp_path, ns, run_id, env={"OPENLINEAGE_URL": keyed.url, "OPENLINEAGE_API_KEY": API_KEY})
    assert _settings(done)["auth"] == "ApiKeyTokenProvider"
    assert_readable(keyed, ns, run_id, "py", headers={"Authorization": f"Bearer {API_KEY}"})


def test_python_client_from_dynamic_environment_gzip_and_key(keyed, tmp_path):
    """OPENLINEAGE__TRANSPORT__*: the nested config, one variable per key."""
    ns, run_id = _names()
    env = {
        "OPENLINEAGE__TRANSPORT__TYPE": "http",
        "OPENLINEAGE__TRANSPORT__URL": keyed.url,
        "OPENLINEAGE__TRANSPORT__COMPRESSION": "gzip",
        "OPENLINEAGE__TRANSPORT__AUTH__TYPE": "api_key",
        "OPENLINEAGE__TRANSPORT__AUTH__APIKEY": API_KEY,
    }
    before = _bodies(keyed, "gzip")
    done = python_client(tmp_path, ns, run_id, env=env)
    assert _settings(done)["compression"] == "gzip" and _settings(done)["auth"] == "ApiKeyTokenProvider"
    assert _bodies(keyed, "gzip") - before == 6
    assert_readable(keyed, ns, run_id, "py", headers={"Authorization": f"Bearer {API_KEY}"})


# -- Java -----------------------------------------------------------------------------------------------
def test_java_client_plain_from_a_yaml_file(plain, java_jars, tmp_path):
    ns, run_id = _names()
    config = tmp_path / "openlineage.yml"
    config.write_text(f"transport:\n  type: http\n  url: {plain.url}\n")
    before = _bodies(plain, "identity")
    java_client(java_jars, tmp_path, ns, run_id, {"OPENLINEAGE_CONFIG": str(config)})
    assert _bodies(plain, "identity") - before >= 4
    assert_readable(plain, ns, run_id, "java")


def test_java_client_gzip_and_key_from_the_environment(keyed, java_jars, tmp_path):
    ns, run_id = _names()
    env = {
        "OPENLINEAGE__TRANSPORT__TYPE": "http",
        "OPENLINEAGE__TRANSPORT__URL": keyed.url,
        "OPENLINEAGE__TRANSPORT__COMPRESSION": "gzip",
        "OPENLINEAGE__TRANSPORT__AUTH__TYPE": "api_key",
        "OPENLINEAGE__TRANSPORT__AUTH__API_KEY": API_KEY,
    }
    before = _bodies(keyed, "gzip")
    java_client(java_jars, tmp_path, ns, run_id, env)
    assert _bodies(keyed, "gzip") - before == 4, "the Java client's bodies did not arrive gzip-encoded"
    assert_readable(keyed, ns, run_id, "java", headers={"Authorization": f"Bearer {API_KEY}"})

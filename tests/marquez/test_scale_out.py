"""Scale-out: two servers, each with its projector, on one Postgres. Four clients post runs to
both at once (shared namespaces, sources and input datasets, so the projectors upsert the same
rows side by side); every acknowledged event ends up in the model, with no projection error, and
both servers read the same model."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest
import requests

from tests.marquez.support import dataset, get_json, run_event, unique
from tests.marquez_fixture import (
    REPO_ROOT,
    _create_database,
    _drop_database,
    _free_port,
    _healthy,
    _stop_process,
    unavailable,
)

pytestmark = pytest.mark.marquez

CLIENTS, RUNS_PER_CLIENT = 4, 40


@pytest.fixture
def two_servers(request, tmp_path):
    postgres = request.getfixturevalue("postgres")
    dbname = f"marquez_scale_{uuid.uuid4().hex[:10]}"
    admin_url = postgres.with_db("postgres").url
    _create_database(admin_url, dbname)
    db_url = postgres.with_db(dbname).url
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEZ_")}
    started: list[tuple[str, subprocess.Popen]] = []
    try:
        for i in range(2):
            port = _free_port()
            log = (tmp_path / f"server-{i}.log").open("wb")
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "marquez",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--db-url",
                    db_url,
                ],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            url = f"http://127.0.0.1:{port}"
            started.append((url, process))
            deadline = time.monotonic() + 60
            while not _healthy(url):  # the second one finds the schema migrated (or migrates it alongside)
                assert process.poll() is None and time.monotonic() < deadline, (
                    tmp_path / f"server-{i}.log"
                ).read_text()[-3000:]
                time.sleep(0.2)
        yield [url for url, _ in started], db_url, [process for _, process in started]
    finally:
        for _, process in started:
            _stop_process(process)
        _drop_database(admin_url, dbname)


def test_two_servers_and_two_projectors_on_one_postgres(two_servers):
    (first, second), db_url, _ = two_servers
    ns = unique("scale")
    shared = [
        dataset(ns, f"raw.shared_{k}", [("id", "INT"), ("v", "DOUBLE")], source=("pg", "postgres://h:5432"))
        for k in range(3)
    ]
    failures: list[str] = []

    def client(c: int) -> None:
        sessions = [requests.Session(), requests.Session()]
        for i in range(RUNS_PER_CLIENT):
            run_id = str(uuid.uuid4())
            out = dataset(ns, f"mart.out_{c}_{i}", [("id", "INT")], source=("pg", "postgres://h:5432"))
            for n, kind in enumerate(("START", "COMPLETE")):
                event = run_event(kind, namespace=ns, job=f"job_{c}_{i % 10}", run_id=run_id,
                                  event_time=f"2025-03-09T00:{i % 60:02d}:{n:02d}Z", inputs=shared, outputs=[out])  # fmt: skip
                url = (first, second)[(c + i + n) % 2]  # START and COMPLETE of a run through different servers
                response = sessions[(c + i + n) % 2].post(f"{url}/api/v1/lineage", json=event, timeout=30)
                if response.status_code != 201:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:5]

    for url in (first, second):
        jobs = get_json(url, f"/namespaces/{ns}/jobs", {"limit": 1000})
        assert jobs["totalCount"] == CLIENTS * 10
        datasets = get_json(url, f"/namespaces/{ns}/datasets", {"limit": 1000})
        assert datasets["totalCount"] == 3 + CLIENTS * RUNS_PER_CLIENT
    with psycopg.connect(db_url) as conn:
        (stored,) = conn.execute("SELECT count(*) FROM lineage_events").fetchone()
        errors = conn.execute(
            "SELECT projection_error FROM lineage_events WHERE projection_error IS NOT NULL"
        ).fetchall()
        states = dict(conn.execute("SELECT state, count(*) FROM runs GROUP BY 1").fetchall())
    assert stored == 2 * CLIENTS * RUNS_PER_CLIENT
    assert errors == [], errors[:3]
    assert states == {"COMPLETED": CLIENTS * RUNS_PER_CLIENT}, states
    assert requests.get(f"{first}/healthcheck", timeout=10).json()["status"] == "ok"


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PROXY_CONF = REPO_ROOT / "compose" / "marquez-proxy" / "nginx.conf"


@pytest.fixture
def proxy(two_servers, tmp_path):
    """compose/marquez-proxy/nginx.conf, run by nginx in front of the two servers (the compose
    service names replaced by their local addresses)."""
    if not os.path.exists(NGINX):
        unavailable("no nginx (Debian: apt-get install nginx-light; .ci/run installs it)")
    (first, second), db_url, processes = two_servers
    port = _free_port()
    site = PROXY_CONF.read_text()
    for name, url in (("marquez-1:5000", first), ("marquez-2:5000", second)):
        assert name in site
        site = site.replace(name, url.removeprefix("http://"))
    assert "listen 5000;" in site
    (tmp_path / "site.conf").write_text(site.replace("listen 5000;", f"listen 127.0.0.1:{port};"))
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / d).mkdir()
    temp = " ".join(f"{d}_temp_path {tmp_path / d};" for d in ("fastcgi", "uwsgi", "scgi"))
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'}; error_log {tmp_path / 'error.log'} warn; events {{}}\n"
        f"http {{ access_log off; client_body_temp_path {tmp_path / 'body'}; proxy_temp_path {tmp_path / 'proxy'};"
        f" {temp} include {tmp_path / 'site.conf'}; }}\n"
    )
    process = subprocess.Popen([NGINX, "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path), "-g", "daemon off;"])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not _healthy(url):
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "error.log").read_text()
            time.sleep(0.1)
        yield url, db_url, processes
    finally:
        _stop_process(process)


def test_the_compose_proxy_keeps_every_event_when_a_replica_is_killed(proxy):
    """Clients post through the proxy; one replica (server and projector) gets SIGKILL half way.
    Every event is acknowledged (the proxy sends the dead replica's share to the other), stored
    once, applied without error, and read back through the proxy."""
    url, db_url, processes = proxy
    ns, clients, runs = unique("proxied"), 3, 30
    failures: list[str] = []
    acknowledged: list[int] = []

    def client(c: int) -> None:
        session = requests.Session()
        for i in range(runs):
            run_id = str(uuid.uuid4())
            out = dataset(ns, f"out_{c}_{i}", [("id", "INT")])
            for n, kind in enumerate(("START", "COMPLETE")):
                event = run_event(kind, namespace=ns, job=f"job_{c}_{i}", run_id=run_id,
                                  event_time=f"2025-03-09T00:{i % 60:02d}:{n:02d}Z", outputs=[out])  # fmt: skip
                response = session.post(f"{url}/api/v1/lineage", json=event, timeout=60)
                if response.status_code in (200, 201):
                    acknowledged.append(1)
                else:
                    failures.append(f"{response.status_code} {response.text[:200]}")

    threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < clients * runs and time.monotonic() < deadline:  # half of the events
        time.sleep(0.005)
    processes[1].kill()  # SIGKILL mid-load, requests in flight: its projector follows (PR_SET_PDEATHSIG)
    processes[1].wait()
    for t in threads:
        t.join()
    assert not failures, failures[:5]
    # The surviving projector applies what the killed one had claimed once Postgres has rolled that
    # transaction back: give it a minute (a read waits 10 s at most).
    deadline, pending = time.monotonic() + 60, -1
    while pending and time.monotonic() < deadline:
        with psycopg.connect(db_url) as conn:
            pending = conn.execute("SELECT count(*) FROM lineage_events WHERE projected_at IS NULL").fetchone()[0]
        time.sleep(0.2)
    assert pending == 0, f"{pending} events still pending a minute after the kill"
    response = requests.get(f"{url}/api/v1/namespaces/{ns}/jobs", params={"limit": 1000}, timeout=60)
    jobs = response.json()
    assert jobs["totalCount"] == clients * runs, dict(response.headers)
    assert {j["latestRun"]["state"] for j in jobs["jobs"]} == {"COMPLETED"}
    with psycopg.connect(db_url) as conn:
        stored, distinct, unapplied, errors = conn.execute(
            "SELECT count(*), count(DISTINCT (run_uuid, event_type)), count(*) FILTER (WHERE projected_at IS NULL),"
            " count(projection_error) FROM lineage_events WHERE job_namespace = %s",
            (ns,),
        ).fetchone()
    assert (stored, distinct, unapplied, errors) == (2 * clients * runs, 2 * clients * runs, 0, 0)

"""Scale-out: two servers, each with its projector, on one Postgres. Four clients post runs to
both at once (shared namespaces, sources and input datasets, so the projectors upsert the same
rows side by side); every acknowledged event ends up in the model, with no projection error, and
both servers read the same model."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest
import requests

from tests.marquez.support import dataset, get_json, run_event, unique
from tests.marquez_fixture import REPO_ROOT, _create_database, _drop_database, _free_port, _healthy, _stop_process

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
        yield [url for url, _ in started], db_url
    finally:
        for _, process in started:
            _stop_process(process)
        _drop_database(admin_url, dbname)


def test_two_servers_and_two_projectors_on_one_postgres(two_servers):
    (first, second), db_url = two_servers
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

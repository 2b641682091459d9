"""The projector applies a batch of events at once (no savepoint per event, statements pipelined)
and, when one event of the batch fails, the whole batch again one event per savepoint: the bad
event keeps its error, the others before and after it in the same batch are applied."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from marquez.model.events import parse
from marquez.storage.db import open_pool
from marquez.storage.ingest import store_event
from marquez.storage.migrations import migrate
from marquez.storage.projector import Projector
from tests.marquez.support import dataset, run_event, unique
from tests.marquez.test_projection_errors import _store_unprojectable
from tests.marquez_fixture import REPO_ROOT, _create_database, _drop_database

pytestmark = pytest.mark.marquez


@pytest.fixture
def db_url(request):
    postgres = request.getfixturevalue("postgres")
    dbname = f"marquez_batch_{uuid.uuid4().hex[:10]}"
    admin_url = postgres.with_db("postgres").url
    _create_database(admin_url, dbname)
    try:
        url = postgres.with_db(dbname).url
        migrate(url)
        yield url
    finally:
        _drop_database(admin_url, dbname)


def _events(ns: str) -> list[dict]:
    fields = [("id", "INTEGER"), ("name", "VARCHAR")]
    out = []
    for job in ("first", "second"):
        run_id = str(uuid.uuid4())
        for kind, at in (("START", "2025-03-09T00:00:00Z"), ("COMPLETE", "2025-03-09T00:01:00Z")):
            out.append(
                run_event(
                    kind,
                    namespace=ns,
                    job=job,
                    run_id=run_id,
                    event_time=at,
                    inputs=[dataset(ns, "raw", fields)],
                    outputs=[dataset(ns, f"{job}_out", fields)],
                )
            )
    return out


def test_a_bad_event_in_a_batch_blocks_no_other(db_url):
    ns = unique("batch")
    first, second = _events(ns)[:2], _events(ns)[2:]
    pool = open_pool(db_url, 2)
    try:
        with pool.connection() as conn:
            conn.autocommit = True
            for event in first:
                store_event(conn, parse(event))
        _store_unprojectable(db_url)  # between the good events, in the same batch
        with pool.connection() as conn:
            conn.autocommit = True
            for event in second:
                store_event(conn, parse(event))
        assert Projector(pool, db_url).run_once() == 5  # one batch
        with pool.connection() as conn:
            rows = conn.execute(
                "SELECT job_name, event_type, projected_at IS NOT NULL AS applied, projection_error"
                " FROM lineage_events ORDER BY id"
            ).fetchall()
            assert all(r["applied"] for r in rows)
            assert [r["projection_error"] is not None for r in rows] == [False, False, True, False, False]
            runs = conn.execute(
                "SELECT j.name, r.state FROM runs r JOIN jobs j ON j.uuid = r.job_uuid WHERE j.namespace_name = %s"
                " ORDER BY j.name",
                (ns,),
            ).fetchall()
            assert [(r["name"], r["state"]) for r in runs] == [("first", "COMPLETED"), ("second", "COMPLETED")]
            versions = conn.execute(
                "SELECT count(*) AS n FROM job_versions v JOIN jobs j ON j.uuid = v.job_uuid WHERE j.namespace_name = %s",
                (ns,),
            ).fetchone()
            assert versions["n"] == 2
    finally:
        pool.close()


def test_a_batch_without_a_bad_event_is_applied_whole(db_url):
    ns = unique("batch")
    pool = open_pool(db_url, 2)
    try:
        with pool.connection() as conn:
            conn.autocommit = True
            for event in _events(ns):
                store_event(conn, parse(event))
        assert Projector(pool, db_url).run_once() == 4
        with pool.connection() as conn:
            fields = conn.execute(
                "SELECT d.name, count(f.*) AS n FROM datasets d JOIN dataset_fields f ON f.dataset_uuid = d.uuid"
                " WHERE d.namespace_name = %s GROUP BY d.name ORDER BY d.name",
                (ns,),
            ).fetchall()
            assert [(r["name"], r["n"]) for r in fields] == [("first_out", 2), ("raw", 2), ("second_out", 2)]
            mapped = conn.execute(
                "SELECT v.mapped_fields FROM dataset_versions v JOIN datasets d ON d.uuid = v.dataset_uuid"
                " WHERE d.namespace_name = %s AND d.name = 'first_out'",
                (ns,),
            ).fetchall()
            assert [sorted(r["mapped_fields"]) for r in mapped] == [["id", "name"]]
            assert (
                conn.execute("SELECT count(*) AS n FROM lineage_events WHERE projection_error IS NOT NULL").fetchone()[
                    "n"
                ]
                == 0
            )
    finally:
        pool.close()


def test_a_burst_of_sigterms_stops_the_projector_mid_load(db_url, tmp_path):
    """The projector stops on SIGTERM even when several arrive at once (the dying server's
    PR_SET_PDEATHSIG and its own stop): a stop that took a lock in the signal handler once hung a
    projector mid-batch for ever, holding row locks every other projector then waited on."""
    pool = open_pool(db_url, 2)
    try:
        with pool.connection() as conn:
            for raw in _events(unique("sigterm")):
                store_event(conn, parse(raw))
            conn.commit()
    finally:
        pool.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MARQUEZ_")}
    for attempt in range(2):
        process = subprocess.Popen(
            [sys.executable, "-m", "marquez", "project"], cwd=REPO_ROOT, env={**env, "MARQUEZ_DB_URL": db_url}
        )
        time.sleep(1.0 + attempt * 0.1)  # started, working or idle
        try:  # as fast as they can be sent: some arrive while the handler runs
            for _ in range(20_000):
                os.kill(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"the projector did not stop after a burst of SIGTERM (attempt {attempt + 1})")


NESTED_STOP = """
import os, signal, sys
from marquez.storage.projector import Projector

projector = Projector(None, "unused")
budget = [20]

def tracer(frame, event, arg):
    # A SIGUSR1 at each of the first lines run inside stop(): its handler (stop() again) runs
    # nested, at whatever point the outer stop() has reached, as a second SIGTERM would.
    if event == "line" and budget[0] > 0:
        budget[0] -= 1
        os.kill(os.getpid(), signal.SIGUSR1)
    return tracer

signal.signal(signal.SIGUSR1, lambda *_: projector.stop())
sys.settrace(tracer)
projector.stop()
sys.settrace(None)
print("stopped")
"""


def test_stop_is_safe_when_a_signal_arrives_inside_its_own_handler():
    """Deterministic form of the hang above: stop() re-entered from a signal handler at every line
    it runs. A stop() that took a lock (threading.Event.set) waited for itself for ever."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", NESTED_STOP], cwd=REPO_ROOT, capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired:
        pytest.fail("stop() hung when re-entered from a signal handler")
    assert done.returncode == 0 and done.stdout.strip() == "stopped", done.stderr

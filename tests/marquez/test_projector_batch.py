"""The projector applies a batch of events at once (no savepoint per event, statements pipelined)
and, when one event of the batch fails, the whole batch again one event per savepoint: the bad
event keeps its error, the others before and after it in the same batch are applied."""

from __future__ import annotations

import uuid

import pytest

from marquez.model.events import parse
from marquez.storage.db import open_pool
from marquez.storage.ingest import store_event
from marquez.storage.migrations import migrate
from marquez.storage.projector import Projector
from tests.marquez.support import dataset, run_event, unique
from tests.marquez.test_projection_errors import _store_unprojectable
from tests.marquez_fixture import _create_database, _drop_database

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

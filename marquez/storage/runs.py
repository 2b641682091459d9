"""Queries on `runs`, their inputs and outputs (`run_io`) and the job versions they ran."""

from __future__ import annotations

import uuid


def get(conn, run_id: uuid.UUID) -> dict | None:
    return conn.execute("SELECT * FROM runs WHERE uuid = %s", (run_id,)).fetchone()


def by_ids(conn, ids: list) -> list[dict]:
    return conn.execute("SELECT * FROM runs WHERE uuid = ANY(%s)", (ids,)).fetchall()


def facets(conn, run_id: uuid.UUID) -> dict | None:
    return conn.execute("SELECT facets, job_facets FROM runs WHERE uuid = %s", (run_id,)).fetchone()


def io(conn, run_ids: list) -> list[dict]:
    """The dataset versions each run read or wrote, in the order the events named them."""
    return conn.execute(
        # Under the names they were written with (a symlink's too), as Marquez lists them.
        "SELECT io.run_uuid, io.is_input, io.facets, COALESCE(v.namespace_name, d.namespace_name) AS namespace_name,"
        " COALESCE(v.name, d.name) AS name, v.version FROM run_io io"
        " JOIN dataset_versions v ON v.uuid = io.dataset_version_uuid JOIN datasets d ON d.uuid = v.dataset_uuid"
        " WHERE io.run_uuid = ANY(%s) ORDER BY io.seq",
        (run_ids,),
    ).fetchall()


def job_versions(conn, ids: list) -> list[dict]:
    """The job versions (uuid, version, job's namespace and name) runs ran."""
    return conn.execute(
        "SELECT jv.uuid, jv.version, j.namespace_name, j.name FROM job_versions jv JOIN jobs j ON j.uuid = jv.job_uuid"
        " WHERE jv.uuid = ANY(%s)",
        (ids,),
    ).fetchall()


def of_job(conn, job_uuid: uuid.UUID, limit: int, offset: int) -> list[dict]:
    return conn.execute(
        "SELECT * FROM runs WHERE job_uuid = %s ORDER BY created_at DESC, seq DESC LIMIT %s OFFSET %s",
        (job_uuid, limit, offset),
    ).fetchall()


def count_of_job(conn, job_uuid: uuid.UUID) -> int:
    return conn.execute("SELECT count(*) AS n FROM runs WHERE job_uuid = %s", (job_uuid,)).fetchone()["n"]


def latest_of_jobs(conn, job_ids: list, per_job: int) -> list[dict]:
    """The latest `per_job` runs of each job, `rn` 1 the latest: one query for a whole page."""
    return conn.execute(
        "SELECT * FROM (SELECT r.*, row_number() OVER (PARTITION BY r.job_uuid ORDER BY r.created_at DESC, r.seq DESC)"
        " AS rn FROM runs r WHERE r.job_uuid = ANY(%s)) x WHERE rn <= %s",
        (job_ids, per_job),
    ).fetchall()

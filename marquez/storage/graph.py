"""Queries the `/lineage` walk makes on `job_io`: each job's current version's inputs and outputs.

Set-based (one query per hop for any number of jobs): fast on large stores because it never
touches runs or versions the answer does not show.
"""

from __future__ import annotations

import uuid


def jobs_of_dataset(conn, dataset_uuid: uuid.UUID) -> set:
    return {r["job_uuid"] for r in conn.execute("SELECT job_uuid FROM job_io WHERE dataset_uuid = %s", (dataset_uuid,))}


def neighbours(conn, job_ids: list) -> set:
    """The jobs that share a dataset (as input or output) with these jobs, these included."""
    return {
        r["job_uuid"]
        for r in conn.execute(
            "SELECT DISTINCT b.job_uuid FROM job_io a JOIN job_io b ON b.dataset_uuid = a.dataset_uuid"
            " WHERE a.job_uuid = ANY(%s)",
            (job_ids,),
        )
    }


def io(conn, job_ids: list) -> list[dict]:
    """(job_uuid, dataset_uuid, is_input) of every edge of these jobs, hidden datasets included."""
    return conn.execute(
        "SELECT job_uuid, dataset_uuid, is_input FROM job_io WHERE job_uuid = ANY(%s)", (job_ids,)
    ).fetchall()

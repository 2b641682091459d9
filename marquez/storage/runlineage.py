"""The upstream run lineage query: a run, the dataset versions it read, the runs that wrote those
versions, and so on up to a depth (Marquez's LineageDao.getUpstreamRuns, on this schema)."""

from __future__ import annotations

import uuid

UPSTREAM_RUNS = """
WITH RECURSIVE upstream (r_uuid, dataset_version_uuid, u_r_uuid, depth) AS (
    -- the run's inputs (one row with no dataset when it read none)
    SELECT r.uuid, dv.uuid, dv.run_uuid, 0
    FROM (SELECT %(run)s::uuid AS uuid) r
    LEFT JOIN run_io io ON io.run_uuid = r.uuid AND io.is_input
    LEFT JOIN dataset_versions dv ON dv.uuid = io.dataset_version_uuid
  UNION
    -- the inputs of the runs that wrote those versions, one level further each time
    SELECT u.u_r_uuid, dv.uuid, dv.run_uuid, u.depth + 1
    FROM upstream u
    LEFT JOIN run_io io ON io.run_uuid = u.u_r_uuid AND io.is_input
    LEFT JOIN dataset_versions dv ON dv.uuid = io.dataset_version_uuid
    WHERE u.u_r_uuid IS NOT NULL AND u.u_r_uuid <> u.r_uuid AND u.depth < %(depth)s
)
SELECT * FROM (
    -- a diamond reaches a (run, version) pair more than once
    SELECT DISTINCT ON (u.r_uuid, u.dataset_version_uuid, u.u_r_uuid)
        u.r_uuid, u.u_r_uuid, u.depth,
        r.started_at, r.ended_at, r.state, r.job_version_uuid,
        j.namespace_name AS job_namespace, j.name AS job_name,
        d.namespace_name AS dataset_namespace, d.name AS dataset_name, dv.version AS dataset_version
    FROM upstream u
    JOIN runs r ON r.uuid = u.r_uuid
    JOIN jobs j ON j.uuid = r.job_uuid
    LEFT JOIN dataset_versions dv ON dv.uuid = u.dataset_version_uuid
    LEFT JOIN datasets d ON d.uuid = dv.dataset_uuid
    ORDER BY u.r_uuid, u.dataset_version_uuid, u.u_r_uuid, u.depth
) found
ORDER BY depth, job_name, dataset_namespace, dataset_name
"""


def upstream_runs(conn, run: uuid.UUID, depth: int) -> list[dict]:
    return conn.execute(UPSTREAM_RUNS, {"run": run, "depth": depth}).fetchall()


def run_exists(conn, run: uuid.UUID) -> bool:
    return conn.execute("SELECT 1 FROM runs WHERE uuid = %s", (run,)).fetchone() is not None

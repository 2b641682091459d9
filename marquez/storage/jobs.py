"""Queries on `jobs`, their inputs and outputs (`job_io`), tags and versions (`job_versions`)."""

from __future__ import annotations

import uuid


def row(conn, namespace: str, name: str) -> dict | None:
    return conn.execute(
        "SELECT * FROM jobs WHERE namespace_name = %s AND name = %s AND NOT is_hidden", (namespace, name)
    ).fetchone()


def uuid_of(conn, namespace: str, name: str) -> uuid.UUID | None:
    found = conn.execute(
        "SELECT uuid FROM jobs WHERE namespace_name = %s AND name = %s AND NOT is_hidden", (namespace, name)
    ).fetchone()
    return found["uuid"] if found else None


def by_ids(conn, ids: list) -> list[dict]:
    return conn.execute("SELECT * FROM jobs WHERE uuid = ANY(%s) AND NOT is_hidden", (ids,)).fetchall()


def page(conn, namespace: str | None, limit: int, offset: int, states: list[str] | None) -> list[dict]:
    """Visible jobs, latest updated first; `states`: only those whose latest run is in one."""
    where: list[str] = ["NOT j.is_hidden"]
    params: list[object] = []
    if namespace is not None:
        where.append("j.namespace_name = %s")
        params.append(namespace)
    if states:
        where.append(
            "(SELECT coalesce(r.state, 'NEW') FROM runs r WHERE r.job_uuid = j.uuid"
            " ORDER BY r.created_at DESC, r.seq DESC LIMIT 1) = ANY(%s)"
        )
        params.append(states)
    return conn.execute(
        f"SELECT j.* FROM jobs j WHERE {' AND '.join(where)} ORDER BY j.updated_at DESC, j.name LIMIT %s OFFSET %s",
        (*params, limit, offset),
    ).fetchall()


def count(conn, namespace: str | None) -> int:
    # Marquez counts the jobs before the lastRunStates filter; so do we, for compatibility.
    if namespace is None:
        return conn.execute("SELECT count(*) AS n FROM jobs j WHERE NOT j.is_hidden").fetchone()["n"]
    return conn.execute(
        "SELECT count(*) AS n FROM jobs j WHERE NOT j.is_hidden AND j.namespace_name = %s", (namespace,)
    ).fetchone()["n"]


def io(conn, job_ids: list) -> list[dict]:
    """The visible datasets each job's current version reads (is_input) or writes."""
    return conn.execute(
        "SELECT io.job_uuid, io.is_input, d.namespace_name, d.name FROM job_io io JOIN datasets d ON d.uuid = io.dataset_uuid"
        " WHERE io.job_uuid = ANY(%s) AND NOT d.is_hidden ORDER BY d.namespace_name, d.name",
        (job_ids,),
    ).fetchall()


def version_io(conn, job_ids: list) -> list[dict]:
    """The visible datasets each job's current version reads (is_input) or writes, whether or not
    /lineage still shows them (`job_io`); a dataset under each of its names, its symlinks too
    (JobVersionDao.findCurrentInputOutputDatasetsFor reads datasets_view)."""
    return conn.execute(
        "SELECT j.uuid AS job_uuid, x.is_input, n.namespace_name, n.name FROM jobs j"
        " JOIN job_versions v ON v.uuid = j.current_version_uuid,"
        " LATERAL (SELECT TRUE, e FROM jsonb_array_elements(v.inputs) e"
        "   UNION ALL SELECT FALSE, e FROM jsonb_array_elements(v.outputs) e) AS x(is_input, e)"
        " JOIN datasets d ON d.namespace_name = x.e->>0 AND d.name = x.e->>1,"
        " LATERAL (SELECT d.namespace_name, d.name UNION ALL"
        "   SELECT s.namespace_name, s.name FROM dataset_symlinks s WHERE s.dataset_uuid = d.uuid) AS n(namespace_name, name)"
        " WHERE j.uuid = ANY(%s) AND NOT d.is_hidden ORDER BY n.namespace_name, n.name",
        (job_ids,),
    ).fetchall()


def tags(conn, ids: list) -> list[dict]:
    """(job_uuid, name) of each tag on the jobs, by name."""
    return conn.execute(
        "SELECT jt.job_uuid, t.name FROM job_tags jt JOIN tags t ON t.uuid = jt.tag_uuid WHERE jt.job_uuid = ANY(%s)"
        " ORDER BY t.name",
        (ids,),
    ).fetchall()


def versions_page(conn, job_uuid: uuid.UUID, limit: int, offset: int) -> list[dict]:
    return conn.execute(
        "SELECT * FROM job_versions WHERE job_uuid = %s ORDER BY created_at DESC LIMIT %s OFFSET %s",
        (job_uuid, limit, offset),
    ).fetchall()


def version(conn, job_uuid: uuid.UUID, version: uuid.UUID) -> dict | None:
    return conn.execute(
        "SELECT * FROM job_versions WHERE job_uuid = %s AND version = %s", (job_uuid, version)
    ).fetchone()


def hide(conn, namespace: str, name: str) -> None:
    conn.execute("UPDATE jobs SET is_hidden = TRUE WHERE namespace_name = %s AND name = %s", (namespace, name))

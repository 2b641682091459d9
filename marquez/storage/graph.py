"""`/lineage` and `/column-lineage`: graphs around a node, from each job's current version.

The walk is breadth-first over jobs (depth = job hops), through the datasets each job's
current version reads or writes, in a handful of set-based queries per hop: fast on large
stores because it never touches runs or versions it does not return.
"""

from __future__ import annotations

from collections import defaultdict

from marquez.model import json as js
from marquez.storage import reads


class NodeNotFound(Exception):
    pass


def parse_node_id(node_id: str) -> tuple[str, str, str] | None:
    """`dataset:<namespace>:<name>` or `job:<namespace>:<name>`; namespaces may contain ':'."""
    kind, _, rest = node_id.partition(":")
    if kind not in ("dataset", "job") or not rest:
        return None
    # The name is what follows the namespace; names with ':' are rare, namespaces with ':' common
    # (postgres://host:5432): the last ':' separates them.
    namespace, sep, name = rest.rpartition(":")
    if not sep or not namespace or not name:
        return None
    return kind, namespace, name


def lineage(conn, node_id: str, depth: int) -> dict:
    parsed = parse_node_id(node_id)
    if parsed is None:
        raise NodeNotFound("HTTP 404 Not Found")
    kind, namespace, name = parsed
    if kind == "dataset":
        ds = conn.execute(
            "SELECT uuid FROM datasets WHERE namespace_name = %s AND name = %s AND NOT is_hidden", (namespace, name)
        ).fetchone()
        if ds is None:
            raise NodeNotFound(f"Dataset '{name}' not found.")
        jobs = {r["job_uuid"] for r in conn.execute("SELECT job_uuid FROM job_io WHERE dataset_uuid = %s", (ds["uuid"],))}
        datasets = {ds["uuid"]}
    else:
        job = conn.execute(
            "SELECT uuid FROM jobs WHERE namespace_name = %s AND name = %s AND NOT is_hidden", (namespace, name)
        ).fetchone()
        if job is None:
            raise NodeNotFound(f"Job '{name}' not found.")
        jobs, datasets = {job["uuid"]}, set()
    frontier = set(jobs)
    for _ in range(max(depth, 0)):
        if not frontier:
            break
        # One hop: the jobs that share a dataset (as input or output) with the frontier.
        nxt = {
            r["job_uuid"]
            for r in conn.execute(
                "SELECT DISTINCT b.job_uuid FROM job_io a JOIN job_io b ON b.dataset_uuid = a.dataset_uuid"
                " WHERE a.job_uuid = ANY(%s)",
                (list(frontier),),
            )
        }
        frontier = nxt - jobs
        jobs |= nxt
    io_rows = conn.execute(
        "SELECT job_uuid, dataset_uuid, is_input FROM job_io WHERE job_uuid = ANY(%s)", (list(jobs),)
    ).fetchall()
    datasets |= {r["dataset_uuid"] for r in io_rows}
    job_rows = conn.execute("SELECT * FROM jobs WHERE uuid = ANY(%s) AND NOT is_hidden", (list(jobs),)).fetchall()
    ds_rows = conn.execute(
        f"SELECT {reads.DATASET_COLS} FROM {reads.DATASET_FROM} WHERE d.uuid = ANY(%s) AND NOT d.is_hidden",
        (list(datasets),),
    ).fetchall()
    job_ids = {r["uuid"]: js.job_node_id(r["namespace_name"], r["name"]) for r in job_rows}
    ds_ids = {r["uuid"]: js.dataset_node_id(r["namespace_name"], r["name"]) for r in ds_rows}
    in_edges: dict = defaultdict(list)
    out_edges: dict = defaultdict(list)
    for r in io_rows:
        job, ds = job_ids.get(r["job_uuid"]), ds_ids.get(r["dataset_uuid"])
        if job is None or ds is None:
            continue
        origin, dest = (ds, job) if r["is_input"] else (job, ds)
        out_edges[origin].append(js.edge(origin, dest))
        in_edges[dest].append(js.edge(origin, dest))
    graph = []
    for r in ds_rows:
        nid = ds_ids[r["uuid"]]
        graph.append({"id": nid, "type": "DATASET", "data": _dataset_node(r), "inEdges": in_edges[nid], "outEdges": out_edges[nid]})
    for doc, r in zip(reads.jobs_json(conn, job_rows, for_graph=True), job_rows):
        nid = job_ids[r["uuid"]]
        graph.append({"id": nid, "type": "JOB", "data": doc, "inEdges": in_edges[nid], "outEdges": out_edges[nid]})
    return {"graph": graph}


def _dataset_node(r: dict) -> dict:
    # A graph node shows the fields of the current version as it was written.
    has_version = r["current_version_uuid"] is not None
    fields = [js.field(f) for f in (r["v_fields"] or [])] if has_version else []
    return {**reads.dataset_core(r), "fields": fields, "tags": []}

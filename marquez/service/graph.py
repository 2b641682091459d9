"""`/lineage`: the graph around a node, walked through each job's current version.

The walk is breadth-first over jobs (depth = job hops), through the datasets each job's current
version reads or writes (as Marquez does, #2543: older edges stay in the runs).
"""

from __future__ import annotations

import re
from collections import defaultdict

from marquez.model import json as js
from marquez.service import jobs
from marquez.service.errors import NotFound
from marquez.storage import datasets as stored_datasets
from marquez.storage import graph as stored
from marquez.storage import jobs as stored_jobs
from marquez.storage.session import Store

_NODE_SPLIT = re.compile(r"[:#]")
# A ':' that is not a URI's `scheme://` nor a `host:port` (followed by a digit).
_NODE_DELIM = re.compile(r":(?!//|\d)")
_NODE_KINDS = ("dataset", "datasetField", "job", "run")


def node_parts(node_id: str, expected: int) -> list[str] | None:
    """A node id cut into `expected` parts as Marquez cuts it (service/models/NodeId.java `parts`):
    split at every ':' and '#'; with exactly `expected` parts, those; with more, cut at the first
    `expected - 1` colons that start neither `//` nor a digit, so `file://host/path`,
    `postgres://h:5432` and `project:dataset.table` names are found. None where Marquez fails."""
    parts = _NODE_SPLIT.split(node_id)
    while parts and parts[-1] == "":  # as Java's String.split drops trailing empty strings
        parts.pop()
    if len(parts) < expected:
        return None
    if len(parts) == expected:
        return parts
    out, start = [], 0
    delims = _NODE_DELIM.finditer(node_id)
    for _ in range(expected - 1):
        found = next(delims, None)
        if found is None:
            return None
        out.append(node_id[start : found.start()])
        start = found.end()
    out.append(node_id[start:])
    return out


def parse_node_id(node_id: str) -> tuple[str, str, str] | None:
    """`dataset:<namespace>:<name>` or `job:<namespace>:<name>`, cut as Marquez cuts it (`node_parts`)."""
    kind = node_id.split(":", 1)[0]
    if kind not in ("dataset", "job") or ":" not in node_id:
        return None
    parts = node_parts(node_id, 3)
    if parts is None:  # Marquez answers 500 here (`postgres://h:5432:1st_table`): the last ':' instead
        parts = [kind, *node_id[len(kind) + 1 :].rsplit(":", 1)]
    if len(parts) != 3 or not parts[1] or not parts[2]:
        return None
    return kind, parts[1], parts[2]


def lineage(store: Store, node_id: str, depth: int) -> dict:
    with store.read() as conn:
        return _lineage(conn, node_id, depth)


def _start(conn, kind: str, namespace: str, name: str) -> tuple[set, set]:
    """The jobs and datasets the walk starts from."""
    if kind == "dataset":
        ds = stored_datasets.uuid_of(conn, namespace, name)
        if ds is None:
            raise NotFound(f"Dataset '{name}' not found.")
        return stored.jobs_of_dataset(conn, ds), {ds}
    job = stored_jobs.uuid_of(conn, namespace, name)
    if job is None:
        raise NotFound(f"Job '{name}' not found.")
    return {job}, set()


def _lineage(conn, node_id: str, depth: int) -> dict:
    parsed = parse_node_id(node_id)
    if parsed is None:
        raise NotFound("HTTP 404 Not Found")
    jobs_seen, datasets_seen = _start(conn, *parsed)
    frontier = set(jobs_seen)
    for _ in range(max(depth, 0)):
        if not frontier:
            break
        nxt = stored.neighbours(conn, list(frontier))
        frontier = nxt - jobs_seen
        jobs_seen |= nxt
    io_rows = stored.io(conn, list(jobs_seen))
    datasets_seen |= {r["dataset_uuid"] for r in io_rows}
    job_rows = stored_jobs.by_ids(conn, list(jobs_seen))
    ds_rows = stored_datasets.current_by_ids(conn, list(datasets_seen))
    # Hidden jobs and datasets are not in the rows: their edges are left out below.
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
    nodes = []
    for r in ds_rows:
        nid = ds_ids[r["uuid"]]
        nodes.append(js.node(nid, "DATASET", js.dataset_node_data(r), in_edges[nid], out_edges[nid]))
    for doc, r in zip(jobs.documents(conn, job_rows, for_graph=True), job_rows):
        nid = job_ids[r["uuid"]]
        nodes.append(js.node(nid, "JOB", doc, in_edges[nid], out_edges[nid]))
    return js.graph(nodes)

"""Jobs: one, a page, a job's runs and versions, soft delete; documents of many in a few queries."""

from __future__ import annotations

import uuid
from collections import defaultdict

from marquez.model import json as js
from marquez.model import subjects
from marquez.service import runs
from marquez.storage import datasets as stored_datasets
from marquez.storage import jobs as stored
from marquez.storage import namespaces as stored_namespaces
from marquez.storage import runs as stored_runs
from marquez.storage.session import Store

LATEST_RUNS = 10  # a job's page shows its latest ten runs


def _io(conn, job_ids: list, *, version: bool = False) -> dict:
    """Each job's inputs and outputs: those /lineage shows (`job_io`), or (`version`) its current
    version's, as a job's page shows them (JobVersionDao.findCurrentInputOutputDatasetsFor)."""
    io: dict = defaultdict(lambda: {"inputs": [], "outputs": []})
    for r in (stored.version_io if version else stored.io)(conn, job_ids):
        io[r["job_uuid"]]["inputs" if r["is_input"] else "outputs"].append(
            js.dataset_id(r["namespace_name"], r["name"])
        )
    return io


def _latest_run_io(run: dict) -> dict:
    """The datasets a run document read and wrote, each once, sorted (as job_io is)."""

    def ids(side: str) -> list[dict]:
        seen = sorted({(v["datasetVersionId"]["namespace"], v["datasetVersionId"]["name"]) for v in run[side]})
        return [js.dataset_id(ns, name) for ns, name in seen]

    return {"inputs": ids("inputDatasetVersions"), "outputs": ids("outputDatasetVersions")}


def documents(conn, rows: list[dict], *, for_graph: bool = False, listing: bool = False) -> list[dict]:
    """The jobs as the API answers them, with their latest runs, inputs/outputs and tags (batched).
    `for_graph`: as /lineage nodes; `listing`: as the job list."""
    if not rows:
        return []
    ids = [r["uuid"] for r in rows]
    latest: dict = defaultdict(list)
    if for_graph:
        # A /lineage node shows the job's current run (LineageService: runDao.findRunByUuid of the
        # job's current_run_uuid): the run of its latest event; for a child job, its PARENT's
        # current run at the child's latest event (OpenLineageDao.buildJobFromEvent).
        current = {r["uuid"]: r.get("current_run_uuid") for r in rows}
        run_rows = stored_runs.by_ids(conn, list({c for c in current.values() if c}))
        as_json = dict(zip([r["uuid"] for r in run_rows], runs.documents(conn, run_rows)))
        for job_uuid, run_uuid in current.items():
            if run_uuid in as_json:
                latest[job_uuid].append(as_json[run_uuid])
    else:
        # Pages show the latest ten runs.
        run_rows = stored_runs.latest_of_jobs(conn, ids, LATEST_RUNS)
        as_json = dict(zip([r["uuid"] for r in run_rows], runs.documents(conn, run_rows)))
        for r in sorted(run_rows, key=lambda r: r["rn"]):
            latest[r["job_uuid"]].append(as_json[r["uuid"]])
    io = _io(conn, ids, version=not for_graph)
    if not for_graph:
        # The job list shows the inputs and outputs of each job's latest run, running or not
        # (JobDao.findAllWithRun -> setJobData); a job's page shows its current version's, each
        # side its latest run's when the version has none (findWithDatasetsAndRun: setJobData,
        # then setJobDataset with the non-empty sides). /lineage shows the current version's.
        for r in rows:
            own_runs = latest.get(r["uuid"])
            if own_runs:
                from_run = _latest_run_io(own_runs[0])
                current = io[r["uuid"]]
                io[r["uuid"]] = {side: (current[side] if current[side] and not listing else from_run[side])
                                 for side in ("inputs", "outputs")}  # fmt: skip
    tags: dict = defaultdict(list)
    for r in stored.tags(conn, ids):
        tags[r["job_uuid"]].append(r["name"])
    return [
        js.job(
            r,
            latest.get(r["uuid"]),
            io[r["uuid"]],
            tags.get(r["uuid"], []),
            for_graph=for_graph,
            listing=listing,
        )
        for r in rows
    ]


def document(conn, namespace: str, name: str) -> dict | None:
    row = stored.row(conn, namespace, name)
    return documents(conn, [row])[0] if row else None


def get(store: Store, namespace: str, name: str) -> dict | None:
    with store.read(subjects.name(name)) as conn:
        return document(conn, namespace, name)


def page(store: Store, namespace: str | None, limit: int, offset: int, states: list[str] | None) -> dict | None:
    """Jobs of a namespace (None: of all); `states` keeps those whose latest run is in one.
    None when the namespace does not exist."""
    with store.read() as conn:
        if namespace is not None and stored_namespaces.get(conn, namespace) is None:
            return None
        rows = stored.page(conn, namespace, limit, offset, states)
        total = stored.count(conn, namespace)
        return js.page_total_first("jobs", documents(conn, rows, listing=True), total)


def hide(store: Store, namespace: str, name: str) -> dict | None:
    """Soft-delete the job; None when there is no such job."""
    with store.write() as conn:
        row = stored.row(conn, namespace, name)
        if row is None:
            return None
        doc = documents(conn, [row])[0]
        # Marquez answers the job as JobMapper reads its row (JobDao.findJobByName, no runs):
        # its inputs are those its last event named (current_inputs), its outputs none.
        current = row["current_inputs"] or []
        doc.update(inputs=[js.dataset_id(d["namespace"], d["name"]) for d in current], outputs=[])
        stored.hide(conn, namespace, name)
        return js.hidden_job(doc)


def runs_of(store: Store, namespace: str, name: str, limit: int, offset: int) -> dict | None:
    with store.read(subjects.name(name)) as conn:
        job = stored.row(conn, namespace, name)
        if job is None:
            return None
        rows = stored_runs.of_job(conn, job["uuid"], limit, offset)
        total = stored_runs.count_of_job(conn, job["uuid"])
        return js.page("runs", runs.documents(conn, rows), total)


def versions(store: Store, namespace: str, name: str, limit: int, offset: int) -> dict | None:
    with store.read(subjects.name(name)) as conn:
        job = stored.row(conn, namespace, name)
        if job is None:
            return None
        rows = stored.versions_page(conn, job["uuid"], limit, offset)
        return js.job_versions_page(_version_documents(conn, job, rows))


def version(store: Store, namespace: str, name: str, version_id: uuid.UUID) -> dict | None:
    """One version of a job by its version id (GET .../jobs/{job}/versions/{version})."""
    with store.read(subjects.name(name)) as conn:
        job = stored.row(conn, namespace, name)
        row = stored.version(conn, job["uuid"], version_id) if job else None
        if job is None or row is None:
            return None
        return _version_documents(conn, job, [row])[0]


def _version_documents(conn, job: dict, rows: list[dict]) -> list[dict]:
    run_rows = stored_runs.by_ids(conn, [r["latest_run_uuid"] for r in rows if r["latest_run_uuid"]])
    job_facets = {r["uuid"]: r["job_facets"] for r in run_rows}
    latest = {
        run_id: js.job_version_run(run, job_facets.get(run_id, {}))
        for run_id, run in zip([r["uuid"] for r in run_rows], runs.documents(conn, run_rows))
    }
    # A version lists its datasets under each name, their symlinks too (JobVersionDao's
    # BASE_SELECT_ON_JOB_VERSIONS reads datasets_view).
    named = {tuple(d) for v in rows for side in ("inputs", "outputs") for d in v[side]}
    aliases: dict = defaultdict(list)
    for r in stored_datasets.symlinks_of(conn, sorted(named)) if named else []:
        aliases[(r["namespace_name"], r["name"])].append([r["alias_namespace"], r["alias_name"]])

    def with_aliases(v: dict) -> dict:
        if not aliases:
            return v
        expand = lambda side: [n for d in v[side] for n in [d, *aliases.get(tuple(d), [])]]  # noqa: E731
        return {**v, "inputs": expand("inputs"), "outputs": expand("outputs")}

    return [js.job_version(job, with_aliases(v), latest.get(v["latest_run_uuid"])) for v in rows]

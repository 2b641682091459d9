"""What an event can change the answer for, as keys a read can wait on.

A read of one job, dataset or run waits only for pending events whose keys include its own
(`marquez.storage.projector.barrier`), not for every other producer's backlog. The keys are
deliberately loose: names without namespaces, and every name the event could file a job under
(its own, `<parent>.<job>`, the parent's). A key shared by chance only makes a read wait as it
would without keys; a key missing would let a read miss its own write, so when in doubt, add one.
"""

from __future__ import annotations

from typing import Any

from marquez.model import versions

# The key of an event that may change anything (stored before keys were, migration V007): every
# keyed read waits for it.
ANY = "*"


def name(value: str) -> str:
    """The key of a job or dataset name (namespaces are left out: Marquez rewrites them)."""
    return "n:" + value


def run(run_uuid: Any) -> str:
    return f"r:{run_uuid}"


def of_event(raw: dict) -> list[str]:
    keys: set[str] = set()
    job = raw.get("job")
    job_name = job.get("name") if isinstance(job, dict) else None
    if isinstance(job_name, str):
        keys.add(name(job_name))
    run_doc = raw.get("run")
    if isinstance(run_doc, dict):
        if isinstance(run_doc.get("runId"), str):
            keys.add(run(versions.run_uuid(run_doc["runId"])))
        facets = run_doc.get("facets")
        parent = facets.get("parent") if isinstance(facets, dict) else None
        if isinstance(parent, dict):
            p_job, p_run = parent.get("job"), parent.get("run")
            p_name = p_job.get("name") if isinstance(p_job, dict) else None
            if isinstance(p_name, str):
                # The parent, the name the job is filed under, and the parent a facet naming the
                # job itself means (see storage.ingest._parent_job_name).
                keys.update((name(p_name), name(p_name.rsplit(".", 1)[0])))
                if isinstance(job_name, str):
                    keys.add(name(f"{p_name}.{job_name}"))
            if isinstance(p_run, dict) and isinstance(p_run.get("runId"), str):
                keys.add(run(versions.run_uuid(p_run["runId"])))
    for ds in [*(_list(raw.get("inputs"))), *(_list(raw.get("outputs"))), raw.get("dataset")]:
        if not isinstance(ds, dict):
            continue
        if isinstance(ds.get("name"), str):
            keys.add(name(ds["name"]))
        facets = ds.get("facets")
        symlinks = facets.get("symlinks") if isinstance(facets, dict) else None
        identifiers = symlinks.get("identifiers") if isinstance(symlinks, dict) else None
        for identifier in _list(identifiers):
            if isinstance(identifier, dict) and isinstance(identifier.get("name"), str):
                keys.add(name(identifier["name"]))
    return sorted(keys)


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []

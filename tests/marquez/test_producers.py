"""Events written by other OpenLineage producers, replayed into a real built-in server.

The corpus (tests/data/marquez/producers/, its manifest and README) holds events copied unchanged
from the public test data of OpenLineage's Spark (three applications, one with column lineage),
Flink (streaming), dbt-ol (no catalog), Hive, the Airflow provider, Marquez's own fixtures and
the OpenLineage Python client. Each group is replayed, in manifest order, into a server of its
own (real HTTP, a fresh database), then read back. The behaviours asserted are those Marquez
0.51.1 shows for these producers; each test names the Java file of Marquez it follows. Where the
corpus lacks a case (a streaming run naming a new dataset, a checkpoint naming none), a test
derives events from a corpus event and says so.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.marquez.support import TIMEOUT, get_json, post_event
from tests.marquez_fixture import MarquezServer

pytestmark = pytest.mark.marquez

CORPUS = Path(__file__).resolve().parents[1] / "data" / "marquez" / "producers"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())["files"]
GROUPS = sorted({entry["file"].split("/")[0] for entry in MANIFEST})


def _events(group: str) -> list[dict]:
    """The group's events in replay order: its files in manifest order, a .jsonl line by line."""
    out: list[dict] = []
    for entry in MANIFEST:
        if entry["file"].split("/")[0] != group:
            continue
        text = (CORPUS / entry["file"]).read_text()
        if entry["file"].endswith(".jsonl"):
            out.extend(json.loads(line) for line in text.splitlines() if line.strip())
        else:
            doc = json.loads(text)
            out.extend(doc if isinstance(doc, list) else [doc])
    return out


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(p, safe="") for p in parts)


def _get(url: str, path: str, params: dict | None = None) -> requests.Response:
    response = requests.get(f"{url}/api/v1{path}", params=params, timeout=TIMEOUT)
    assert response.status_code < 500, (
        f"GET {path} {params or ''} answered {response.status_code}: {response.text[:300]}"
    )
    return response


def _replay(server: MarquezServer, events: list[dict]) -> None:
    for event in events:
        response = post_event(server.url, event)
        assert response.status_code == 201, (
            f"{response.status_code} {response.text[:300]} for {json.dumps(event)[:300]}"
        )
    assert get_json(server.url, "/projection-errors")["errors"] == []


def _named(events: list[dict]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The (namespace, name) of every job and every dataset the events name."""
    jobs, datasets = set(), set()
    for event in events:
        if isinstance(event.get("job"), dict):
            jobs.add((event["job"]["namespace"], event["job"]["name"]))
        if isinstance(event.get("dataset"), dict):
            datasets.add((event["dataset"]["namespace"], event["dataset"]["name"]))
        for side in ("inputs", "outputs"):
            for ds in event.get(side) or []:
                datasets.add((ds["namespace"], ds["name"]))
    return jobs, datasets


@pytest.fixture(scope="module")
def replayed(request: pytest.FixtureRequest, tmp_path_factory) -> Any:
    """`replayed(group, first=None)`: a built-in server (fresh database) the group's events (or
    its `first` events) were replayed into, each acknowledged (201) and projected without error;
    started once per module and (group, first)."""
    from tests.marquez_fixture import start_builtin_server

    postgres = request.getfixturevalue("postgres")
    servers: dict[tuple[str, int | None], MarquezServer] = {}

    def get(group: str, first: int | None = None) -> MarquezServer:
        if (group, first) not in servers:
            server = start_builtin_server(postgres, tmp_path_factory.mktemp(f"producers-{group}"))
            servers[(group, first)] = server
            _replay(server, _events(group)[:first])
        return servers[(group, first)]

    try:
        yield get
    finally:
        for server in servers.values():
            server.stop()


def test_corpus_has_five_producers_outside_this_project() -> None:
    """The manifest names at least five producers, each file with its repository, commit and path."""
    producers = {entry["producer"] for entry in MANIFEST}
    assert len(producers) >= 5, producers
    for entry in MANIFEST:
        assert entry["repository"] and len(entry["commit"]) == 40 and entry["path"] and entry["license"]
        assert (CORPUS / entry["file"]).is_file()
    assert sum(len(_events(g)) for g in GROUPS) == sum(entry["events"] for entry in MANIFEST)


@pytest.mark.parametrize("group", GROUPS)
def test_group_is_acknowledged_projected_and_readable(replayed, group: str) -> None:
    """Every event answers 201 and is projected without error; every job, dataset and run an
    event names is readable (200) with its runs, versions, facets and lineage, and no read
    answers 5xx."""
    server = replayed(group)
    jobs, datasets = _named(_events(group))
    url = server.url
    for ns, name in sorted(jobs):
        # A job whose run has a parent facet is filed as `<parent>.<job>` (JobDao's upsert).
        listed = {j["name"] for j in get_json(url, _path("namespaces", ns, "jobs"), {"limit": 1000})["jobs"]}
        filed = [n for n in listed if n == name or n.endswith("." + name)]
        assert filed, f"job {ns}/{name} is not listed: {sorted(listed)}"
        name = filed[0]
        assert get_json(url, _path("namespaces", ns, "jobs", name))["name"] == name
        _get(url, _path("namespaces", ns, "jobs", name, "runs"))
        _get(url, _path("namespaces", ns, "jobs", name, "versions"))
        _get(url, "/lineage", {"nodeId": f"job:{ns}:{name}"})
    for ns, name in sorted(datasets):
        ds = get_json(url, _path("namespaces", ns, "datasets", name))
        assert ds["name"] == name
        _get(url, _path("namespaces", ns, "datasets", name, "versions"))
        _get(url, "/lineage", {"nodeId": f"dataset:{ns}:{name}"})
        _get(url, "/column-lineage", {"nodeId": f"dataset:{ns}:{name}"})
    for run_id in sorted({e["run"]["runId"] for e in _events(group) if isinstance(e.get("run"), dict)}):
        assert get_json(url, f"/jobs/runs/{run_id}")["id"] == run_id
        _get(url, f"/jobs/runs/{run_id}/facets", {"type": "run"})
        _get(url, f"/jobs/runs/{run_id}/facets", {"type": "job"})
    for path in ("/namespaces", "/jobs", "/search", "/events/lineage"):
        _get(url, path, {"q": "a"} if path == "/search" else None)


# -- the behaviours these producers exercise ------------------------------------------------------
def _schema_fields(ds: dict) -> list[dict]:
    schema = (ds.get("facets") or {}).get("schema") or {}
    return [f for f in schema.get("fields") or [] if isinstance(f, dict)]


def _dataset(url: str, ns: str, name: str) -> dict:
    return get_json(url, _path("namespaces", ns, "datasets", name))


def _version(url: str, ns: str, name: str, version: str) -> dict:
    return get_json(url, _path("namespaces", ns, "datasets", name, "versions", version))


def _job(url: str, ns: str, name: str) -> dict:
    return get_json(url, _path("namespaces", ns, "jobs", name))


def _ids(datasets: list[dict]) -> list[tuple[str, str]]:
    return sorted({(d["namespace"], d["name"]) for d in datasets})


def _with_symlinks(datasets: list[dict]) -> list[tuple[str, str]]:
    """The datasets' names and those of their `symlinks` facet's identifiers."""
    names = set(_ids(datasets))
    for d in datasets:
        for ident in ((d.get("facets") or {}).get("symlinks") or {}).get("identifiers") or []:
            names.add((ident["namespace"], ident["name"]))
    return sorted(names)


def test_dbt_fields_without_a_type_are_kept_with_type_null(replayed) -> None:
    """dbt-ol without a catalog writes schema fields with a name and a description but no type.
    Marquez keeps each one, type null: OpenLineageDao.upsertLineageDataset
    (api/src/main/java/marquez/db/OpenLineageDao.java) upserts every schema field with
    `field.getType()`, null included (DatasetFieldDao.upsert), and writes the version's fields
    from the same list (DatasetVersionDao.toPgObjectSchemaFields). So the dataset, its versions,
    the version itself and its /lineage node all list the field with `"type": null`."""
    typeless = [
        (ds["namespace"], ds["name"], f)
        for event in _events("dbt")
        for side in ("inputs", "outputs")
        for ds in event.get(side) or []
        for f in _schema_fields(ds)
        if f.get("type") is None
    ]
    assert typeless, "the dbt group has no field without a type"
    url = replayed("dbt").url
    for ns, name, f in typeless:
        expected = {"name": f["name"], "type": None, "tags": [], "description": f.get("description")}
        ds = _dataset(url, ns, name)
        # Once, though two events named it (marquez.differences: typeless-field-once).
        assert [x for x in ds["fields"] if x["name"] == f["name"]] == [expected], ds["fields"]
        versions = get_json(url, _path("namespaces", ns, "datasets", name, "versions"))["versions"]
        current = [v for v in versions if v["version"] == ds["currentVersion"]]
        assert current and expected in current[0]["fields"], versions
        assert expected in _version(url, ns, name, ds["currentVersion"])["fields"]
        graph = get_json(url, "/lineage", {"nodeId": f"dataset:{ns}:{name}"})["graph"]
        node = next(n for n in graph if n["id"] == f"dataset:{ns}:{name}")
        assert expected in node["data"]["fields"], node["data"]["fields"]


@pytest.mark.parametrize("group", ["marquez-fixtures", "openlineage-client"])
def test_input_facets_are_facets_of_the_dataset_version_read(replayed, group: str) -> None:
    """Data-quality input facets (dataQualityMetrics, dataQualityAssertions: what Great
    Expectations and dbt tests write) are kept on the dataset. OpenLineageDao
    (api/src/main/java/marquez/db/OpenLineageDao.java, insertInputDatasetFacets) stores an
    input's inputFacets as dataset facets of type INPUT on the dataset version the run read, and
    DatasetDao.findDatasetByName / DatasetVersionDao (api/src/main/java/marquez/db/DatasetDao.java,
    DatasetVersionDao.java) read a dataset's and a version's facets from its facets of type
    DATASET, UNKNOWN and INPUT (the list too: DatasetDao.findAll). So the version a run read
    answers them in its `facets`, and the dataset too while that version is its current one."""
    url = replayed(group).url
    checked = 0
    for event in _events(group):
        for ds in event.get("inputs") or []:
            input_facets = ds.get("inputFacets") or {}
            if not input_facets:
                continue
            run = get_json(url, f"/jobs/runs/{event['run']['runId']}")
            read = [
                v["datasetVersionId"]
                for v in run["inputDatasetVersions"]
                if (v["datasetVersionId"]["namespace"], v["datasetVersionId"]["name"]) == (ds["namespace"], ds["name"])
            ]
            assert read, f"the run does not list {ds['name']} as an input: {run['inputDatasetVersions']}"
            version = _version(url, ds["namespace"], ds["name"], read[0]["version"])
            dataset = _dataset(url, ds["namespace"], ds["name"])
            for name, facet in input_facets.items():
                assert version["facets"].get(name) == facet, (name, version["facets"].get(name))
                if dataset["currentVersion"] == read[0]["version"]:
                    assert dataset["facets"].get(name) == facet, (name, dataset["facets"].get(name))
                    listed = get_json(url, _path("namespaces", ds["namespace"], "datasets"), {"limit": 1000})
                    entry = next(d for d in listed["datasets"] if d["name"] == ds["name"])
                    assert entry["facets"].get(name) == facet, (name, entry["facets"].get(name))
                checked += 1
    assert checked >= 1, f"the {group} group has no input facet"


def _streaming_start() -> dict:
    start = _events("flink")[0]
    assert start["eventType"] == "START"
    assert start["job"]["facets"]["jobType"]["processingType"] == "STREAMING"
    return start


def test_flink_streaming_job_is_versioned_at_start(replayed) -> None:
    """A streaming job (jobType processingType STREAMING) after its START only. Marquez
    (OpenLineageDao.updateMarquezModel -> updateMarquezOnStreamingJob,
    api/src/main/java/marquez/db/OpenLineageDao.java) makes the job version of the run's datasets
    at once, the job's current version, linked to the run; the job's type is STREAM
    (LineageEvent.Job.type(), upserted on every event); its page and list show the running run's
    inputs and outputs (JobDao.setJobData); and the outputs' current versions are the run's
    (OpenLineageService.createAsync: a streaming event updates outputs as a COMPLETE does)."""
    start = _streaming_start()
    url = replayed("flink", 1).url
    ns, name = start["job"]["namespace"], start["job"]["name"]
    job = _job(url, ns, name)
    assert job["type"] == "STREAM"
    assert job["currentVersion"] is not None, "no job version at START"
    assert job["latestRun"]["state"] == "RUNNING"
    inputs, outputs = _ids(start["inputs"]), _ids(start["outputs"])
    # The page lists the current version's datasets under each name, their symlinks too
    # (JobDao.setJobDataset <- JobVersionDao.findCurrentInputOutputDatasetsFor reads datasets_view).
    assert _ids(job["inputs"]) == _with_symlinks(start["inputs"])
    assert _ids(job["outputs"]) == _with_symlinks(start["outputs"])
    versions = get_json(url, _path("namespaces", ns, "jobs", name, "versions"))["versions"]
    assert len(versions) == 1
    assert job["latestRun"]["jobVersion"]["version"] == versions[0]["version"]
    assert versions[0]["latestRun"]["id"] == job["latestRun"]["id"]
    assert _ids(versions[0]["inputs"]) == _with_symlinks(start["inputs"])  # each under its names
    assert _ids(versions[0]["outputs"]) == _with_symlinks(start["outputs"])
    listed = [j for j in get_json(url, _path("namespaces", ns, "jobs"))["jobs"] if j["name"] == name]
    assert listed and listed[0]["type"] == "STREAM"
    assert _ids(listed[0]["inputs"]) == inputs and _ids(listed[0]["outputs"]) == outputs
    run_id = job["latestRun"]["id"]
    for out_ns, out_name in outputs:
        dataset = _dataset(url, out_ns, out_name)
        assert dataset["currentVersion"] is not None
        assert _version(url, out_ns, out_name, dataset["currentVersion"])["createdByRun"]["id"] == run_id
    graph = get_json(url, "/lineage", {"nodeId": f"job:{ns}:{name}"})["graph"]
    assert {n["id"] for n in graph} >= {f"dataset:{d[0]}:{d[1]}" for d in inputs + outputs}
    # Search still calls it a JOB (SearchDao selects 'JOB' AS type), whatever its processing type.
    found = [r for r in get_json(url, "/search", {"q": name})["results"] if r["name"] == name]
    assert found and found[0]["type"] == "JOB" and found[0]["nodeId"] == f"job:{ns}:{name}"


def test_flink_streaming_job_keeps_its_version_to_the_end(replayed) -> None:
    """After RUNNING and COMPLETE naming the same datasets, the streaming job still has the one
    version made at START (updateMarquezOnStreamingJob inserts a version only when its hash, over
    the run's datasets, is new), the run is COMPLETED and linked to it, and the job says STREAM."""
    start = _streaming_start()
    url = replayed("flink").url
    ns, name = start["job"]["namespace"], start["job"]["name"]
    job = _job(url, ns, name)
    assert job["type"] == "STREAM"
    assert job["latestRun"]["state"] == "COMPLETED"
    versions = get_json(url, _path("namespaces", ns, "jobs", name, "versions"))["versions"]
    assert len(versions) == 1 and job["currentVersion"] is not None
    assert job["latestRun"]["jobVersion"]["version"] == versions[0]["version"]
    assert _ids(job["inputs"]) == _with_symlinks(start["inputs"])  # each under its names, as above
    assert _ids(job["outputs"]) == _with_symlinks(start["outputs"])


@pytest.mark.parametrize("group", ["spark", "dbt", "hive"])
def test_batch_jobs_say_batch(replayed, group: str) -> None:
    """A job whose latest event's jobType is not STREAMING is BATCH (LineageEvent.Job.type(),
    api/src/main/java/marquez/service/models/LineageEvent.java)."""
    url = replayed(group).url
    jobs = get_json(url, "/jobs", {"limit": 1000})["jobs"]
    assert jobs and {j["type"] for j in jobs} == {"BATCH"}


def _marquez_kind(event: dict) -> str:
    """Marquez's EventTypeResolver (api/src/main/java/marquez/service/models/EventTypeResolver.java):
    the schemaURL's part after its last '/' names a DatasetEvent or JobEvent; anything else, a
    missing schemaURL included, is a run event."""
    url = event.get("schemaURL")
    tail = url[url.rfind("/") :] if isinstance(url, str) and "/" in url else ""
    return {"/DatasetEvent": "dataset", "/JobEvent": "job"}.get(tail, "run")


def test_old_and_missing_schema_urls_are_accepted_as_marquez_accepts_them(replayed) -> None:
    """Events with no schemaURL, with 1-0-1 and 1-0-5 `#/definitions/...` URLs and with 2-x
    `#/$defs/...` URLs are all taken, each as the kind Marquez's EventTypeResolver reads from the
    URL (OpenLineageResource accepts any BaseEvent; LineageEvent's schemaURL is optional): a run
    event makes a run readable by its id, a dataset event a dataset with a current version, a
    job event a job with a (runless) version (OpenLineageDao.updateMarquezModel(JobEvent))."""
    urls = set()
    for group in ("marquez-fixtures", "openlineage-client"):
        url = replayed(group).url
        for event in _events(group):
            urls.add(event.get("schemaURL"))
            kind = _marquez_kind(event)
            if kind == "run":
                run = get_json(url, f"/jobs/runs/{event['run']['runId']}")
                assert run["id"] == event["run"]["runId"]
            elif kind == "dataset":
                dataset = _dataset(url, event["dataset"]["namespace"], event["dataset"]["name"])
                assert dataset["currentVersion"] is not None
            else:
                job = _job(url, event["job"]["namespace"], event["job"]["name"])
                assert job["currentVersion"] is not None
    assert None in urls, "no event without a schemaURL"
    assert any(u and "/1-0-" in u and "#/definitions/" in u for u in urls), urls
    assert any(u and "#/$defs/" in u for u in urls), urls


def test_running_batch_job_lists_its_running_runs_datasets(replayed) -> None:
    """A Spark job after its START only (no version yet): its page and the job list show the
    running run's inputs and outputs, as Marquez's JobDao.setJobData
    (api/src/main/java/marquez/db/JobDao.java: the latest run's input and output dataset
    versions) does for a job whose current version has none (findWithDatasetsAndRun)."""
    events = _events("spark")
    started = next(i for i, e in enumerate(events) if e["eventType"] == "START" and e.get("inputs"))
    start = events[started]
    url = replayed("spark", started + 1).url
    ns = start["job"]["namespace"]
    listed = [j for j in get_json(url, _path("namespaces", ns, "jobs"))["jobs"] if j["name"] == start["job"]["name"]]
    assert listed, "the job is not listed under its own name"
    job = _job(url, ns, start["job"]["name"])
    assert job["currentVersion"] is None and job["latestRun"]["state"] == "RUNNING"
    for doc in (job, listed[0]):
        assert _ids(doc["inputs"]) == _ids(start["inputs"])
        assert _ids(doc["outputs"]) == _ids(start.get("outputs") or [])


def _later(event: dict, seconds: int, **changes: Any) -> dict:
    """The event `seconds` later, with `changes` (a derived event, for what the corpus lacks)."""
    import datetime as dt

    moment = dt.datetime.fromisoformat(event["eventTime"].replace("Z", "+00:00")) + dt.timedelta(seconds=seconds)
    return {**json.loads(json.dumps(event)), "eventTime": moment.isoformat().replace("+00:00", "Z"), **changes}


def test_streaming_job_versions_follow_its_datasets_and_its_type_the_latest_event(start_builtin) -> None:
    """The Flink START, then events derived from it. Marquez's updateMarquezOnStreamingJob
    (api/src/main/java/marquez/db/OpenLineageDao.java): a RUNNING naming one more input makes a
    new version (its hash is over the run's datasets), current and linked to the run; a COMPLETE
    naming no dataset changes nothing (isTerminalEventForStreamingJobWithNoDatasets,
    LineageEvent.java). The type follows the latest event: a new run whose jobType says BATCH
    makes the job BATCH (the jobs upsert sets type = EXCLUDED.type)."""
    server = start_builtin()
    start = _streaming_start()
    ns, name = start["job"]["namespace"], start["job"]["name"]
    extra = {"namespace": start["inputs"][0]["namespace"], "name": "input_topic_extra"}
    running = _later(start, 60, eventType="RUNNING", inputs=[*start["inputs"], extra])
    done = _later(start, 120, eventType="COMPLETE", inputs=[], outputs=[])
    _replay(server, [start, running, done])
    url = server.url
    job = _job(url, ns, name)
    versions = get_json(url, _path("namespaces", ns, "jobs", name, "versions"))["versions"]
    assert len(versions) == 2, versions
    newest = max(versions, key=lambda v: v["createdAt"])
    assert _ids(newest["inputs"]) == _with_symlinks([*start["inputs"], extra])
    assert job["latestRun"]["state"] == "COMPLETED"
    assert job["latestRun"]["jobVersion"]["version"] == newest["version"]
    assert _ids(job["inputs"]) == _with_symlinks([*start["inputs"], extra])  # each under its names
    assert _ids(job["outputs"]) == _with_symlinks(start["outputs"])
    assert job["type"] == "STREAM"

    batch_facets = {
        **start["job"]["facets"],
        "jobType": {**start["job"]["facets"]["jobType"], "processingType": "BATCH"},
    }
    rerun = _later(
        start, 180, run={**start["run"], "runId": str(uuid.uuid4())}, job={**start["job"], "facets": batch_facets}
    )
    _replay(server, [rerun])
    assert _job(url, ns, name)["type"] == "BATCH"
    assert len(get_json(url, _path("namespaces", ns, "jobs", name, "versions"))["versions"]) == 2


def test_streaming_checkpoint_without_datasets_takes_the_jobs_edges_out_of_lineage(start_builtin) -> None:
    """The Flink START, then a RUNNING naming no dataset (as Flink 2 writes checkpoints: see
    OpenLineage's integration/flink/flink2 expected_kafka_topic_pattern_checkpoint.json), then a
    COMPLETE naming none. Marquez's OpenLineageDao.updateBaseMarquezModel marks the job's inputs
    and outputs no longer current on an event naming none (JobVersionDao
    .markInputOrOutputDatasetAsPreviousFor), except on a streaming job's COMPLETE or FAIL naming
    none; LineageDao.getLineage walks only current ones, so /lineage shows the job without edges,
    while its page still lists its current version's datasets
    (JobVersionDao.findCurrentInputOutputDatasetsFor) and the version stays the one of START."""
    server = start_builtin()
    start = _streaming_start()
    ns, name = start["job"]["namespace"], start["job"]["name"]
    checkpoint = _later(start, 60, eventType="RUNNING", inputs=[], outputs=[])
    _replay(server, [start])
    url = server.url
    graph = get_json(url, "/lineage", {"nodeId": f"job:{ns}:{name}"})["graph"]
    assert len(graph) > 1, "START drew no edge"
    _replay(server, [checkpoint, _later(start, 120, eventType="COMPLETE", inputs=[], outputs=[])])
    graph = get_json(url, "/lineage", {"nodeId": f"job:{ns}:{name}"})["graph"]
    assert [(n["id"], n["inEdges"], n["outEdges"]) for n in graph] == [(f"job:{ns}:{name}", [], [])]
    job = _job(url, ns, name)
    assert _ids(job["inputs"]) == _with_symlinks(start["inputs"])  # each under its names
    assert _ids(job["outputs"]) == _with_symlinks(start["outputs"])
    assert len(get_json(url, _path("namespaces", ns, "jobs", name, "versions"))["versions"]) == 1
    assert job["latestRun"]["state"] == "COMPLETED"


def test_deleting_a_job_answers_its_last_events_inputs_and_no_outputs(start_builtin) -> None:
    """DELETE of the Hive job answers the job as Marquez's JobResource.delete does: read by
    JobDao.findJobByName through JobMapper (api/src/main/java/marquez/db/mappers/JobMapper.java),
    so its inputs are those its last event named (current_inputs) and its outputs none, without
    runs; afterwards it is no longer listed."""
    server = start_builtin()
    events = _events("hive")
    _replay(server, events)
    last = events[-1]
    ns, name = last["job"]["namespace"], last["job"]["name"]
    assert last["outputs"], "the Hive event names no output"
    response = requests.delete(f"{server.url}/api/v1{_path('namespaces', ns, 'jobs', name)}", timeout=TIMEOUT)
    assert response.status_code == 200, response.text[:300]
    doc = response.json()
    assert _ids(doc["inputs"]) == _ids(last["inputs"]) and doc["outputs"] == []
    assert doc["latestRun"] is None
    assert name not in {j["name"] for j in get_json(server.url, _path("namespaces", ns, "jobs"))["jobs"]}


def test_never_posted_parent_of_a_streaming_job_takes_its_type(start_builtin) -> None:
    """The Flink START with a parent facet naming a job that never posted: Marquez records the
    parent job and run from the child's event (OpenLineageDao.createParentJobRunRecord,
    api/src/main/java/marquez/db/OpenLineageDao.java), upserting the parent with the child's
    job.type(), so the parent says STREAM; its own later event without a jobType makes it BATCH."""
    server = start_builtin()
    start = _streaming_start()
    ns = start["job"]["namespace"]
    parent_run = str(uuid.uuid4())
    parent = {"job": {"namespace": ns, "name": "flink-session"}, "run": {"runId": parent_run}}
    child = {**start, "run": {**start["run"], "facets": {**start["run"].get("facets", {}), "parent": parent}}}
    _replay(server, [child])
    assert _job(server.url, ns, "flink-session")["type"] == "STREAM"
    own = _later(
        start, 60, run={"runId": parent_run, "facets": {}}, job={"namespace": ns, "name": "flink-session"},
        inputs=[], outputs=[],
    )  # fmt: skip
    _replay(server, [own])
    assert _job(server.url, ns, "flink-session")["type"] == "BATCH"

"""Marquez 0.51.1's rules for what other producers send (issue 23), each derived from its source
(MarquezProject/marquez, api/src/main/java/marquez/..., cited per test) and first seen in the
Airflow recording (tests/data/marquez/conformance-external/x01-airflow.json).

They run against the session's Marquez (`marquez_url`): the built-in server by default, a real
Marquez when MARQUEZ_URL names one, and both must pass.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from tests.marquez.support import (
    all_namespaces,
    dataset,
    get_json,
    instant,
    iso,
    parent_facet,
    post_ok,
    run_event,
    unique,
)

pytestmark = pytest.mark.marquez

NOMINAL_URL = "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"


def _nominal(start: str, end: str | None) -> dict:
    facet = {"_producer": "https://example.test/producer", "_schemaURL": NOMINAL_URL, "nominalStartTime": start}
    if end is not None:
        facet["nominalEndTime"] = end
    return {"nominalTime": facet}


def _moment() -> dt.datetime:
    """A past event time no other test uses, so /events/lineage can be read for one test's events."""
    return dt.datetime(2002, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=uuid.uuid4().int % 10**8)


def test_nominal_times_are_written_in_utc(marquez_url: str) -> None:
    """The nominalTime facet's times come back in UTC with 'Z' and the fraction trimmed, wherever the
    run's facets are shown; the run args hold them as ZonedDateTime.toString() in UTC; other facets'
    times stay as the producer wrote them.

    Marquez reads an event into its model (service/models/LineageEvent.java: NominalTimeRunFacet's
    two times are ZonedDateTime, read into the UTC context zone) and stores the run facets from it
    (db/OpenLineageDao.java); the run args are `createRunArgs` (same file): `toString()` of those
    times."""
    ns, run_id = unique("rules-nominal"), str(uuid.uuid4())
    facets = {
        **_nominal("2024-11-26T15:05:23.281750+02:00", "2024-11-26T13:05:24+00:00"),
        "airflowDagRun": {"dagRun": {"start_date": "2024-11-26T13:05:23.809950+00:00"}},
    }
    moment = _moment()
    post_ok(
        marquez_url, run_event("START", namespace=ns, job="dag", run_id=run_id, event_time=moment, run_facets=facets)
    )

    run = get_json(marquez_url, f"/jobs/runs/{run_id}")
    expected = {"nominalStartTime": "2024-11-26T13:05:23.28175Z", "nominalEndTime": "2024-11-26T13:05:24Z"}
    assert {k: run["facets"]["nominalTime"][k] for k in expected} == expected
    assert run["args"] == {
        "nominal_start_time": "2024-11-26T13:05:23.281750Z",
        "nominal_end_time": "2024-11-26T13:05:24Z",
    }
    assert run["facets"]["airflowDagRun"] == facets["airflowDagRun"]  # not Marquez's model: as written
    shown = get_json(marquez_url, f"/jobs/runs/{run_id}/facets", {"type": "run"})["facets"]["nominalTime"]
    assert {k: shown[k] for k in expected} == expected
    listed = get_json(marquez_url, f"/namespaces/{ns}/jobs/dag/runs")["runs"]
    assert [r["facets"]["nominalTime"]["nominalStartTime"] for r in listed] == ["2024-11-26T13:05:23.28175Z"]


def test_times_before_the_year_1000_keep_four_year_digits(marquez_url: str) -> None:
    """A nominalTime in year 7 (found by the property test: glibc's strftime writes `%Y` of year 7
    as "7", which the projection could not read back) is applied, written as Java writes it."""
    ns, run_id = unique("rules-year7"), str(uuid.uuid4())
    post_ok(
        marquez_url,
        run_event(
            "START",
            namespace=ns,
            job="j",
            run_id=run_id,
            event_time=_moment(),
            run_facets=_nominal("0007-01-05T03:02:00+00:00", "0007-01-05T03:02:01.5+00:00"),
        ),  # fmt: skip
    )
    run = get_json(marquez_url, f"/jobs/runs/{run_id}")
    assert run["facets"]["nominalTime"]["nominalStartTime"] == "0007-01-05T03:02:00Z"
    assert run["args"] == {"nominal_start_time": "0007-01-05T03:02Z", "nominal_end_time": "0007-01-05T03:02:01.500Z"}


def test_events_come_back_through_marquez_s_model(marquez_url: str) -> None:
    """/events/lineage answers each event as Marquez's model writes it back: eventTime and the
    nominal times in UTC, 'Z', fraction trimmed (service/models/LineageEvent.java: ZonedDateTime
    fields; db/OpenLineageDao.java stores the event re-serialised from that model)."""
    ns, run_id = unique("rules-events"), str(uuid.uuid4())
    moment = _moment().replace(microsecond=731930)
    written = moment.astimezone(dt.timezone(dt.timedelta(hours=1))).isoformat()  # ...731930+01:00
    post_ok(
        marquez_url,
        run_event(
            "START",
            namespace=ns,
            job="dag",
            run_id=run_id,
            event_time=written,
            run_facets=_nominal("2024-01-01T00:00:00.500000+00:00", None),
        ),
    )
    events = get_json(marquez_url, "/events/lineage", {"after": iso(moment), "before": iso(moment), "limit": 1000})[
        "events"
    ]
    mine = [e for e in events if e["run"]["runId"] == run_id]
    assert len(mine) == 1
    assert mine[0]["eventTime"] == moment.strftime("%Y-%m-%dT%H:%M:%S") + ".73193Z"
    assert mine[0]["run"]["facets"]["nominalTime"]["nominalStartTime"] == "2024-01-01T00:00:00.5Z"


def test_run_args_are_the_first_event_s(marquez_url: str) -> None:
    """A run's args are fixed by its first event: an Airflow task's COMPLETE, which has a parent facet
    but no nominalTime, leaves the START's nominal times in the args (db/RunDao.java: the run upsert
    does not touch run_args_uuid on conflict; db/OpenLineageDao.java writes the args per event)."""
    ns, run_id, parent_run = unique("rules-args"), str(uuid.uuid4()), str(uuid.uuid4())
    moment = _moment()
    parent = parent_facet(ns, "dag", parent_run)
    common = dict(namespace=ns, job="dag.task", run_id=run_id)
    post_ok(
        marquez_url,
        run_event(
            "START", event_time=moment, run_facets={**parent, **_nominal("2024-11-26T13:05:23.281750Z", None)}, **common
        ),
        run_event("COMPLETE", event_time=moment + dt.timedelta(seconds=4), run_facets=parent, **common),
    )
    run = get_json(marquez_url, f"/jobs/runs/{run_id}")
    assert run["state"] == "COMPLETED"
    assert run["args"] == {
        "nominal_start_time": "2024-11-26T13:05:23.281750Z",
        "run_id": parent_run,
        "name": "dag",
        "namespace": ns,
    }


@pytest.mark.parametrize(
    ("started", "ended", "duration"),
    [
        ("13:05:25.547948", "13:05:29.606867", 4059),  # 4.058919 s: each time cut to ms first
        ("13:05:23.809955", "13:05:39.809127", 16000),  # 15.999172 s
        ("13:05:25.000000", "13:05:25.000999", 0),
    ],
)
def test_duration_cuts_each_time_to_milliseconds(marquez_url: str, started: str, ended: str, duration: int) -> None:
    """durationMs is the difference of the two times each cut to whole milliseconds (db/mappers/RunMapper.java:
    `startedAt.until(endedAt, MILLIS)`, on Java 17 the difference of their toEpochMilli())."""
    ns, run_id = unique("rules-duration"), str(uuid.uuid4())
    day = _moment().date().isoformat()
    common = dict(namespace=ns, job="task", run_id=run_id)
    post_ok(
        marquez_url,
        run_event("START", event_time=f"{day}T{started}Z", **common),
        run_event("COMPLETE", event_time=f"{day}T{ended}Z", **common),
    )
    assert get_json(marquez_url, f"/jobs/runs/{run_id}")["durationMs"] == duration


def test_default_namespace_and_the_list_s_shape(marquez_url: str) -> None:
    """Marquez creates the `default` namespace when it starts (service/NamespaceService.java: init),
    and its namespace list is `{"namespaces": [...]}` with no totalCount (api/NamespaceResource.java:
    list answers `Namespaces`)."""
    body = get_json(marquez_url, "/namespaces", {"limit": 1000})
    assert set(body) == {"namespaces"}
    default = get_json(marquez_url, "/namespaces/default")
    assert default["ownerName"] == "anonymous"
    assert default["description"] == (
        "The default global namespace for dataset, job, and run metadata not belonging to a user-specified namespace."
    )
    assert not default["isHidden"]


def test_a_fresh_server_lists_only_default(start_builtin) -> None:
    """On an empty store the built-in server lists `default` alone (service/NamespaceService.java
    creates it on start)."""
    server = start_builtin()
    body = get_json(server.url, "/namespaces")
    assert [n["name"] for n in body["namespaces"]] == ["default"]
    assert "totalCount" not in body


def test_parent_facet_naming_the_job_itself(marquez_url: str) -> None:
    """A task whose parent facet names the task itself (`myjob.mytask` as the parent of
    `myjob.mytask`) is filed under `myjob`, the name up to its last dot, with no phantom
    `myjob.mytask.myjob.mytask` (db/OpenLineageDao.java: findParentJobRow and
    createParentJobRunRecord take common/Utils.java's parseParentJobName when the facet's job name
    equals the event's)."""
    ns, dag_run, task_run = unique("rules-selfparent"), str(uuid.uuid4()), str(uuid.uuid4())
    moment = _moment()
    myself = parent_facet(ns, "myjob.mytask", dag_run)
    post_ok(
        marquez_url,
        run_event("START", namespace=ns, job="myjob", run_id=dag_run, event_time=moment),
        run_event("START", namespace=ns, job="myjob.mytask", run_id=task_run, event_time=moment, run_facets=myself),
        run_event(
            "COMPLETE",
            namespace=ns,
            job="myjob.mytask",
            run_id=task_run,
            event_time=moment + dt.timedelta(seconds=1),
            run_facets=myself,
        ),
    )
    jobs = {j["name"]: j for j in get_json(marquez_url, f"/namespaces/{ns}/jobs")["jobs"]}
    assert sorted(jobs) == ["myjob", "myjob.mytask"]
    task = jobs["myjob.mytask"]
    assert (task["simpleName"], task["parentJobName"]) == ("mytask", "myjob")
    assert task["latestRun"]["id"] == task_run and task["latestRun"]["state"] == "COMPLETED"
    assert get_json(marquez_url, f"/namespaces/{ns}/jobs/myjob")["latestRun"]["id"] == dag_run


def test_outputs_of_a_failed_run_do_not_become_current(marquez_url: str) -> None:
    """A FAIL's outputs get a dataset version of the failed run, but the dataset's current version
    stays the last COMPLETE's and its updatedAt is the FAIL's event time (the dataset's upsert,
    db/OpenLineageDao.java upsertLineageDataset); only a COMPLETE makes a run's outputs current
    (service/OpenLineageService.java: createAsync -> buildJobOutput). A dataset only a failed run
    wrote has no current version."""
    ns, good, bad = unique("rules-failed"), str(uuid.uuid4()), str(uuid.uuid4())
    moment = _moment()
    out = {"namespace": ns, "name": "mart.t", "facets": {}}
    wider = dataset(ns, "mart.t", [("id", "INTEGER"), ("note", "VARCHAR")])
    only_failed = dataset(ns, "mart.scratch", [("id", "INTEGER")])
    post_ok(
        marquez_url,
        run_event("START", namespace=ns, job="load", run_id=good, event_time=moment, outputs=[out]),
        run_event("COMPLETE", namespace=ns, job="load", run_id=good, event_time=moment + dt.timedelta(seconds=5),
                  outputs=[dataset(ns, "mart.t", [("id", "INTEGER")])]),
    )  # fmt: skip
    current = get_json(marquez_url, f"/namespaces/{ns}/datasets/mart.t")["currentVersion"]
    failed_at = moment + dt.timedelta(minutes=10)
    post_ok(
        marquez_url,
        run_event("START", namespace=ns, job="load", run_id=bad, event_time=failed_at - dt.timedelta(seconds=5)),
        run_event("FAIL", namespace=ns, job="load", run_id=bad, event_time=failed_at, outputs=[wider, only_failed]),
    )
    table = get_json(marquez_url, f"/namespaces/{ns}/datasets/mart.t")
    assert table["currentVersion"] == current
    assert [f["name"] for f in table["fields"]] == ["id"]
    assert table["updatedAt"] == instant(failed_at)
    made = get_json(marquez_url, f"/namespaces/{ns}/datasets/mart.t/versions")["versions"]
    by_failed = [v for v in made if (v["createdByRun"] or {}).get("id") == bad]
    assert len(by_failed) == 1 and by_failed[0]["createdByRun"]["state"] == "FAILED"
    assert by_failed[0]["version"] != current and [f["name"] for f in by_failed[0]["fields"]] == ["id", "note"]
    scratch = get_json(marquez_url, f"/namespaces/{ns}/datasets/mart.scratch")
    assert scratch["currentVersion"] is None
    assert get_json(marquez_url, f"/jobs/runs/{bad}")["state"] == "FAILED"


def test_node_ids_with_colons_in_names(marquez_url: str) -> None:
    """/lineage and /column-lineage find datasets whose names hold ':' (`file://host/path`,
    BigQuery's `project:dataset.table`) and namespaces with `scheme://host:port`: Marquez cuts a node
    id at the colons that start neither `//` nor a digit when it has more parts than expected
    (service/models/NodeId.java: parts, asDatasetId, asDatasetFieldId)."""
    suffix = uuid.uuid4().hex[:8]
    ns_job, run_id = unique("rules-nodeid"), str(uuid.uuid4())
    file_in = dataset("file", f"file://localhost/in_{suffix}.txt", [("line", "STRING")])
    table = dataset(
        "bigquery",
        f"project:ds_{suffix}.table",
        [("line", "STRING")],
        column_lineage={"line": [("file", f"file://localhost/in_{suffix}.txt", "line")]},
    )
    pg_out = dataset(f"postgres://db-{suffix}:5432", "shop.public.orders", [("line", "TEXT")])
    moment = _moment()
    common = dict(namespace=ns_job, job="load", run_id=run_id, inputs=[file_in], outputs=[table, pg_out])
    post_ok(
        marquez_url,
        run_event("START", event_time=moment, **common),
        run_event("COMPLETE", event_time=moment + dt.timedelta(seconds=1), **common),
    )
    expected = {
        f"dataset:file:file://localhost/in_{suffix}.txt",
        f"dataset:bigquery:project:ds_{suffix}.table",
        f"dataset:postgres://db-{suffix}:5432:shop.public.orders",
        f"job:{ns_job}:load",
    }
    for node in sorted(expected):
        graph = get_json(marquez_url, "/lineage", {"nodeId": node, "depth": 20})["graph"]
        assert {n["id"] for n in graph} == expected, node
    fields = {
        f"datasetField:bigquery:project:ds_{suffix}.table:line",
        f"datasetField:file:file://localhost/in_{suffix}.txt:line",
    }
    for node in (f"dataset:bigquery:project:ds_{suffix}.table", f"dataset:file:file://localhost/in_{suffix}.txt"):
        columns = get_json(marquez_url, "/column-lineage", {"nodeId": node, "withDownstream": "true"})["graph"]
        assert {n["id"] for n in columns} == fields, node


def _node_run(marquez_url: str, ns: str, job: str) -> str | None:
    graph = get_json(marquez_url, "/lineage", {"nodeId": f"job:{ns}:{job}", "depth": 20})["graph"]
    node = next(n for n in graph if n["id"] == f"job:{ns}:{job}")
    run = node["data"]["latestRun"]
    assert node["data"]["currentRunUuid"] == (run["id"] if run else None)
    return run["id"] if run else None


def test_lineage_node_shows_the_job_s_current_run(marquez_url: str) -> None:
    """A /lineage job node's latestRun is the job's current run (service/LineageService.java:
    runDao.findRunByUuid(job.getCurrentRunUuid())): the run of the job's latest event, and for a
    child job its parent's current run at the child's latest event (db/OpenLineageDao.java:
    buildJobFromEvent passes parent.getCurrentRunUuid() to JobDao.upsertJob)."""
    ns, first, second, task_run = unique("rules-noderun"), str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    moment = _moment()
    at = lambda seconds: moment + dt.timedelta(seconds=seconds)  # noqa: E731
    task = dict(namespace=ns, job="dag.task", run_id=task_run, run_facets=parent_facet(ns, "dag", first))
    post_ok(
        marquez_url,
        run_event("START", namespace=ns, job="dag", run_id=first, event_time=at(0)),
        run_event("START", event_time=at(1), **task),
        run_event("COMPLETE", event_time=at(2), **task),
        run_event("COMPLETE", namespace=ns, job="dag", run_id=first, event_time=at(3)),
        run_event("START", namespace=ns, job="dag", run_id=second, event_time=at(10)),  # the DAG runs again
    )
    assert _node_run(marquez_url, ns, "dag") == second
    assert _node_run(marquez_url, ns, "dag.task") == first  # not the DAG's latest run
    # Two runs of one job overlapping: the node shows the run whose event came last.
    early, late = str(uuid.uuid4()), str(uuid.uuid4())
    post_ok(
        marquez_url,
        run_event("START", namespace=ns, job="load", run_id=early, event_time=at(20)),
        run_event("START", namespace=ns, job="load", run_id=late, event_time=at(21)),
        run_event("COMPLETE", namespace=ns, job="load", run_id=early, event_time=at(22)),
    )
    assert _node_run(marquez_url, ns, "load") == early


def test_symlinks_are_datasets_of_their_own(marquez_url: str) -> None:
    """Each identifier of a dataset's `symlinks` facet is listed, read and searched as a dataset of its
    own (its namespace created), sharing the dataset's row; /lineage by it answers the dataset's graph;
    an event naming it names the dataset (db/OpenLineageDao.java upsertLineageDataset: a
    dataset_symlinks row per identifier, is_primary false, and the name's row looked up first;
    R__Datasets_view.sql: one datasets_view row per symlink; db/LineageDao.java getDatasetData)."""
    suffix = uuid.uuid4().hex[:8]
    ns, hive, path = unique("rules-symlinks"), f"hive://metastore-{suffix}", f"/warehouse/db_{suffix}.db/orders"
    table = f"db_{suffix}.orders"
    written = dataset("file", path, [("id", "INTEGER")])
    written["facets"]["symlinks"] = {"identifiers": [{"namespace": hive, "name": table, "type": "TABLE"}]}
    writer, reader = str(uuid.uuid4()), str(uuid.uuid4())
    moment = _moment()
    write = dict(namespace=ns, job="write", run_id=writer, outputs=[written])
    read = dict(namespace=ns, job="read", run_id=reader, inputs=[dataset(hive, table, [("id", "INTEGER")])])
    post_ok(
        marquez_url,
        run_event("START", event_time=moment, **write),
        run_event("COMPLETE", event_time=moment + dt.timedelta(seconds=1), **write),
        run_event("START", event_time=moment + dt.timedelta(seconds=2), **read),
        run_event("COMPLETE", event_time=moment + dt.timedelta(seconds=3), **read),
    )
    primary = get_json(marquez_url, f"/namespaces/file/datasets/{path.replace('/', '%2F')}")
    assert get_json(marquez_url, f"/namespaces/{hive.replace('/', '%2F')}")["name"] == hive
    listed = get_json(marquez_url, f"/namespaces/{hive.replace('/', '%2F')}/datasets")
    assert listed["totalCount"] == 1 and [d["id"] for d in listed["datasets"]] == [{"namespace": hive, "name": table}]
    alias = get_json(marquez_url, f"/namespaces/{hive.replace('/', '%2F')}/datasets/{table}")
    assert (alias["namespace"], alias["name"], alias["physicalName"]) == (hive, table, path)
    assert alias["currentVersion"] == primary["currentVersion"] and alias["fields"] == primary["fields"]
    found = get_json(marquez_url, "/search", {"q": table, "filter": "DATASET"})["results"]
    assert [(r["namespace"], r["name"]) for r in found] == [(hive, table)]
    # A job's page and versions list the dataset under each name (JobVersionDao reads datasets_view).
    outputs = get_json(marquez_url, f"/namespaces/{ns}/jobs/write")["outputs"]
    assert sorted(outputs, key=lambda d: d["namespace"]) == [
        {"namespace": "file", "name": path},
        {"namespace": hive, "name": table},
    ]
    versions = get_json(marquez_url, f"/namespaces/{ns}/jobs/write/versions")["versions"]
    assert [sorted(v["outputs"], key=lambda d: d["namespace"]) for v in versions] == [outputs]
    for node in (f"dataset:{hive}:{table}", f"dataset:file:{path}"):
        graph = {n["id"] for n in get_json(marquez_url, "/lineage", {"nodeId": node, "depth": 20})["graph"]}
        assert graph == {f"dataset:file:{path}", f"job:{ns}:write", f"job:{ns}:read"}, node
    # A dataset's versions page by a name lists the versions written under it, shown under the
    # dataset's own name (db/DatasetVersionDao.java findAll); a run lists them by that name.
    alias_path = f"/namespaces/{hive.replace('/', '%2F')}/datasets/{table}/versions"
    primary_path = f"/namespaces/file/datasets/{path.replace('/', '%2F')}/versions"
    assert get_json(marquez_url, alias_path) == {"versions": [], "totalCount": 0}
    own = get_json(marquez_url, primary_path)["versions"]
    assert own and {v["name"] for v in own} == {path}
    rewriter = str(uuid.uuid4())
    rewrite = dict(namespace=ns, job="rewrite", run_id=rewriter, outputs=[dataset(hive, table, [("id", "INTEGER")])])
    post_ok(
        marquez_url,
        run_event("START", event_time=moment + dt.timedelta(seconds=4), **rewrite),
        run_event("COMPLETE", event_time=moment + dt.timedelta(seconds=5), **rewrite),
    )
    via_alias = get_json(marquez_url, alias_path)["versions"]
    assert [(v["name"], v["createdByRun"]["id"]) for v in via_alias] == [(path, rewriter)]
    assert rewriter not in {
        (v["createdByRun"] or {}).get("id") for v in get_json(marquez_url, primary_path)["versions"]
    }
    written = get_json(marquez_url, f"/jobs/runs/{rewriter}")["outputDatasetVersions"]
    assert [(w["datasetVersionId"]["namespace"], w["datasetVersionId"]["name"]) for w in written] == [(hive, table)]


def test_namespace_names_as_marquez_files_them(marquez_url: str) -> None:
    """A job is filed under its namespace with every character Marquez does not allow in one (all but
    letters, digits and `:/-_.@+`) made `_`; a dataset stays under its namespace as written, and the
    `_` form is made too (db/OpenLineageDao.java: formatNamespaceName in updateBaseMarquezModel and
    upsertLineageDataset; the dataset read through R__Datasets_view.sql under its symlink's)."""
    suffix = uuid.uuid4().hex[:8]
    job_ns, ds_ns = f"team a={suffix}", f"warehouse={suffix}"
    run_id = str(uuid.uuid4())
    common = dict(namespace=job_ns, job="load job", run_id=run_id, outputs=[dataset(ds_ns, "t", [("id", "INTEGER")])])
    moment = _moment()
    post_ok(
        marquez_url,
        run_event("START", event_time=moment, **common),
        run_event("COMPLETE", event_time=moment + dt.timedelta(seconds=1), **common),
    )
    names = {n["name"] for n in all_namespaces(marquez_url)}
    assert {f"team_a_{suffix}", ds_ns, f"warehouse_{suffix}"} <= names and job_ns not in names
    job = get_json(marquez_url, f"/namespaces/team_a_{suffix}/jobs/load job")
    assert job["namespace"] == f"team_a_{suffix}" and job["outputs"] == [{"namespace": ds_ns, "name": "t"}]
    assert [d["name"] for d in get_json(marquez_url, f"/namespaces/{ds_ns}/datasets")["datasets"]] == ["t"]
    assert get_json(marquez_url, f"/namespaces/warehouse_{suffix}/datasets")["datasets"] == []

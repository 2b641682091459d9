"""`lineage diff` against the fixture's Marquez (a fresh, empty one per test): a small synthetic
code location (tests/lineage/diff_location.py, a -> b -> c) whose runs are posted as OpenLineage
events, first as they should be (no drift, exit 0), then with one thing gone wrong the way it
goes wrong in life; the report must name exactly that drift, on exactly that dataset or job,
and nothing else."""

from __future__ import annotations

import datetime as dt
import json
import re
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import duckdb
import pytest
import requests
from openlineage.client.serde import Serde
from typer.testing import CliRunner

from lineage import naming
from lineage.cli import app
from lineage.diff import MarquezReader, diff, expected_graph, kinds, open_run_threshold
from lineage.diff.drift import KINDS, Node, dataset_node, job_node
from lineage.diff.kinds import KINDS as DRIFT_KINDS
from lineage.diff.materializations import dagster_runs, last_materializations
from lineage.diff.tables import read_real_tables
from lineage.events import AssetRun, DagsterRun, JobRun, OutputFacts
from tests.lineage import diff_location as loc

LOCATION = "tests.lineage.diff_location"
NS = "lakehouse"
PRODUCER = "https://example.invalid/tests/lineage/test_diff"
runner = CliRunner()
_last_tick = dt.datetime.now(dt.UTC)


def _tick() -> dt.datetime:
    """Now, but strictly after the previous event: event times follow the real clock (stale
    lineage compares them with Dagster runs' start times) and never tie."""
    global _last_tick
    _last_tick = max(_last_tick + dt.timedelta(milliseconds=1), dt.datetime.now(dt.UTC))
    return _last_tick


# Dagster runs (runs of the `dagster` job) a test opened in a fresh Marquez, closed when the test
# ends (the Marquez fixture checks no Dagster run is left RUNNING/NEW): (Marquez URL, closer).
_LEFT_OPEN: list[tuple[str, Callable[[], None]]] = []


@pytest.fixture
def fresh_marquez(fresh_marquez):
    """The Marquez fixture's factory; before its servers stop, the Dagster runs the test left
    open there (a clean pipeline's parent run, or one left open on purpose) get their end event."""
    urls: list[str] = []

    def start():
        server = fresh_marquez()
        urls.append(server.url)
        return server

    yield start
    for _, close in [c for c in _LEFT_OPEN if c[0] in urls]:
        close()
    _LEFT_OPEN[:] = [c for c in _LEFT_OPEN if c[0] not in urls]


class Emitter:
    """Posts OpenLineage run events to a Marquez, as the project's emitters would: child runs
    under one Dagster run (the `dagster` job's run `parent_run`), which STARTs with its first
    child and COMPLETEs when the test ends, unless the test posts that run's events itself."""

    def __init__(self, url: str):
        self.url = url
        self.parent_run = str(uuid.uuid4())
        self.parent_state: str | None = None

    def post(self, event: dict) -> None:
        if event["job"]["name"] == naming.dagster_run_job_name() and event["run"]["runId"] == self.parent_run:
            self.parent_state = event["eventType"]  # the test posts the Dagster run's own events
        elif "parent" in event["run"]["facets"] and self.parent_state is None:
            self.parent_state = "START"
            self._send(self.event("START", self.parent_run, naming.dagster_run_job_name(), [], [], parent=False))
            _LEFT_OPEN.append((self.url, self.close))
        self._send(event)

    def close(self) -> None:
        if self.parent_state == "START":
            self.post(self.event("COMPLETE", self.parent_run, naming.dagster_run_job_name(), [], [], parent=False))

    def _send(self, event: dict) -> None:
        response = requests.post(f"{self.url}/api/v1/lineage", json=event, timeout=30)
        assert response.status_code in (200, 201), response.text

    def event(self, event_type: str, run_id: str, job: str, inputs, outputs, namespace: str = NS, parent: bool = True):
        # Strictly increasing event times across emitters: later events are later in Marquez too.
        moment = _tick()
        facets = {}
        if parent:
            facets["parent"] = {
                "_producer": PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet",
                "run": {"runId": self.parent_run},
                "job": {"namespace": namespace, "name": naming.dagster_run_job_name()},
            }
        return {
            "eventType": event_type,
            "eventTime": moment.isoformat().replace("+00:00", "Z"),
            "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": run_id, "facets": facets},
            "job": {"namespace": namespace, "name": job},
            "inputs": [{"namespace": d.namespace, "name": d.name} for d in inputs],
            "outputs": [
                {
                    "namespace": d.namespace,
                    "name": d.name,
                    "facets": {
                        "schema": {
                            "_producer": PRODUCER,
                            "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
                            "fields": [{"name": n, "type": t} for n, t in columns.items()],
                        }
                    },
                }
                for d, columns in outputs
            ],
        }

    def run(self, job: str, inputs, outputs, end: str = "COMPLETE", **kwargs) -> None:
        """One run: START, then `end` (None: the end event is lost)."""
        run_id = str(uuid.uuid4())
        self.post(self.event("START", run_id, job, inputs, outputs, **kwargs))
        if end:
            self.post(self.event(end, run_id, job, inputs, outputs, **kwargs))


def ds(name: str) -> naming.DatasetId:
    return loc.lineage_dataset_of(_Key(name))


class _Key:
    def __init__(self, name: str):
        self.path = [name]


def job(name: str) -> str:
    return naming.asset_job_name(name)


def emit_pipeline(emitter: Emitter, *, skip: tuple[str, ...] = (), c_dataset: naming.DatasetId | None = None) -> None:
    """A clean materialization of a -> b -> c."""
    lake = naming.lake_dataset(loc.LAKE)
    c = c_dataset or ds("c")
    runs = {
        "a": ([lake], [(ds("a"), loc.COLUMNS["a"])]),
        "b": ([ds("a")], [(ds("b"), loc.COLUMNS["b"])]),
        "c": ([ds("b")], [(c, loc.COLUMNS["c"])]),
    }
    for name, (inputs, outputs) in runs.items():
        if name not in skip:
            emitter.run(job(name), inputs, outputs)


def report_of(url: str, instance=None, tables=None, dbt_manifests=(), **location):
    """The diff of the location (`dbt_manifests`: whose dbt jobs are ours; none by default, so the
    project's own manifests play no part) against the Marquez at `url`."""
    defs = loc.make_defs(**location)
    expected = expected_graph(
        defs, dataset_of=loc.lineage_dataset_of, external_inputs_of=loc.lineage_external_inputs, location=LOCATION,
        dbt_manifests=dbt_manifests,
    )  # fmt: skip
    assert not expected.problems
    if instance is not None:
        expected.materialized = last_materializations(instance, expected.assets)
        expected.dagster_runs = dagster_runs(instance, dt.datetime.now(dt.UTC) - open_run_threshold())
    expected.tables = tables
    return diff(expected, MarquezReader(url))


def drifts_of(url: str, **kwargs) -> set[tuple[str, Node]]:
    return {(d.kind, d.node) for d in report_of(url, **kwargs).drifts}


def cli(*args: str):
    return runner.invoke(app, ["diff", "-m", LOCATION, *args])


@pytest.fixture
def marquez(fresh_marquez):
    """A fresh Marquez holding a clean run of the location."""
    server = fresh_marquez()
    emit_pipeline(Emitter(server.url))
    return server.url


def test_clean_pipeline_reports_nothing_and_exits_0(marquez):
    # Another team in the same Marquez: its own job namespace, a Postgres namespace of the same
    # scheme, a failed run, a dataset named like ours. None of it is our business.
    other = Emitter(marquez)
    theirs = naming.DatasetId("postgres://warehouse.other-team:5432", ds("c").name)
    other.run("nightly_export", [naming.DatasetId("s3://other-bucket", "exports")], [(theirs, {"x": "int"})], end="FAIL", namespace="other-team", parent=False)  # fmt: skip

    result = cli("--url", marquez, "--format", "json", "--fail-on", "info")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["version"] == 1
    assert report["marquez"] == marquez
    assert report["kinds"] == [k.as_dict() for k in DRIFT_KINDS]  # what the UI draws kinds from
    assert report["drifts"] == []
    summary = report["summary"]
    assert summary["assets"] == 3 and summary["datasets_observed"] == 3  # a, b, c (not the lake: `file` is shared)
    assert summary["by_severity"] == {"info": 0, "warning": 0, "error": 0}
    assert summary["job_namespace"] == NS

    table = cli("--url", marquez)
    assert table.exit_code == 0 and "no drift" in table.output
    markdown = cli("--url", marquez, "--format", "markdown")
    assert markdown.exit_code == 0 and "No drift." in markdown.output


def test_renamed_asset_leaves_a_missing_dataset_and_an_orphan(marquez):
    # b renamed to b_v2 in code; Marquez still has b from the last runs, nothing under b_v2.
    assert drifts_of(marquez, b_name="b_v2") == {
        ("missing_dataset", dataset_node(ds("b_v2"))),
        ("orphan_dataset", dataset_node(ds("b"))),
    }


def test_soft_deleted_dataset_is_missing(marquez):
    b = ds("b")
    response = requests.delete(
        f"{marquez}/api/v1/namespaces/{quote(b.namespace, safe='')}/datasets/{quote(b.name, safe='')}", timeout=30
    )
    assert response.status_code == 200, response.text
    assert drifts_of(marquez) == {("missing_dataset", dataset_node(b))}

    result = cli("--url", marquez, "--format", "json")
    assert result.exit_code == 1
    (only,) = json.loads(result.stdout)["drifts"]
    assert only["kind"] == "missing_dataset" and only["severity"] == "error" and only["asset"] == "b"
    assert only["subject"] == dataset_node(b).id and only["fix"]


def test_event_for_a_table_no_asset_owns_is_an_orphan(marquez):
    scratch = naming.duckdb_dataset("main", "scratch_copy")
    Emitter(marquez).run("notebook.scratch_copy", [ds("b")], [(scratch, {"x": "INTEGER"})], parent=False)
    assert drifts_of(marquez) == {("orphan_dataset", dataset_node(scratch))}
    # A warning: fails only at --fail-on warning or below.
    assert cli("--url", marquez, "--format", "json").exit_code == 0
    assert cli("--url", marquez, "--format", "json", "--fail-on", "warning").exit_code == 1


def test_altered_columns_are_schema_drift(marquez):
    altered = {"batch_id": "VARCHAR", "ts": "TIMESTAMP_NS", "value_raw": "DOUBLE"}  # ts retyped, value renamed
    Emitter(marquez).run(job("b"), [ds("a")], [(ds("b"), altered)])
    report = report_of(marquez)
    assert {(d.kind, d.node) for d in report.drifts} == {("schema_drift", dataset_node(ds("b")))}
    message = report.drifts[0].message
    assert "added value_raw" in message and "removed value" in message and "ts TIMESTAMP -> TIMESTAMP_NS" in message


def test_failed_run_is_a_status_mismatch(marquez):
    Emitter(marquez).run(job("c"), [ds("b")], [(ds("c"), loc.COLUMNS["c"])], end="FAIL")
    assert drifts_of(marquez) == {("status_mismatch", job_node(NS, job("c")))}


def test_lost_complete_event_is_a_status_mismatch(fresh_marquez):
    url = fresh_marquez().url
    emitter = Emitter(url)
    emit_pipeline(emitter, skip=("c",))
    emitter.run(job("c"), [ds("b")], [(ds("c"), loc.COLUMNS["c"])], end=None)  # only START arrived
    assert drifts_of(url) == {("status_mismatch", job_node(NS, job("c")))}


def test_changed_postgres_host_string_is_a_namespace_mismatch(fresh_marquez):
    url = fresh_marquez().url
    c = ds("c")
    host_port = c.namespace.removeprefix("postgres://")
    host, port = host_port.rsplit(":", 1)
    other_host = "localhost" if host != "localhost" else "127.0.0.1"
    emitted = naming.DatasetId(f"postgres://{other_host}:{port}", c.name)
    emit_pipeline(Emitter(url), c_dataset=emitted)
    assert drifts_of(url) == {("namespace_mismatch", dataset_node(c))}


def test_dropped_and_extra_inputs_are_edge_drift(marquez):
    emitter = Emitter(marquez)
    emitter.run(job("c"), [ds("a")], [(ds("c"), loc.COLUMNS["c"])])  # reads a instead of b
    assert drifts_of(marquez) == {
        ("missing_edge", dataset_node(ds("c"))),
        ("unexpected_edge", dataset_node(ds("c"))),
    }
    kinds = {d.kind: d.message for d in report_of(marquez).drifts}
    assert ds("b").name in kinds["missing_edge"] and ds("a").name in kinds["unexpected_edge"]


def test_a_run_whose_events_were_lost_is_stale_lineage(fresh_marquez, tmp_path):
    url = fresh_marquez().url
    defs = loc.make_defs()
    assets = list(defs.assets)
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        assert dg.materialize(assets, instance=instance).success  # run 1 ...
        emit_pipeline(Emitter(url))  # ... and its events, delivered
        assert drifts_of(url, instance=instance) == set()
        # Run 2 materializes b again, with lineage off (or its outbox lost): Marquez never hears of it.
        second = dg.materialize(assets, instance=instance, selection=["b"])
        assert second.success
        report = report_of(url, instance=instance)
    assert {(d.kind, d.node) for d in report.drifts} == {("stale_lineage", job_node(NS, job("b")))}
    (drift,) = report.drifts
    assert second.run_id in drift.message and drift.severity == "error" and drift.asset == "b"


# --- open runs, orphan jobs, a job writing in a look-alike namespace --------------------------


# A dbt project `proj` as dbt-ol would see it: one model `m` and a test of it.
DBT_MANIFEST = {
    "metadata": {"project_name": "proj", "adapter_type": "duckdb"},
    "nodes": {
        "model.proj.m": {"unique_id": "model.proj.m", "resource_type": "model", "database": "lakehouse", "schema": "main"},
        "test.proj.not_null_m_id.1a": {"unique_id": "test.proj.not_null_m_id.1a", "resource_type": "test",
                                       "test_metadata": {"name": "not_null"}},
        "test.proj.m_reconciles": {"unique_id": "test.proj.m_reconciles", "resource_type": "test"},
    },
    "sources": {},
    "parent_map": {"test.proj.not_null_m_id.1a": ["model.proj.m"], "test.proj.m_reconciles": ["model.proj.m"]},
}  # fmt: skip


def dbt_event(event_type: str, run_id: str, job: str, parent_run: str, parent_job: str) -> dict:
    """A dbt-ol event in plain OpenLineage JSON: its job named as dbt-ol names it, its parent the
    wrapper run (for a node) or the Dagster run (for the wrapper), no root."""
    return {
        "eventType": event_type,
        "eventTime": _tick().isoformat().replace("+00:00", "Z"),
        "producer": PRODUCER,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": run_id, "facets": {"parent": {
            "_producer": PRODUCER,
            "_schemaURL": "https://openlineage.io/spec/facets/1-1-0/ParentRunFacet.json#/$defs/ParentRunFacet",
            "run": {"runId": parent_run}, "job": {"namespace": NS, "name": parent_job},
        }}},
        "job": {"namespace": NS, "name": job},
        "inputs": [], "outputs": [],
    }  # fmt: skip


def post_events(url: str, *events) -> None:
    """Events built by the project's own builders (lineage/events.py), posted as they are sent."""
    for event in events:
        body = json.dumps(event) if isinstance(event, dict) else Serde.to_json(event)
        response = requests.post(
            f"{url}/api/v1/lineage", data=body, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert response.status_code in (200, 201), response.text


def asset_run(name: str, dagster_run: DagsterRun) -> AssetRun:
    upstream = {"a": [naming.lake_dataset(loc.LAKE)], "b": [ds("a")], "c": [ds("b")]}[name]
    return AssetRun(name, dagster_run, upstream, [ds(name)])


def facts(name: str) -> list[OutputFacts]:
    return [OutputFacts(ds(name), tuple(loc.COLUMNS[name].items()))]


def test_a_run_left_open_after_its_dagster_run_ended_is_an_open_run(fresh_marquez, tmp_path):
    """Dagster runs materialize the location; their events (the project's builders: the `dagster`
    job's run, each asset's run under it) reach Marquez, but for one asset run and then for one
    Dagster run the end event is lost. Compared with the Dagster instance, each is an open run
    on exactly its job; a run whose Dagster run is still going is not."""
    url = fresh_marquez().url
    assets = list(loc.make_defs().assets)
    with dg.DagsterInstance.local_temp(str(tmp_path)) as instance:
        first = dg.materialize(assets, instance=instance)
        assert first.success
        run1 = DagsterRun(first.run_id, "__ASSET_JOB")
        children = [asset_run(n, run1) for n in ("a", "b", "c")]
        runs = [e for r in children for e in (r.start(), r.complete(facts(r.asset_key)))]
        post_events(url, JobRun(run1).start(), *runs)
        post_events(url, JobRun(run1).complete())
        assert drifts_of(url, instance=instance) == set()

        # Run 2 materializes b: the Dagster run's START and COMPLETE arrive, b's run only STARTs.
        second = dg.materialize(assets, instance=instance, selection=["b"])
        run2 = DagsterRun(second.run_id, "__ASSET_JOB")
        post_events(url, JobRun(run2).start(), asset_run("b", run2).start(), JobRun(run2).complete())
        report = report_of(url, instance=instance)
        assert {(d.kind, d.node) for d in report.drifts} == {("open_run", job_node(NS, job("b")))}
        (drift,) = report.drifts
        assert drift.severity == "warning" and drift.asset == "b"
        assert second.run_id in drift.message and "RUNNING" in drift.message and "SUCCESS" in drift.message

        # dbt-ol's runs in run 2: the wrapper ends, the model's node run only STARTs. The node's
        # parent is the wrapper's run, whose parent is the Dagster run.
        wrapper, wrapper_run = naming.dbt_wrapper_job_name("proj"), str(uuid.uuid4())
        node_run = str(uuid.uuid4())
        post_events(
            url,
            dbt_event("START", wrapper_run, wrapper, run2.lineage_run_id, naming.dagster_run_job_name()),
            dbt_event("START", node_run, "lakehouse.main.proj.m.build.run", wrapper_run, wrapper),
            dbt_event("COMPLETE", wrapper_run, wrapper, run2.lineage_run_id, naming.dagster_run_job_name()),
        )
        node_job = naming.dbt_node_job_name("proj", "lakehouse.main.proj.m.build.run")
        report = report_of(url, instance=instance, dbt_manifests=[DBT_MANIFEST])
        assert {(d.kind, d.node) for d in report.drifts} == {
            ("open_run", job_node(NS, job("b"))),
            ("open_run", job_node(NS, node_job)),  # filed under its wrapper by Marquez
        }
        assert node_run in next(d.message for d in report.drifts if d.node.name == node_job)

        # Run 3 materializes c: c's run ends, the Dagster run's own end event is lost.
        third = dg.materialize(assets, instance=instance, selection=["c"])
        run3 = DagsterRun(third.run_id, "__ASSET_JOB")
        c3 = asset_run("c", run3)
        post_events(url, JobRun(run3).start(), c3.start(), c3.complete(facts("c")))
        _LEFT_OPEN.append((url, lambda: post_events(url, JobRun(run3).complete())))
        assert drifts_of(url, instance=instance, dbt_manifests=[DBT_MANIFEST]) == {
            ("open_run", job_node(NS, job("b"))),
            ("open_run", job_node(NS, node_job)),
            ("open_run", job_node(NS, naming.dagster_run_job_name())),
        }

        # A Dagster run still going (started 7 hours ago, not ended): its open runs in Marquez are no
        # drift, however long past the threshold.
        live = dg.DagsterRun(job_name="__ASSET_JOB", run_id=str(uuid.uuid4()), status=dg.DagsterRunStatus.STARTED)
        instance.add_run(live)
        run4 = DagsterRun(live.run_id, "__ASSET_JOB")
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=7)
        a4 = Serde.to_dict(asset_run("a", run4).start())
        a4["eventTime"] = (long_ago + dt.timedelta(minutes=1)).isoformat()
        post_events(url, JobRun(run4).start(at=long_ago), a4)
        _LEFT_OPEN.append((url, lambda: post_events(url, JobRun(run4).complete())))
        assert drifts_of(url, instance=instance, dbt_manifests=[DBT_MANIFEST]) == {
            ("open_run", job_node(NS, job("b"))),
            ("open_run", job_node(NS, node_job)),
            ("open_run", job_node(NS, naming.dagster_run_job_name())),
        }


def test_a_run_open_past_the_threshold_without_a_dagster_run_is_an_open_run(marquez, monkeypatch):
    """No Dagster instance to compare with: a run START-ed 7 hours ago and never ended is an open
    run (threshold LINEAGE_DIFF_OPEN_RUN_HOURS, default 6); one started a minute ago is not yet.
    The runs' parent (the `dagster` job's run) 7 hours ago started and ended: it is not open."""
    emitter = Emitter(marquez)
    started = dt.datetime.now(dt.UTC) - dt.timedelta(hours=7)

    def at(event: dict, minutes: int) -> dict:
        event["eventTime"] = (started + dt.timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")
        return event

    dagster_job = naming.dagster_run_job_name()
    old = emitter.event("START", str(uuid.uuid4()), job("c"), [ds("b")], [(ds("c"), loc.COLUMNS["c"])])
    emitter.post(at(emitter.event("START", emitter.parent_run, dagster_job, [], [], parent=False), 0))
    emitter.post(at(old, 1))
    emitter.post(at(emitter.event("COMPLETE", emitter.parent_run, dagster_job, [], [], parent=False), 2))
    # Another Dagster run, a minute old, whose run of a has only just started.
    Emitter(marquez).run(job("a"), [naming.lake_dataset(loc.LAKE)], [(ds("a"), loc.COLUMNS["a"])], end=None)

    report = report_of(marquez)
    assert {(d.kind, d.node) for d in report.drifts} == {("open_run", job_node(NS, job("c")))}
    (drift,) = report.drifts
    assert old["run"]["runId"] in drift.message and "6 h" in drift.message
    assert drift.severity == "warning" and drift.asset == "c"

    monkeypatch.setenv("LINEAGE_DIFF_OPEN_RUN_HOURS", "8")  # the setting moves the threshold
    assert drifts_of(marquez) == set()


def test_a_retired_assets_job_still_reading_our_tables_is_an_orphan_job(marquez):
    """A job of our namespace no asset owns: a retired asset's `dagster.asset.<key>` still reading
    b and c, and a dbt node job of a model gone from the manifest. The dbt jobs of what the
    manifest holds (wrapper, model run, its tests) are ours."""
    emitter = Emitter(marquez)
    retired = naming.asset_job_name("weekly_report")
    emitter.run(retired, [ds("b"), ds("c")], [])
    manifest = DBT_MANIFEST
    wrapper = naming.dbt_wrapper_job_name("proj")
    model_run = naming.dbt_node_job_name("proj", "lakehouse.main.proj.m.build.run")
    model_test = naming.dbt_node_job_name("proj", "lakehouse.main.proj.m.build.test")
    singular_test = naming.dbt_node_job_name("proj", "test.proj.m_reconciles")  # dbt-ol: the test's unique id
    gone = naming.dbt_node_job_name("proj", "lakehouse.main.proj.dropped_model.build.run")
    for name in (wrapper, model_run, model_test, singular_test, gone):
        emitter.run(name, [ds("b")], [])

    report = report_of(marquez, dbt_manifests=[manifest])
    assert {(d.kind, d.node) for d in report.drifts} == {
        ("orphan_job", job_node(NS, retired)),
        ("orphan_job", job_node(NS, gone)),
    }
    assert all(d.severity == "warning" for d in report.drifts)
    message = next(d.message for d in report.drifts if d.node.name == retired)
    assert ds("b").name in message and ds("c").name in message
    # Without the manifest, none of the dbt jobs is ours.
    assert {d.node.name for d in report_of(marquez).drifts} == {
        retired,
        wrapper,
        model_run,
        model_test,
        singular_test,
        gone,
    }


def test_our_job_writing_in_a_look_alike_namespace_is_a_namespace_mismatch_on_the_job(marquez):
    """c's job runs again and writes c under `localhost` instead of `127.0.0.1` (or the other way
    round): the right dataset is still in Marquez from the clean run, so nothing is missing; the
    job is named, once, and its edges are not reported again."""
    c = ds("c")
    host, port = c.namespace.removeprefix("postgres://").rsplit(":", 1)
    look_alike = naming.DatasetId(f"postgres://{'localhost' if host != 'localhost' else '127.0.0.1'}:{port}", c.name)
    Emitter(marquez).run(job("c"), [ds("b")], [(look_alike, loc.COLUMNS["c"])])
    report = report_of(marquez)
    assert {(d.kind, d.node) for d in report.drifts} == {("namespace_mismatch", job_node(NS, job("c")))}
    (drift,) = report.drifts
    assert drift.severity == "error" and drift.asset == "c" and look_alike.namespace in drift.message


def test_a_column_added_to_the_real_table_is_schema_drift(marquez, tmp_path):
    """`ALTER TABLE ... ADD COLUMN` behind the pipeline's back: the real table and Marquez's fields
    disagree. The DuckDB file is the one the naming authority names (LAKEHOUSE_DUCKDB_PATH)."""
    path = Path(ds("a").namespace.removeprefix("duckdb://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for name in ("a", "b"):
            columns = ", ".join(f"{c} {t}" for c, t in loc.COLUMNS[name].items())
            con.execute(f"create or replace table main.{name} ({columns})")
    datasets = [ds("a"), ds("b"), ds("c")]
    real = read_real_tables(datasets, postgres_url_of=lambda namespace: None)
    assert real.of(ds("b")) == loc.COLUMNS["b"] and real.of(ds("c")) is None  # no credentials: not read
    assert drifts_of(marquez, tables=real) == set()

    with duckdb.connect(str(path)) as con:
        con.execute("alter table main.b add column operator_note varchar")
    report = report_of(marquez, tables=read_real_tables(datasets, postgres_url_of=lambda namespace: None))
    assert {(d.kind, d.node) for d in report.drifts} == {("schema_drift", dataset_node(ds("b")))}
    assert "the table has operator_note, which Marquez does not record" in report.drifts[0].message
    with duckdb.connect(str(path)) as con:
        con.execute("drop table main.a")
        con.execute("drop table main.b")


def test_html_report_is_one_page_with_the_graph_and_the_drift(marquez, tmp_path, monkeypatch):
    scratch = naming.duckdb_dataset("main", "scratch_copy")
    Emitter(marquez).run("notebook.scratch_copy", [ds("b")], [(scratch, {"x": "INTEGER"})], parent=False)
    last = tmp_path / "reports" / "last.json"
    monkeypatch.setenv("LINEAGE_DIFF_REPORT", str(last))
    page = tmp_path / "diff.html"
    result = cli("--url", marquez, "--format", "html", "-o", str(page), "--no-tables")
    assert result.exit_code == 0, result.output  # a warning; --fail-on error
    html = page.read_text()
    assert html.startswith("<!doctype html>") and "<svg" in html
    assert "<script" not in html and "<link" not in html and "src=" not in html  # self-contained
    for dataset in (ds("a"), ds("b"), ds("c"), scratch):  # each node: its schema.table, the full name as tooltip
        assert ">" + ".".join(dataset.name.split(".")[-2:]) + "<" in html and dataset.name in html
    assert 'stroke="#e89f0c"' in html  # the orphan, drawn as a warning
    assert "orphan_dataset" in html
    orphan = kinds.BY_NAME["orphan_dataset"]
    assert f"background:{orphan.color}" in html and orphan.label in html  # the kind, from the registry
    # Laid out by the UI's layered layout: a -> b -> c left to right.
    x_of = {m[2]: float(m[1]) for m in re.finditer(r'<rect x="([\d.]+)".*?<text [^>]*>([^<]*)</text>', html)}
    xs = [x_of[".".join(d.name.split(".")[-2:])] for d in (ds("a"), ds("b"), ds("c"))]
    assert xs[0] < xs[1] < xs[2], x_of
    # The report is kept as the last one, for the lineage UI.
    saved = json.loads(last.read_text())
    (drift,) = saved["drifts"]
    assert drift["node"] == {"type": "dataset", "namespace": scratch.namespace, "name": scratch.name}
    assert saved["summary"]["stale_lineage_checked"] is True


def test_dbt_assets_map_to_dbt_ol_node_jobs():
    from lineage.diff.expected import _job_name

    dbt = {
        "dagster_dbt/unique_id": "model.bioreactor.stg_bioreactor",
        "dagster/table_name": "lakehouse.staging.stg_bioreactor",
    }
    assert _job_name(("stg_bioreactor",), dbt) == naming.dbt_node_job_name(
        "bioreactor", "lakehouse.staging.bioreactor.stg_bioreactor.build.run"
    )
    snapshot = {"dagster_dbt/unique_id": "snapshot.bioreactor.snap", "dagster/table_name": "lakehouse.snapshots.snap"}
    assert _job_name(("snap",), snapshot).endswith("lakehouse.snapshots.bioreactor.snap.build.snapshot")
    assert _job_name(("tag_specs",), {"dagster_dbt/unique_id": "seed.bioreactor.tag_specs"}) is None  # no dbt-ol job
    assert _job_name(("raw_bioreactor_data",), {}) == naming.asset_job_name("raw_bioreactor_data")
    with pytest.raises(ValueError, match="table_name"):
        _job_name(("m",), {"dagster_dbt/unique_id": "model.p.m"})


def test_documented_dbt_columns_are_a_lower_bound():
    from lineage.diff.drift import _schema_drift
    from lineage.diff.expected import ExpectedAsset
    from lineage.diff.observed import ObservedDataset

    d = naming.DatasetId("duckdb:///x.duckdb", "x.main.m")
    seen = ObservedDataset(d, {"id": "VARCHAR", "undocumented": "INTEGER"})
    partial = ExpectedAsset("m", d, None, (), {"id": "varchar"}, columns_complete=False)
    assert _schema_drift(partial, seen) == []  # types compare case-insensitively; extra columns are fine
    complete = ExpectedAsset("m", d, None, (), {"id": None}, columns_complete=True)
    (drift,) = _schema_drift(complete, seen)
    assert "added undocumented" in drift.message and "retyped" not in drift.message  # unknown type: not compared


def test_asset_without_a_dataset_is_a_configuration_problem():
    # `d` has no dataset in the location's naming: reported as a problem, not a crash, not drift.
    expected = expected_graph(
        loc.make_defs(extra=("d",)), dataset_of=loc.lineage_dataset_of, external_inputs_of=loc.lineage_external_inputs
    )
    assert len(expected.problems) == 1 and "asset d" in expected.problems[0]
    assert set(expected.assets) == {"a", "b", "c"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unmapped_asset_in_a_location_file_exits_2(tmp_path):
    location = tmp_path / "location_with_d.py"
    location.write_text(
        "from tests.lineage.diff_location import lineage_dataset_of, lineage_external_inputs, make_defs\n"
        "defs = make_defs(extra=('d',))\n"
    )
    result = runner.invoke(app, ["diff", "-m", str(location), "--url", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "configuration error" in result.output and "asset d" in result.output
    assert "unreachable" not in result.output  # the configuration is checked before Marquez is asked


def test_unreachable_marquez_exits_2():
    url = f"http://127.0.0.1:{_free_port()}"
    result = cli("--url", url, "--format", "json")
    assert result.exit_code == 2
    assert "Marquez unreachable" in result.output and url in result.output
    assert result.stdout == ""


def test_wrong_configuration_exits_2():
    result = runner.invoke(app, ["diff", "-m", "tests.lineage.no_such_location", "--url", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "configuration error" in result.output and "no_such_location" in result.output
    bad_url = runner.invoke(app, ["diff", "-m", LOCATION, "--url", "ftp://nowhere"])
    assert bad_url.exit_code == 2 and "configuration error" in bad_url.output


def test_every_page_is_read(marquez):
    # Two items a page: the DuckDB datasets (a, b, scratch) and the jobs (a, b, c, the `dagster`
    # parent, notebook.scratch) take several pages each.
    Emitter(marquez).run("notebook.scratch", [], [(naming.duckdb_dataset("main", "scratch"), {"x": "INTEGER"})], parent=False)  # fmt: skip
    expected = expected_graph(
        loc.make_defs(), dataset_of=loc.lineage_dataset_of, external_inputs_of=loc.lineage_external_inputs
    )
    small, large = MarquezReader(marquez, page=2), MarquezReader(marquez)
    paged, whole = diff(expected, small), diff(expected, large)
    assert [d.as_dict() for d in paged.drifts] == [d.as_dict() for d in whole.drifts]
    assert {d.kind for d in paged.drifts} == {"orphan_dataset"}
    assert set(paged.observed.datasets) == set(whole.observed.datasets) and len(whole.observed.datasets) == 4
    assert set(paged.observed.jobs) == set(whole.observed.jobs)
    # Whole: one page per dataset namespace (DuckDB, Postgres) and one of jobs; nothing missing,
    # so no other namespace is read.
    assert large.calls == 3 and small.calls > 3


def test_drift_kinds_are_declared_once():
    """kinds.py is the one declaration: drift.py's kinds, the JSON's `kinds` and the README's drift
    table (which must list exactly the registered kinds, each with its severity)."""
    assert tuple(k.name for k in DRIFT_KINDS) == KINDS
    assert all(k.label and k.color.startswith("#") and k.when for k in DRIFT_KINDS)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("| drift | severity | meaning |", 1)[1].split("\n\n", 1)[0]
    documented: dict[str, str] = {}
    for row in table.strip().splitlines()[1:]:
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        names = re.findall(r"`([a-z_]+)`", cells[0])
        severities = [s.strip() for s in cells[1].split("/")]
        assert len(names) == len(severities), row
        documented.update(zip(names, severities, strict=True))
    assert documented == {k.name: k.severity for k in DRIFT_KINDS}, "README's drift table vs lineage/diff/kinds.py"

"""Dagster-side run events: shape, facets, and validity against the OpenLineage JSON schemas."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.serde import Serde
from openlineage.common.provider.dbt.utils import get_parent_run_metadata

from lineage import events, naming
from lineage.events import AssetRun, DagsterRun, JobRun, OutputFacts, TimeWindow
from lineage.naming import DatasetId
from lineage.outbox import Outbox
from lineage.transport import OutboxConfig, OutboxTransport
from tests.openlineage_spec import CORE_ID, schemas, validator

UTC = dt.UTC
DAGSTER_RUN = DagsterRun(run_id="7b0f5a1e-54c1-4b53-9c0e-2f7c1d3e9a10", job_name="partition_pipeline")
WINDOW = TimeWindow(dt.datetime(2025, 1, 3, tzinfo=UTC), dt.datetime(2025, 1, 4, tzinfo=UTC))
COLUMNS = [("batch_id", "VARCHAR"), ("ts", "TIMESTAMP WITH TIME ZONE"), ("value", "DOUBLE")]


@pytest.fixture(scope="module")
def validate():
    """Validates an event against OpenLineage.json and each facet against its own schema (by the
    facet's `_schemaURL`), from the pinned copy in tests/data/openlineage/."""
    return validator()


def test_the_pinned_spec_schemas_are_complete():
    """Every facet this project or dbt-ol emits has its schema in the pinned copy, so none goes unvalidated."""
    found, source = schemas()
    assert CORE_ID in found, source
    emitted = {
        "ColumnLineageDatasetFacet", "DataQualityAssertionsDatasetFacet", "DocumentationDatasetFacet",
        "ErrorMessageRunFacet", "JobTypeJobFacet", "NominalTimeRunFacet", "OutputStatisticsOutputDatasetFacet",
        "ParentRunFacet", "SchemaDatasetFacet", "SQLJobFacet", "TagsRunFacet", "ProcessingEngineRunFacet",
        "DatasourceDatasetFacet", "DocumentationJobFacet",
    }  # fmt: skip
    pinned = {schema_id.rsplit("/", 1)[-1].removesuffix(".json") for schema_id in found}
    assert emitted <= pinned, emitted - pinned


def _ids(datasets: list[dict[str, Any]]) -> list[DatasetId]:
    return [DatasetId(d["namespace"], d["name"]) for d in datasets]


def _as_dict(event) -> dict[str, Any]:
    return json.loads(Serde.to_json(event))


def _check_common(event: dict[str, Any], validate, state: str) -> None:
    validate(event)
    assert event["eventType"] == state
    assert event["producer"] == events.PRODUCER
    assert event["schemaURL"].endswith("/OpenLineage.json#/$defs/RunEvent")
    dt.datetime.fromisoformat(event["eventTime"])


def _raw_run() -> AssetRun:
    return AssetRun.for_asset("raw_bioreactor_data", DAGSTER_RUN, window=WINDOW)


def test_asset_start(validate):
    run = _raw_run()
    start = _as_dict(run.start())
    _check_common(start, validate, "START")
    assert uuid.UUID(start["run"]["runId"]).version == 7
    assert start["job"] == {
        "namespace": "lakehouse",
        "name": "dagster.asset.raw_bioreactor_data",
        "facets": {
            "jobType": {
                "_producer": events.PRODUCER,
                "_schemaURL": "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet",
                "processingType": "BATCH",
                "integration": "DAGSTER",
                "jobType": "ASSET",
            }
        },
    }
    parent = start["run"]["facets"]["parent"]
    parent_id = str(uuid.uuid5(events._DAGSTER_RUN_UUID_NS, DAGSTER_RUN.run_id))
    assert parent["run"]["runId"] == parent_id
    assert parent["job"] == {"namespace": "lakehouse", "name": "dagster", "facets": {}}
    assert parent["root"]["run"]["runId"] == parent_id
    nominal = start["run"]["facets"]["nominalTime"]
    assert nominal["nominalStartTime"] == "2025-01-03T00:00:00+00:00"
    assert nominal["nominalEndTime"] == "2025-01-04T00:00:00+00:00"
    assert _ids(start["inputs"]) == [naming.lake_dataset()]
    assert _ids(start["outputs"]) == [naming.dataset_for_asset("raw_bioreactor_data")]


def test_asset_complete_carries_schema_and_statistics(validate):
    run = _raw_run()
    output = naming.dataset_for_asset("raw_bioreactor_data")
    complete = _as_dict(run.complete([OutputFacts(output, COLUMNS, row_count=1200, size_bytes=34567)]))
    _check_common(complete, validate, "COMPLETE")
    assert complete["run"]["runId"] == run.run_id
    (out,) = complete["outputs"]
    assert [(f["name"], f["type"], f["ordinal_position"]) for f in out["facets"]["schema"]["fields"]] == [
        ("batch_id", "VARCHAR", 1),
        ("ts", "TIMESTAMP WITH TIME ZONE", 2),
        ("value", "DOUBLE", 3),
    ]
    stats = out["outputFacets"]["outputStatistics"]
    assert (stats["rowCount"], stats["size"]) == (1200, 34567)
    assert complete["run"]["facets"]["parent"]["run"]["runId"] == DAGSTER_RUN.lineage_run_id


def test_facts_must_name_an_output():
    with pytest.raises(ValueError, match="not outputs"):
        _raw_run().complete([OutputFacts(naming.dataset_for_asset("dim_batch"), row_count=1)])


def _failing_step() -> None:
    raise RuntimeError("DuckDB could not set lock on file")


def test_asset_fail_carries_the_error(validate):
    run = AssetRun.for_asset(["postgres", "dim_batch"], DAGSTER_RUN, upstream=["dim_batch"], window=WINDOW)
    try:
        _failing_step()
    except RuntimeError as exc:
        fail = _as_dict(run.fail(exc))
    _check_common(fail, validate, "FAIL")
    error = fail["run"]["facets"]["errorMessage"]
    assert error["message"] == "RuntimeError: DuckDB could not set lock on file"
    assert error["programmingLanguage"] == "PYTHON"
    assert "_failing_step" in error["stackTrace"]
    # Edges survive a failure (Marquez draws the graph from the latest job version).
    assert _ids(fail["inputs"]) == [naming.dataset_for_asset("dim_batch")]
    assert _ids(fail["outputs"]) == [naming.dataset_for_asset("postgres/dim_batch")]
    assert fail["outputs"][0].get("outputFacets", {}) == {}


def test_each_asset_is_its_own_run_under_one_dagster_run():
    a = AssetRun.for_asset("raw_bioreactor_data", DAGSTER_RUN)
    b = AssetRun.for_asset(["postgres", "dim_batch"], DAGSTER_RUN, upstream=["dim_batch"])
    other = AssetRun.for_asset("raw_bioreactor_data", DagsterRun(str(uuid.uuid4()), "partition_pipeline"))
    parents = [e.run.facets["parent"].run.runId for e in (a.start(), b.start(), other.start())]
    assert a.run_id != b.run_id
    assert parents[0] == parents[1] != parents[2]
    assert "nominalTime" not in a.start().run.facets  # unpartitioned: no nominal time


def test_dagster_job_run_events(validate):
    job_run = JobRun(DAGSTER_RUN, window=WINDOW)
    start, complete = _as_dict(job_run.start()), _as_dict(job_run.complete())
    fail = _as_dict(job_run.fail("step raw_bioreactor_data failed"))
    for event, state in ((start, "START"), (complete, "COMPLETE"), (fail, "FAIL")):
        _check_common(event, validate, state)
        assert event["run"]["runId"] == DAGSTER_RUN.lineage_run_id
        assert event["job"]["name"] == "dagster"
        assert event["job"]["facets"]["jobType"]["jobType"] == "JOB"
        tags = {t["key"]: t["value"] for t in event["run"]["facets"]["tags"]["tags"]}
        assert tags == {"dagster.job": "partition_pipeline", "dagster.run_id": DAGSTER_RUN.run_id}
        assert "parent" not in event["run"]["facets"]
        assert event["run"]["facets"]["nominalTime"]["nominalStartTime"] == "2025-01-03T00:00:00+00:00"
    assert fail["run"]["facets"]["errorMessage"]["message"] == "step raw_bioreactor_data failed"


def test_dbt_ol_reads_the_parent_we_give_it(monkeypatch):
    env = events.dbt_ol_env(DAGSTER_RUN, "bioreactor")
    assert env["OPENLINEAGE_NAMESPACE"] == "lakehouse"
    assert env["OPENLINEAGE_DBT_JOB_NAME"] == "dagster.dbt-run-bioreactor"
    assert env["OPENLINEAGE_DBT_LOGGING"] == "WARNING"
    assert Path(env["OPENLINEAGE_CONFIG"]).name == "openlineage.yml"
    monkeypatch.setenv("OPENLINEAGE_CONTEXT", env["OPENLINEAGE_CONTEXT"])
    parent = get_parent_run_metadata()  # dbt-ol's own parser
    assert (parent.run_id, parent.job_namespace, parent.job_name) == (
        DAGSTER_RUN.lineage_run_id,
        "lakehouse",
        "dagster",
    )
    assert parent.root_parent_run_id == DAGSTER_RUN.lineage_run_id


def test_emit_goes_through_the_configured_client(openlineage_config: Path):
    run = _raw_run()
    assert events.emit(run.start())
    assert events.emit(run.complete())
    rows = Outbox(openlineage_config).events(run_id=run.run_id)
    assert [r.event_type for r in rows] == ["START", "COMPLETE"]


def test_lineage_switched_off_emits_nothing(openlineage_config: Path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_LINEAGE", "off")
    run = _raw_run()
    assert events.emit(run.start()) is False
    assert not openlineage_config.exists() or Outbox(openlineage_config).events(run_id=run.run_id) == []


def test_emit_never_raises(tmp_path: Path, caplog):
    blocked = tmp_path / "file"
    blocked.write_text("")
    strict = OutboxTransport(OutboxConfig(path=str(blocked / "outbox.sqlite3"), strict=True))
    assert events.emit(_raw_run().start(), client=OpenLineageClient(transport=strict)) is False
    assert "not emitted" in caplog.text


def test_naive_times_are_refused():
    with pytest.raises(ValueError, match="timezone"):
        TimeWindow(dt.datetime(2025, 1, 3), dt.datetime(2025, 1, 4)).facet()

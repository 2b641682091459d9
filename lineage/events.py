"""Dagster-side OpenLineage run events (typed `event_v2` / `facet_v2` classes).

The run tree Marquez sees (names and why: `lineage/naming.py`, "Stable identity"):

    dagster                         one run per Dagster run (JobRun); its run id is derived from the
      |                             Dagster run id, so every step process computes the same one
      +- dagster.asset.<key>        one run per asset materialization (AssetRun), parent = the above
      +- dagster.dbt-run-<project>  dbt-ol's wrapper run, parent = the above via OPENLINEAGE_CONTEXT
           +- <db>.<schema>.<project>.<model>.build.run   one per dbt node (dbt-ol)

Events are built here and handed to `emit`, which goes through the standard `OpenLineageClient()`
configuration (`OPENLINEAGE_CONFIG` / `./openlineage.yml`: the outbox transport).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import (
    InputDataset,
    Job,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
)
from openlineage.client.facet_v2 import (
    DatasetFacet,
    JobFacet,
    OutputDatasetFacet,
    RunFacet,
    column_lineage_dataset,
    data_quality_assertions_dataset,
    error_message_run,
    job_type_job,
    nominal_time_run,
    output_statistics_output_dataset,
    parent_run,
    schema_dataset,
    tags_run,
)
from openlineage.client.uuid import generate_new_uuid

from lakehouse_core.settings import get_settings
from lineage.naming import (
    AssetKeyLike,
    DatasetId,
    asset_job_name,
    dagster_run_job_name,
    dataset_for_asset,
    dbt_wrapper_job_name,
    external_inputs,
    job_namespace,
)

log = logging.getLogger(__name__)

PRODUCER = f"urn:bioreactor-lakehouse:lineage:{version('bioreactor-lakehouse')}"
INTEGRATION = "DAGSTER"
# Fixed namespace for uuid5: the same Dagster run id always maps to the same OpenLineage run id.
_DAGSTER_RUN_UUID_NS = uuid.uuid5(uuid.NAMESPACE_URL, "urn:bioreactor-lakehouse:dagster-run")


@dataclass(frozen=True)
class DagsterRun:
    """The Dagster run that materializations (and dbt-ol) belong to."""

    run_id: str  # Dagster's run id
    job_name: str  # Dagster's job name (`__ASSET_JOB` for ad-hoc materializations)

    @property
    def lineage_run_id(self) -> str:
        return str(uuid.uuid5(_DAGSTER_RUN_UUID_NS, self.run_id))

    @property
    def lineage_job_name(self) -> str:
        return dagster_run_job_name()

    def tags_facet(self) -> tags_run.TagsRunFacet:
        """Which Dagster job and run this is (the Marquez job name is the same for all)."""
        return tags_run.TagsRunFacet(
            tags=[
                tags_run.TagsRunFacetFields(key="dagster.job", value=self.job_name, source="DAGSTER"),
                tags_run.TagsRunFacetFields(key="dagster.run_id", value=self.run_id, source="DAGSTER"),
            ],
            producer=PRODUCER,
        )

    def parent_facet(self) -> parent_run.ParentRunFacet:
        # The Dagster run is also the root of the tree: nothing starts it that emits lineage.
        namespace, name, run_id = job_namespace(), self.lineage_job_name, self.lineage_run_id
        return parent_run.ParentRunFacet(
            run=parent_run.Run(runId=run_id),
            job=parent_run.Job(namespace=namespace, name=name),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=run_id), job=parent_run.RootJob(namespace=namespace, name=name)
            ),
            producer=PRODUCER,
        )

    def openlineage_context(self) -> str:
        """`OPENLINEAGE_CONTEXT` for dbt-ol (the legacy `OPENLINEAGE_PARENT_ID` splits on `/`)."""
        ref = {
            "run": {"runId": self.lineage_run_id},
            "job": {"namespace": job_namespace(), "name": self.lineage_job_name},
        }
        return json.dumps({"parent": {**ref, "root": ref}})


def dbt_ol_env(dagster_run: DagsterRun, project: str) -> dict[str, str]:
    """Environment for a dbt-ol process started by `dagster_run`: its parent, its wrapper job's
    stable name, the shared config (dbt runs in dbt/, where no openlineage.yml is found), the job
    namespace (dbt-ol defaults to `dbt`), and a quiet wrapper (dagster-dbt misreads dbt-ol's
    banner as the dbt version)."""
    return {
        "OPENLINEAGE_CONTEXT": dagster_run.openlineage_context(),
        "OPENLINEAGE_DBT_JOB_NAME": dbt_wrapper_job_name(project),
        "OPENLINEAGE_CONFIG": project_config(),
        "OPENLINEAGE_NAMESPACE": job_namespace(),
        "OPENLINEAGE_DBT_LOGGING": "WARNING",
    }


@dataclass(frozen=True)
class TimeWindow:
    """A partition window [start, end): the run's nominal time."""

    start: dt.datetime
    end: dt.datetime

    def facet(self) -> nominal_time_run.NominalTimeRunFacet:
        return nominal_time_run.NominalTimeRunFacet(
            nominalStartTime=_iso(self.start), nominalEndTime=_iso(self.end), producer=PRODUCER
        )


@dataclass(frozen=True)
class OutputFacts:
    """What a finished materialization knows about one of its outputs."""

    dataset: DatasetId
    columns: Sequence[tuple[str, str]] = ()  # (name, type), in table order
    row_count: int | None = None
    size_bytes: int | None = None
    # A copy (the publish step): each column comes unchanged from the same column of this dataset.
    copied_from: DatasetId | None = None
    # Asset check results about this output: (check name, passed, column or None).
    assertions: Sequence[tuple[str, bool, str | None]] = ()


@dataclass(frozen=True)
class AssetRun:
    """One asset materialization: its own OpenLineage run, child of the Dagster run."""

    asset_key: AssetKeyLike
    dagster_run: DagsterRun
    inputs: Sequence[DatasetId]
    outputs: Sequence[DatasetId]
    window: TimeWindow | None = None
    run_id: str = field(default_factory=lambda: str(generate_new_uuid()))

    @classmethod
    def for_asset(
        cls,
        asset_key: AssetKeyLike,
        dagster_run: DagsterRun,
        upstream: Sequence[AssetKeyLike] = (),
        window: TimeWindow | None = None,
    ) -> AssetRun:
        """Inputs and outputs from the naming authority: the upstream assets' datasets plus any
        input from outside the graph (the lake, for the raw asset)."""
        inputs = external_inputs(asset_key) + [dataset_for_asset(key) for key in upstream]
        return cls(asset_key, dagster_run, inputs, [dataset_for_asset(asset_key)], window)

    def start(self) -> RunEvent:
        return self._event(RunState.START, [OutputDataset(*d) for d in self.outputs])

    def complete(self, facts: Sequence[OutputFacts] = ()) -> RunEvent:
        by_dataset = {f.dataset: f for f in facts}
        unknown = set(by_dataset) - set(self.outputs)
        if unknown:
            job = asset_job_name(self.asset_key)
            raise ValueError(f"facts for datasets that are not outputs of {job}: {sorted(unknown)}")
        outputs = [_output_with_facts(d, by_dataset.get(d)) for d in self.outputs]
        return self._event(RunState.COMPLETE, outputs)

    def fail(self, error: BaseException) -> RunEvent:
        # Outputs stay on FAIL: Marquez draws a job's edges from its latest version, and a FAIL
        # without outputs would cut the asset out of the graph until the next success.
        outputs = [OutputDataset(*d) for d in self.outputs]
        return self._event(RunState.FAIL, outputs, {"errorMessage": _error_facet(error)})

    def _event(
        self, state: RunState, outputs: list[OutputDataset], extra: dict[str, RunFacet] | None = None
    ) -> RunEvent:
        facets: dict[str, RunFacet] = {"parent": self.dagster_run.parent_facet(), **(extra or {})}
        if self.window:
            facets["nominalTime"] = self.window.facet()
        return _run_event(
            state,
            Run(runId=self.run_id, facets=facets),
            Job(namespace=job_namespace(), name=asset_job_name(self.asset_key), facets=_job_facets("ASSET")),
            inputs=[InputDataset(*d) for d in self.inputs],
            outputs=outputs,
        )


@dataclass(frozen=True)
class JobRun:
    """The Dagster run itself, so it shows in Marquez as a job whose runs parent everything else."""

    dagster_run: DagsterRun
    window: TimeWindow | None = None

    # `at`: the time Dagster recorded (its run start / end), so that every process that emits
    # the same state emits the same event, which the built-in Marquez then stores once.
    def start(self, at: dt.datetime | None = None) -> RunEvent:
        return self._event(RunState.START, at=at)

    def complete(self, at: dt.datetime | None = None) -> RunEvent:
        return self._event(RunState.COMPLETE, at=at)

    def abort(self, at: dt.datetime | None = None) -> RunEvent:
        return self._event(RunState.ABORT, at=at)

    def fail(self, error: BaseException | str, at: dt.datetime | None = None) -> RunEvent:
        return self._event(RunState.FAIL, {"errorMessage": _error_facet(error)}, at=at)

    def _event(
        self, state: RunState, extra: dict[str, RunFacet] | None = None, at: dt.datetime | None = None
    ) -> RunEvent:
        facets: dict[str, RunFacet] = {"tags": self.dagster_run.tags_facet(), **(extra or {})}
        if self.window:
            facets["nominalTime"] = self.window.facet()
        return _run_event(
            state,
            Run(runId=self.dagster_run.lineage_run_id, facets=facets),
            Job(namespace=job_namespace(), name=self.dagster_run.lineage_job_name, facets=_job_facets("JOB")),
            at=at,
        )


def project_config() -> str:
    """The OpenLineage configuration every emitter uses: OPENLINEAGE_CONFIG, else the project's
    openlineage.yml (the outbox transport)."""
    return str(get_settings().openlineage_config)


def _client() -> OpenLineageClient:
    # OpenLineageClient() looks for ./openlineage.yml in the working directory only: a Dagster
    # started from another folder would fall back to the console transport and lose every event.
    # So the configuration is handed over explicitly.
    import yaml  # a dependency of dbt-core and openlineage-python

    config = yaml.safe_load(Path(project_config()).read_text()) or {}
    return OpenLineageClient(config=config)


def emit(event: RunEvent, client: OpenLineageClient | None = None) -> bool:
    """Send one event through the configured transport; never raises into the caller's run.
    With lineage switched off (LAKEHOUSE_LINEAGE=off) nothing is sent."""
    if not get_settings().lineage_enabled:
        return False
    try:
        (client or _client()).emit(event)
    except Exception as exc:
        log.warning("OpenLineage %s event for %s not emitted: %s", event.eventType, event.job.name, exc, exc_info=True)
        return False
    return True


def _run_event(
    state: RunState,
    run: Run,
    job: Job,
    inputs: list[InputDataset] | None = None,
    outputs: list[OutputDataset] | None = None,
    at: dt.datetime | None = None,
) -> RunEvent:
    return RunEvent(
        eventType=state,
        eventTime=_iso(at or dt.datetime.now(dt.UTC)),
        run=run,
        job=job,
        inputs=inputs or [],
        outputs=outputs or [],
        producer=PRODUCER,
    )


def _job_facets(job_type: str) -> dict[str, JobFacet]:
    return {
        "jobType": job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration=INTEGRATION, jobType=job_type, producer=PRODUCER
        )
    }


def _output_with_facts(dataset: DatasetId, facts: OutputFacts | None) -> OutputDataset:
    if facts is None:
        return OutputDataset(*dataset)
    facets: dict[str, DatasetFacet] = {}
    if facts.columns:
        facets["schema"] = schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(name=name, type=dtype, ordinal_position=i)
                for i, (name, dtype) in enumerate(facts.columns, start=1)
            ],
            producer=PRODUCER,
        )
    if facts.copied_from and facts.columns:
        source = facts.copied_from
        facets["columnLineage"] = column_lineage_dataset.ColumnLineageDatasetFacet(
            fields={
                name: column_lineage_dataset.Fields(
                    inputFields=[
                        column_lineage_dataset.InputField(
                            namespace=source.namespace,
                            name=source.name,
                            field=name,
                            transformations=[column_lineage_dataset.Transformation(type="DIRECT", subtype="IDENTITY")],
                        )
                    ]
                )
                for name, _ in facts.columns
            },
            producer=PRODUCER,
        )
    if facts.assertions:
        # The spec types it as an input facet; dbt-ol puts it among a dataset's facets, as here, and Marquez reads it there.
        facets["dataQualityAssertions"] = data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet(  # type: ignore[assignment]
            assertions=[
                data_quality_assertions_dataset.Assertion(assertion=name, success=passed, column=column)
                for name, passed, column in facts.assertions
            ],
            producer=PRODUCER,
        )
    output_facets: dict[str, OutputDatasetFacet] = {}
    if facts.row_count is not None or facts.size_bytes is not None:
        output_facets["outputStatistics"] = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
            rowCount=facts.row_count, size=facts.size_bytes, producer=PRODUCER
        )
    return OutputDataset(*dataset, facets=facets, outputFacets=output_facets)


def _error_facet(error: BaseException | str) -> error_message_run.ErrorMessageRunFacet:
    if isinstance(error, str):
        return error_message_run.ErrorMessageRunFacet(message=error, programmingLanguage="PYTHON", producer=PRODUCER)
    return error_message_run.ErrorMessageRunFacet(
        message=f"{type(error).__name__}: {error}",
        programmingLanguage="PYTHON",
        stackTrace="".join(traceback.format_exception(error)),
        producer=PRODUCER,
    )


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment}: OpenLineage times need a timezone")
    return moment.isoformat()

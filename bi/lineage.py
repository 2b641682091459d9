"""The end of the lineage graph: Superset's dataset and dashboard, downstream of the mart.

Superset emits no OpenLineage, so each provisioning (or refresh) is one run of the job
`superset.provision` (names: lineage/naming.py), emitted through `lineage.events.emit` into
the outbox like every other event (START, then COMPLETE or FAIL):

    postgres://<host>:<port>  <db>.marts.mart_bioreactor_overview      (input: the mart)
        -> superset://localhost:8088  superset.provision                  (the job)
        -> superset://localhost:8088  dataset.marts.mart_bioreactor_overview  (schema = the columns Superset sees)
        -> superset://localhost:8088  dashboard.bioreactor-overview
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    DatasetFacet,
    documentation_dataset,
    error_message_run,
    job_type_job,
    schema_dataset,
)
from openlineage.client.uuid import generate_new_uuid

from bi import dashboard
from lineage import naming
from lineage.events import PRODUCER, emit


@dataclass(frozen=True)
class ProvisionRun:
    """One provisioning of the Superset instance at `namespace` (`superset://localhost:8088`)."""

    namespace: str
    run_id: str = field(default_factory=lambda: str(generate_new_uuid()))

    @property
    def mart(self) -> naming.DatasetId:
        try:
            return naming.dataset_for_asset(dashboard.MART_ASSET)
        except naming.UnknownAsset:  # no dbt manifest here (a Superset container): the same name, from the table
            return naming.postgres_dataset(dashboard.SCHEMA, dashboard.TABLE)

    @property
    def dataset(self) -> naming.DatasetId:
        return naming.superset_dataset(f"{dashboard.SCHEMA}.{dashboard.TABLE}", self.namespace)

    @property
    def dashboard(self) -> naming.DatasetId:
        return naming.superset_dashboard(dashboard.DASHBOARD_SLUG, self.namespace)

    def start(self) -> RunEvent:
        return self._event(RunState.START, self._outputs())

    def complete(self, columns: Sequence[tuple[str, str]] = (), urls: dict[str, str] | None = None) -> RunEvent:
        return self._event(RunState.COMPLETE, self._outputs(columns, urls or {}))

    def fail(self, error: BaseException) -> RunEvent:
        facet = error_message_run.ErrorMessageRunFacet(
            message=f"{type(error).__name__}: {error}", programmingLanguage="PYTHON", producer=PRODUCER
        )
        return self._event(RunState.FAIL, self._outputs(), {"errorMessage": facet})

    def _outputs(
        self, columns: Sequence[tuple[str, str]] = (), urls: dict[str, str] | None = None
    ) -> list[OutputDataset]:
        urls = urls or {}
        dataset_facets: dict[str, DatasetFacet] = {}
        if columns:
            dataset_facets["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(name=name, type=dtype, ordinal_position=i)
                    for i, (name, dtype) in enumerate(columns, start=1)
                ],
                producer=PRODUCER,
            )
        if "dataset" in urls:
            dataset_facets["documentation"] = _doc(
                f"Superset dataset {dashboard.SCHEMA}.{dashboard.TABLE}: {urls['dataset']}"
            )
        dashboard_facets: dict[str, DatasetFacet] = {}
        if "dashboard" in urls:
            charts = ", ".join(chart.name for chart in dashboard.CHARTS)
            dashboard_facets["documentation"] = _doc(
                f"Superset dashboard {dashboard.DASHBOARD_TITLE!r} ({charts}): {urls['dashboard']}"
            )
        return [
            OutputDataset(*self.dataset, facets=dataset_facets),
            OutputDataset(*self.dashboard, facets=dashboard_facets),
        ]

    def _event(self, state: RunState, outputs: list[OutputDataset], facets: dict | None = None) -> RunEvent:
        namespace, name = naming.superset_job(self.namespace)
        job_type = job_type_job.JobTypeJobFacet(
            processingType="BATCH", integration="SUPERSET", jobType="DASHBOARD", producer=PRODUCER
        )
        return RunEvent(
            eventType=state,
            eventTime=dt.datetime.now(dt.UTC).isoformat(),
            run=Run(runId=self.run_id, facets=facets or {}),
            job=Job(namespace=namespace, name=name, facets={"jobType": job_type}),
            inputs=[InputDataset(*self.mart)],
            outputs=outputs,
            producer=PRODUCER,
        )

    def emit(self, event: RunEvent) -> bool:
        return emit(event)


def _doc(text: str) -> documentation_dataset.DocumentationDatasetFacet:
    return documentation_dataset.DocumentationDatasetFacet(description=text, producer=PRODUCER)

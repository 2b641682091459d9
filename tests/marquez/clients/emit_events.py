"""Emits OpenLineage events with the official Python client (openlineage-python), configured as its
users configure it: `OpenLineageClient()` reads OPENLINEAGE_CONFIG / ./openlineage.yml /
~/.openlineage/openlineage.yml / OPENLINEAGE_URL / OPENLINEAGE__TRANSPORT__*; `--config JSON` passes
a config dict to the constructor instead (as code does).

    python emit_events.py NAMESPACE RUN_ID [--config JSON]

Sends what EmitEvents.java sends (START and COMPLETE of `py_job` reading NAMESPACE-src/src_table and
writing NAMESPACE-src/dst_table with schema, data source and column lineage, job SQL and
documentation, nominal time; a DatasetEvent for static_table; a JobEvent for `py_declared`), plus
START and COMPLETE of a child job `py_task` whose parent facet names `py_job`'s run. Prints the
transport's settings as JSON; an emit the server refuses raises (exit status 1).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import (
    DatasetEvent,
    InputDataset,
    Job,
    JobEvent,
    OutputDataset,
    Run,
    RunEvent,
    RunState,
    StaticDataset,
)
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    datasource_dataset,
    documentation_job,
    nominal_time_run,
    parent_run,
    schema_dataset,
    sql_job,
)

PRODUCER = "https://example.invalid/tests/marquez/python-client"


def main() -> None:
    namespace, run_id = sys.argv[1], sys.argv[2]
    config = json.loads(sys.argv[4]) if len(sys.argv) > 3 and sys.argv[3] == "--config" else None
    client = OpenLineageClient(config=config) if config is not None else OpenLineageClient()
    transport = client.transport
    settings = {
        "kind": transport.kind,
        "url": getattr(transport, "url", None),
        "compression": str(getattr(transport, "compression", None)),
        "auth": type(getattr(getattr(transport, "config", None), "auth", None)).__name__,
    }
    print(json.dumps(settings), flush=True)

    src_ns = f"{namespace}-src"
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)
    fields = [
        schema_dataset.SchemaDatasetFacetFields(name="reactor_id", type="INTEGER"),
        schema_dataset.SchemaDatasetFacetFields(name="temp", type="DOUBLE"),
    ]
    source = InputDataset(src_ns, "src_table", facets={"schema": schema_dataset.SchemaDatasetFacet(fields=fields)})
    target = OutputDataset(
        src_ns,
        "dst_table",
        facets={
            "schema": schema_dataset.SchemaDatasetFacet(fields=fields),
            "dataSource": datasource_dataset.DatasourceDatasetFacet(name=src_ns, uri="postgres://db:5432"),
            "columnLineage": column_lineage_dataset.ColumnLineageDatasetFacet(
                fields={
                    "temp": column_lineage_dataset.Fields(
                        inputFields=[column_lineage_dataset.InputField(src_ns, "src_table", "temp")],
                        transformationType="IDENTITY",
                        transformationDescription="",
                    )
                }
            ),
        },
    )
    job = Job(
        namespace,
        "py_job",
        facets={
            "sql": sql_job.SQLJobFacet(query="INSERT INTO dst_table SELECT * FROM src_table"),
            "documentation": documentation_job.DocumentationJobFacet(description="copies the readings"),
        },
    )
    run = Run(run_id, facets={"nominalTime": nominal_time_run.NominalTimeRunFacet(nominalStartTime=start.isoformat())})
    for state, at in ((RunState.START, start), (RunState.COMPLETE, start + dt.timedelta(seconds=90))):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=at.isoformat(),
                run=run,
                job=job,
                producer=PRODUCER,
                inputs=[source],
                outputs=[target],
            )
        )
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=run_id), job=parent_run.Job(namespace=namespace, name="py_job")
    )
    child = Run(str(uuid.uuid5(uuid.UUID(run_id), "py_task")), facets={"parent": parent})
    for state, seconds in ((RunState.START, 10), (RunState.COMPLETE, 60)):
        client.emit(
            RunEvent(
                eventType=state,
                eventTime=(start + dt.timedelta(seconds=seconds)).isoformat(),
                run=child,
                job=Job(namespace, "py_task"),
                producer=PRODUCER,
                outputs=[OutputDataset(src_ns, "task_table")],
            )
        )
    client.emit(
        DatasetEvent(
            eventTime=start.isoformat(),
            producer=PRODUCER,
            dataset=StaticDataset(
                src_ns, "static_table", facets={"schema": schema_dataset.SchemaDatasetFacet(fields=fields)}
            ),
        )
    )
    client.emit(
        JobEvent(
            eventTime=start.isoformat(),
            producer=PRODUCER,
            job=Job(namespace, "py_declared"),
            inputs=[source],
            outputs=[OutputDataset(src_ns, "dst_table")],
        )
    )
    client.close()
    print("emitted 6", flush=True)


if __name__ == "__main__":
    main()

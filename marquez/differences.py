"""Where the built-in server deliberately answers differently from Marquez 0.51.1, and why.

This is the one list; each entry is asserted by a test (the conformance replay checks our
behaviour at the recorded steps, `tests/marquez/test_differences.py` the rest).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    key: str
    marquez: str
    ours: str
    reason: str


DIFFERENCES: tuple[Difference, ...] = (
    Difference(
        key="bad-input-400",
        marquez="malformed JSON, a bad timestamp or a mistyped field answer 500 (body says code 400)",
        ours="400 with a message that names the field",
        reason="the client sent bad input; a 5xx tells retrying clients to try again forever",
    ),
    Difference(
        key="run-state-by-event-time",
        marquez="a run's state follows the last event processed: a START arriving after its COMPLETE leaves it RUNNING (#2264)",
        ours="the state follows event time: the later event wins, a terminal state wins a tie",
        reason="outboxes and retries deliver out of order; a finished run must not look running",
    ),
    Difference(
        key="sources-list",
        marquez="GET /api/v1/sources answers 500 once the default source exists",
        ours="the list of sources",
        reason="a bug",
    ),
    Difference(
        key="idempotent-events",
        marquez="the same event posted twice is stored twice (and counted twice in /events/lineage)",
        ours="an event identical to a stored one is acknowledged (201) and not stored again",
        reason="replaying an outbox after a lost acknowledgement must be harmless",
    ),
    Difference(
        key="batch-ingest",
        marquez="no bulk ingest (#2918)",
        ours="POST /api/v1/lineage/batch takes a JSON array and answers per event",
        reason="replaying a backlog one request per event is slow",
    ),
    Difference(
        key="bad-query-400",
        marquez="unparseable query parameters (limit=abc) answer 500 or are ignored",
        ours="400 naming the parameter",
        reason="the caller made the mistake; say which",
    ),
    Difference(
        key="host-allow-list",
        marquez="answers a request whatever its Host header",
        ours="421 for a Host outside MARQUEZ_ALLOWED_HOSTS (default the loopback names); a write from a foreign Origin 403",
        reason="a web page the user opens can reach 127.0.0.1 (DNS rebinding, simple cross-site POSTs)",
    ),
    Difference(
        key="future-events-refused",
        marquez="accepts any eventTime: a START dated 9999 leaves its run RUNNING for ever",
        ours="400 for an eventTime more than MARQUEZ_MAX_FUTURE_SECONDS (a day) ahead; past times accepted",
        reason="a clock or serialisation bug must not pin a run's state",
    ),
    Difference(
        key="projection-errors-listed",
        marquez="no such endpoint (an event it cannot apply answers 500 and is lost to the producer)",
        ours="GET /api/v1/projection-errors lists acknowledged events that could not be applied; /healthcheck says degraded",
        reason="acknowledged means in the model, or a failure someone can see",
    ),
    Difference(
        key="column-lineage-input-field-type",
        marquez='in /column-lineage, a field that is only an input (no lineage of its own) has fieldType ""'
        " (its node is built from the derived field's inputFields, which carry no type: ColumnLineageNodeData)",
        ours="the field's type, as the dataset lists it",
        reason="the type is known; an empty one reads as 'no type' in the web UI and in clients",
    ),
    Difference(
        key="typeless-field-once",
        marquez="a schema field without a type (dbt-ol without a catalog) is stored anew by every event that names it"
        " (DatasetFieldDao.upsert's key (dataset, name, type) never matches a null type), so the dataset lists it"
        " once per event",
        ours="listed once, with type null, as a field with a type is",
        reason="one column is one field; repeating it for every run misleads the web UI and clients",
    ),
    Difference(
        key="description-kept",
        marquez="a later event naming a dataset without a documentation facet wipes its description"
        " (DatasetDao.upsert sets description = EXCLUDED.description, null when the facet is absent)",
        ours="the description stays until an event's documentation facet changes it",
        reason="most events name a dataset without documenting it; a description must not flicker with them",
    ),
    Difference(
        key="parent-job-in-facet-namespace",
        marquez="a parent job that never posted is filed under the CHILD's namespace, whatever namespace the parent"
        " facet names (OpenLineageDao.createParentJobRunRecord)",
        ours="under the namespace the parent facet names, where the parent's own events file it",
        reason="a DAG posting later (or its runs) must find the same job, not a second one in another namespace",
    ),
    Difference(
        key="retyped-field-once",
        marquez="a field seen with another type (a reader's schema facet says BIGINT where the writer said INTEGER)"
        " is listed once per type on the dataset (DatasetFieldDao.upsert keys fields by (dataset, name, type) and"
        " maps each to the current version)",
        ours="listed once, with the type it was last given",
        reason="one column is one field; two entries of one name break clients that key fields by name",
    ),
    Difference(
        key="node-id-fallback",
        marquez="a node id its NodeId.parts cannot cut (a name starting with a digit after a host:port namespace,"
        " `dataset:postgres://h:5432:1st_table`) answers 500",
        ours="cut at the last ':' (a field node id at the last two), then looked up: the node or 404",
        reason="a client's well-formed question is not a server error",
    ),
    Difference(
        key="legacy-write-api",
        marquez="serves its write API from before OpenLineage: PUT namespaces, sources, datasets and jobs, POST job"
        " runs and runs' start/complete/fail/abort (NamespaceResource, SourceResource, DatasetResource,"
        " JobResource)",
        ours="405 naming the OpenLineage event to POST to /api/v1/lineage instead",
        reason="one way in: every change is an OpenLineage event, stored durably, ordered by event time and"
        " deduplicated; a second write path would bypass all three",
    ),
)

BY_KEY = {d.key: d for d in DIFFERENCES}

"""Helpers shared by the Marquez API tests: OpenLineage events, HTTP calls, the store's tables.

Events are built by hand (plain dicts, as any producer sends them) so the tests state exactly
what goes over the wire.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

import requests

PRODUCER = "https://example.invalid/tests/marquez"
RUN_EVENT_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
DATASET_EVENT_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"
SCHEMA_FACET_URL = "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
COLUMN_LINEAGE_URL = (
    "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet"
)
DATASOURCE_URL = "https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet"
PARENT_URL = "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet"

# The tables the built-in server keeps its model in (marquez/migrations/V001__model.sql).
MODEL_TABLES = (
    "lineage_events", "namespaces", "sources", "datasets", "dataset_versions", "dataset_fields",
    "jobs", "job_versions", "runs", "run_io", "job_io",
)  # fmt: skip

TIMEOUT = 15


def unique(prefix: str) -> str:
    """A name no other test (or earlier session on the same server) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def instant(value: dt.datetime) -> str:
    """How Marquez writes an instant (Java's Instant.toString): UTC, 'Z', millis only when set."""
    value = value.astimezone(dt.UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond // 1000:03d}" if value.microsecond % 1000 == 0 else f".{value.microsecond:06d}"
    return text + "Z"


def dataset(
    namespace: str,
    name: str,
    fields: Iterable[tuple[str, str]] | None = None,
    *,
    column_lineage: dict[str, list[tuple[str, str, str]]] | None = None,
    source: tuple[str, str] | None = None,
) -> dict:
    """An OpenLineage dataset; `column_lineage` maps an output field to its (namespace, dataset,
    field) inputs; `source` is a dataSource facet's (name, uri)."""
    facets: dict[str, Any] = {}
    if fields is not None:
        facets["schema"] = {
            "_producer": PRODUCER,
            "_schemaURL": SCHEMA_FACET_URL,
            "fields": [{"name": n, "type": t} for n, t in fields],
        }
    if column_lineage:
        facets["columnLineage"] = {
            "_producer": PRODUCER,
            "_schemaURL": COLUMN_LINEAGE_URL,
            "fields": {
                out: {
                    "inputFields": [{"namespace": ns, "name": ds, "field": f} for ns, ds, f in inputs],
                    "transformationType": "IDENTITY",
                    "transformationDescription": f"{out} from its inputs",
                }
                for out, inputs in column_lineage.items()
            },
        }
    if source is not None:
        facets["dataSource"] = {
            "_producer": PRODUCER,
            "_schemaURL": DATASOURCE_URL,
            "name": source[0],
            "uri": source[1],
        }
    return {"namespace": namespace, "name": name, "facets": facets}


def run_event(
    event_type: str | None,
    *,
    namespace: str,
    job: str,
    run_id: str,
    event_time: dt.datetime | str,
    inputs: Iterable[dict] = (),
    outputs: Iterable[dict] = (),
    run_facets: dict | None = None,
    job_facets: dict | None = None,
) -> dict:
    event: dict[str, Any] = {
        "eventTime": event_time if isinstance(event_time, str) else iso(event_time),
        "producer": PRODUCER,
        "schemaURL": RUN_EVENT_URL,
        "run": {"runId": run_id, "facets": dict(run_facets or {})},
        "job": {"namespace": namespace, "name": job, "facets": dict(job_facets or {})},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }
    if event_type is not None:
        event["eventType"] = event_type
    return event


def parent_facet(namespace: str, job: str, run_id: str) -> dict:
    return {
        "parent": {
            "_producer": PRODUCER,
            "_schemaURL": PARENT_URL,
            "run": {"runId": run_id},
            "job": {"namespace": namespace, "name": job},
        }
    }


# -- HTTP ------------------------------------------------------------------------------------------
def post_event(base_url: str, event: Any, *, session: requests.Session | None = None, **kwargs) -> requests.Response:
    return (session or requests).post(f"{base_url}/api/v1/lineage", json=event, timeout=TIMEOUT, **kwargs)


def post_ok(base_url: str, *events: dict) -> None:
    """Post events one by one; each must be acknowledged with 201."""
    for event in events:
        response = post_event(base_url, event)
        assert response.status_code == 201, (
            f"POST /api/v1/lineage answered {response.status_code}: {response.text[:500]}\nevent: {event}"
        )


def get_json(base_url: str, path: str, params: dict | None = None, status: int = 200, **kwargs) -> Any:
    response = requests.get(f"{base_url}/api/v1{path}", params=params, timeout=TIMEOUT, **kwargs)
    assert response.status_code == status, (
        f"GET {path} {params or ''} answered {response.status_code}: {response.text[:500]}"
    )
    return response.json() if response.content else None


def error_text(response: requests.Response) -> str:
    """The problem an error response names: Marquez answers `{"code", "message"}` or, for
    missing fields, `{"errors": [...]}`. Fails when the body is not such JSON."""
    assert "application/json" in response.headers.get("content-type", ""), (
        f"error answered with content-type {response.headers.get('content-type')!r}: {response.text[:300]}"
    )
    body = response.json()
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    parts = []
    if isinstance(body.get("message"), str):
        parts.append(body["message"])
    if isinstance(body.get("errors"), list):
        parts.extend(str(e) for e in body["errors"])
    assert parts and all(p.strip() for p in parts), f"error body names no problem: {body!r}"
    return " | ".join(parts)


def all_namespaces(base_url: str) -> list[dict]:
    """Every listed namespace, page by page."""
    out, offset = [], 0
    while True:
        page = get_json(base_url, "/namespaces", {"limit": 100, "offset": offset})["namespaces"]
        out.extend(page)
        if len(page) < 100:
            return out
        offset += 100


# -- the store ---------------------------------------------------------------------------------------
def store_state(db_url: str) -> dict[str, tuple[int, str]]:
    """Row count and a fingerprint of the contents of every table of the store (but the
    migrations' bookkeeping), so a test can tell that a request changed nothing at all."""
    import time

    import psycopg

    with psycopg.connect(db_url, autocommit=True, connect_timeout=10) as conn:
        # Stored events are applied to the model by the projector, asynchronously: look only
        # once everything stored so far is applied, or a late projection would look like a change.
        deadline = time.monotonic() + 30
        while conn.execute("SELECT count(*) FROM lineage_events WHERE projected_at IS NULL").fetchone()[0]:
            assert time.monotonic() < deadline, "the projector did not catch up within 30 s"
            time.sleep(0.01)
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
                " AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations' ORDER BY 1"
            )
        ]
        missing = set(MODEL_TABLES) - set(tables)
        assert not missing, f"the store has no table(s) {sorted(missing)}: the schema changed, update MODEL_TABLES"
        state = {}
        for table in tables:
            count, digest = conn.execute(
                f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM \"{table}\" t"
            ).fetchone()
            state[table] = (count, digest)
        return state


def state_changes(before: dict, after: dict) -> list[str]:
    changes = []
    for table in sorted(set(before) | set(after)):
        b, a = before.get(table), after.get(table)
        if b != a:
            changes.append(
                f"{table}: {b[0] if b else '-'} -> {a[0] if a else '-'} rows"
                + (" (same count, contents changed)" if b and a and b[0] == a[0] else "")
            )
    return changes

"""Parse and check an incoming OpenLineage event before anything is stored.

Marquez answers 422 `{"errors": ["<field> must not be null"]}` for a missing required field,
and (a bug) 500 for malformed JSON, a bad timestamp or a mistyped field. We answer those 400
with a message that names the field (see `marquez.differences`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson

RUN_EVENT, DATASET_EVENT, JOB_EVENT = "RunEvent", "DatasetEvent", "JobEvent"


class EventError(Exception):
    """A rejected event: `status` is 400 (malformed) or 422 (missing field); `errors` name fields."""

    def __init__(self, status: int, errors: list[str]):
        super().__init__("; ".join(errors))
        self.status = status
        self.errors = errors


@dataclass(frozen=True)
class Event:
    kind: str
    raw: dict[str, Any]
    event_time: dt.datetime

    @property
    def event_type(self) -> str | None:
        return self.raw.get("eventType")


def kind_of(schema_url: str | None) -> str:
    """Marquez reads the kind from the schemaURL's suffix; anything else is a run event."""
    if schema_url:
        for kind in (DATASET_EVENT, JOB_EVENT):
            if schema_url.endswith("/" + kind):
                return kind
    return RUN_EVENT


def parse_time(value: Any, field: str) -> dt.datetime:
    if not isinstance(value, str):
        raise EventError(400, [f"{field} must be an ISO-8601 timestamp string, got {type(value).__name__}"])
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:  # as Marquez: a timestamp without zone is read in the server's zone (UTC)
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        return parsed.astimezone(dt.timezone.utc)
    except (ValueError, OverflowError):
        raise EventError(400, [f"{field} is not an ISO-8601 timestamp within years 1-9999: {value[:64]!r}"]) from None


def decode(body: bytes) -> Any:
    if not body or not body.strip():
        raise EventError(422, ["The request body must not be null"])
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise EventError(400, [f"malformed JSON: {exc}"]) from None


# Names are index keys; the OpenLineage spec caps them (and Postgres cannot index much more).
MAX_NAME = 1024


def parse(payload: Any) -> Event:
    if not isinstance(payload, dict):
        raise EventError(400, [f"an event must be a JSON object, got {_type(payload)}"])
    nul = _find_nul(payload)
    if nul is not None:
        raise EventError(400, [f"{nul or 'a key'} contains a NUL character (\\u0000), which cannot be stored"])
    kind = kind_of(payload.get("schemaURL") if isinstance(payload.get("schemaURL"), str) else None)
    missing: list[str] = []
    _require(payload, "eventTime", missing)
    _require(payload, "producer", missing)
    if kind == RUN_EVENT:
        _require(payload, "run", missing)
    if kind in (RUN_EVENT, JOB_EVENT):
        _require(payload, "job", missing)
    if kind == DATASET_EVENT:
        _require(payload, "dataset", missing)
    _check_types(payload, kind)
    if isinstance(payload.get("job"), dict):
        _require(payload["job"], "name", missing, "job.")
        _require(payload["job"], "namespace", missing, "job.")
    if isinstance(payload.get("run"), dict):
        _require(payload["run"], "runId", missing, "run.")
    for side in ("inputs", "outputs"):
        for i, ds in enumerate(payload.get(side) or []):
            _require(ds, "namespace", missing, f"{side}[{i}].")
            _require(ds, "name", missing, f"{side}[{i}].")
    if isinstance(payload.get("dataset"), dict):
        _require(payload["dataset"], "namespace", missing, "dataset.")
        _require(payload["dataset"], "name", missing, "dataset.")
    if missing:
        raise EventError(422, [f"{field} must not be null" for field in missing])
    _check_lengths(payload)
    return Event(kind=kind, raw=payload, event_time=parse_time(payload["eventTime"], "eventTime"))


def _find_nul(value: Any, path: str = "") -> str | None:
    """The path of the first string (key or value) holding a NUL, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here
            found = _find_nul(item, here)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_nul(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _check_lengths(payload: dict) -> None:
    names = [("job.namespace", (payload.get("job") or {}).get("namespace")), ("job.name", (payload.get("job") or {}).get("name"))]
    for side in ("inputs", "outputs"):
        for i, ds in enumerate(payload.get(side) or []):
            names += [(f"{side}[{i}].namespace", ds.get("namespace")), (f"{side}[{i}].name", ds.get("name"))]
            for j, f in enumerate(((ds.get("facets") or {}).get("schema") or {}).get("fields") or []):
                names.append((f"{side}[{i}].facets.schema.fields[{j}].name", f.get("name")))
    if isinstance(payload.get("dataset"), dict):
        names += [("dataset.namespace", payload["dataset"].get("namespace")), ("dataset.name", payload["dataset"].get("name"))]
    for field, value in names:
        if isinstance(value, str) and len(value) > MAX_NAME:
            raise EventError(400, [f"{field} is {len(value)} characters long; at most {MAX_NAME} are accepted"])


def _require(obj: dict, key: str, missing: list[str], prefix: str = "") -> None:
    if obj.get(key) is None:
        missing.append(prefix + key)


def _type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _expect(value: Any, expected: type | tuple, field: str, what: str) -> None:
    if value is not None and not isinstance(value, expected):
        raise EventError(400, [f"{field} must be {what}, got {_type(value)}"])


def _check_types(payload: dict, kind: str) -> None:
    _expect(payload.get("eventType"), str, "eventType", "a string")
    _expect(payload.get("producer"), str, "producer", "a string")
    _expect(payload.get("schemaURL"), str, "schemaURL", "a string")
    _expect(payload.get("run"), dict, "run", "an object")
    _expect(payload.get("job"), dict, "job", "an object")
    _expect(payload.get("dataset"), dict, "dataset", "an object")
    if isinstance(payload.get("run"), dict):
        _expect(payload["run"].get("runId"), str, "run.runId", "a string")
        _facets(payload["run"], "run")
    if isinstance(payload.get("job"), dict):
        _expect(payload["job"].get("name"), str, "job.name", "a string")
        _expect(payload["job"].get("namespace"), str, "job.namespace", "a string")
        _facets(payload["job"], "job")
    for side in ("inputs", "outputs"):
        _expect(payload.get(side), list, side, "an array of datasets")
        for i, ds in enumerate(payload.get(side) or []):
            _dataset(ds, f"{side}[{i}]")
    if isinstance(payload.get("dataset"), dict):
        _dataset(payload["dataset"], "dataset")
    if payload.get("eventTime") is not None:
        parse_time(payload["eventTime"], "eventTime")


def _dataset(ds: Any, field: str) -> None:
    _expect(ds, dict, field, "an object")
    _expect(ds.get("name"), str, f"{field}.name", "a string")
    _expect(ds.get("namespace"), str, f"{field}.namespace", "a string")
    for key in ("facets", "inputFacets", "outputFacets"):
        _expect(ds.get(key), dict, f"{field}.{key}", "an object")
    schema = (ds.get("facets") or {}).get("schema")
    if schema is not None:
        _expect(schema, dict, f"{field}.facets.schema", "an object")
        _expect(schema.get("fields"), list, f"{field}.facets.schema.fields", "an array")
        for j, f in enumerate(schema.get("fields") or []):
            _expect(f, dict, f"{field}.facets.schema.fields[{j}]", "an object")
            if not isinstance(f.get("name"), str):
                raise EventError(400, [f"{field}.facets.schema.fields[{j}].name must be a string"])
            for key in ("type", "description"):
                _expect(f.get(key), str, f"{field}.facets.schema.fields[{j}].{key}", "a string")
    lifecycle = (ds.get("facets") or {}).get("lifecycleStateChange")
    if lifecycle is not None:
        _expect(lifecycle, dict, f"{field}.facets.lifecycleStateChange", "an object")
        _expect(lifecycle.get("lifecycleStateChange"), str, f"{field}.facets.lifecycleStateChange.lifecycleStateChange", "a string")
    for facet, key in (("documentation", "description"), ("dataSource", "name"), ("dataSource", "uri")):
        value = (ds.get("facets") or {}).get(facet)
        if value is not None:
            _expect(value, dict, f"{field}.facets.{facet}", "an object")
            _expect(value.get(key), str, f"{field}.facets.{facet}.{key}", "a string")


def _facets(obj: dict, field: str) -> None:
    _expect(obj.get("facets"), dict, f"{field}.facets", "an object")
    for name, facet in (obj.get("facets") or {}).items():
        _expect(facet, dict, f"{field}.facets.{name}", "an object")
    if field == "job":
        for facet, key in (("documentation", "description"), ("sourceCodeLocation", "url")):
            value = (obj.get("facets") or {}).get(facet)
            if isinstance(value, dict):
                _expect(value.get(key), str, f"job.facets.{facet}.{key}", "a string")
    if field == "run":
        parent = (obj.get("facets") or {}).get("parent")
        if isinstance(parent, dict):
            for key in ("run", "job"):
                _expect(parent.get(key), dict, f"run.facets.parent.{key}", "an object")
            if not isinstance((parent.get("run") or {}).get("runId"), str):
                raise EventError(400, ["run.facets.parent.run.runId must be a string"])
            job = parent.get("job") or {}
            if not isinstance(job.get("name"), str) or not isinstance(job.get("namespace"), str):
                raise EventError(400, ["run.facets.parent.job must have string namespace and name"])
        nominal = (obj.get("facets") or {}).get("nominalTime")
        if isinstance(nominal, dict):
            if nominal.get("nominalStartTime") is not None:
                parse_time(nominal["nominalStartTime"], "run.facets.nominalTime.nominalStartTime")
            if nominal.get("nominalEndTime") is not None:
                parse_time(nominal["nominalEndTime"], "run.facets.nominalTime.nominalEndTime")

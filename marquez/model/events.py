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

from marquez import limits

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
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise EventError(400, [f"{field} is not an ISO-8601 timestamp within years 1-9999: {value[:64]!r}"]) from None


def decode(body: bytes) -> Any:
    if not body or not body.strip():
        raise EventError(422, ["The request body must not be null"])
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "recursion limit" in str(exc) or "depth limit" in str(exc):
            raise EventError(400, [f"the body nests deeper than {limits.MAX_JSON_DEPTH} levels of JSON"]) from None
        raise EventError(400, [f"malformed JSON: {exc}"]) from None


def parse(payload: Any, now: dt.datetime | None = None, max_future_s: float | None = None) -> Event:
    """Check `payload` against the event grammar and every limit in `marquez.limits`; the Event,
    or EventError naming the field. `max_future_s`: refuse an eventTime later than now + that."""
    if not isinstance(payload, dict):
        raise EventError(400, [f"an event must be a JSON object, got {_type(payload)}"])
    _scan(payload)
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
    event_time = parse_time(payload["eventTime"], "eventTime")
    if max_future_s is not None:
        now = now or dt.datetime.now(dt.UTC)
        if event_time > now + dt.timedelta(seconds=max_future_s):
            raise EventError(
                400,
                [
                    f"eventTime {payload['eventTime'][:64]!r} is more than {max_future_s:g} s in the future"
                    f" (server time {now.isoformat()}); past times are accepted"
                ],
            )
    return Event(kind=kind, raw=payload, event_time=event_time)


def _nul(here: str, key: bool = False) -> EventError:
    what = f"{here!r} (a key)" if key else here
    return EventError(400, [f"{what} contains a NUL character (\\u0000), which cannot be stored"])


def _scan(payload: Any) -> None:
    """One pass over the whole document, without recursion: nesting depth at most
    MAX_JSON_DEPTH, and no NUL character in any key or string (Postgres cannot store it)."""
    stack: list[tuple[Any, str, int]] = [(payload, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if depth > limits.MAX_JSON_DEPTH:
            raise EventError(400, [f"{path or 'the event'} nests deeper than {limits.MAX_JSON_DEPTH} levels of JSON"])
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                here = f"{path}.{key}" if path else key
                if "\x00" in key:
                    raise _nul(here, key=True)
            else:
                here = f"{path}[{key}]"
            if isinstance(item, str):
                if "\x00" in item:
                    raise _nul(here)
            elif isinstance(item, (dict, list)):
                stack.append((item, here, depth + 1))


def _check_lengths(payload: dict) -> None:
    """Every name that becomes an index key, in bytes (see marquez.limits)."""
    job = payload.get("job") or {}
    names = [("job.namespace", job.get("namespace")), ("job.name", job.get("name"))]
    for side in ("inputs", "outputs"):
        for i, ds in enumerate(payload.get(side) or []):
            names += _dataset_names(ds, f"{side}[{i}]")
    if isinstance(payload.get("dataset"), dict):
        names += _dataset_names(payload["dataset"], "dataset")
    parent = ((payload.get("run") or {}).get("facets") or {}).get("parent")
    parent_job: dict = parent["job"] if isinstance(parent, dict) and isinstance(parent.get("job"), dict) else {}
    names += [
        ("run.facets.parent.job.namespace", parent_job.get("namespace")),
        ("run.facets.parent.job.name", parent_job.get("name")),
    ]
    for field, value in names:
        if isinstance(value, str) and limits.utf8_len(value) > limits.MAX_NAME_BYTES:
            raise EventError(
                400,
                [
                    f"{field} is {limits.utf8_len(value)} bytes long in UTF-8; at most {limits.MAX_NAME_BYTES} are accepted"
                ],
            )
    if isinstance(job.get("name"), str) and isinstance(job.get("namespace"), str) and parent_job.get("name"):
        # Filed as `<parent>.<job>` beside its namespace in one index entry.
        key = limits.utf8_len(job["namespace"]) + limits.utf8_len(parent_job["name"]) + 1 + limits.utf8_len(job["name"])
        if key > limits.MAX_JOB_KEY_BYTES:
            raise EventError(
                400,
                [
                    f"job.namespace + run.facets.parent.job.name + '.' + job.name (the job's filed name) is {key} bytes;"
                    f" at most {limits.MAX_JOB_KEY_BYTES} are accepted"
                ],
            )


def _dataset_names(ds: dict, field: str) -> list[tuple[str, Any]]:
    facets = ds.get("facets") or {}
    names = [(f"{field}.namespace", ds.get("namespace")), (f"{field}.name", ds.get("name"))]
    for j, f in enumerate((facets.get("schema") or {}).get("fields") or []):
        names.append((f"{field}.facets.schema.fields[{j}].name", f.get("name")))
    source = facets.get("dataSource")
    if isinstance(source, dict):
        names.append((f"{field}.facets.dataSource.name", source.get("name")))
    return names


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
        _at_most(payload.get(side) or [], limits.MAX_DATASETS, side, "datasets")
        for i, ds in enumerate(payload.get(side) or []):
            _dataset(ds, f"{side}[{i}]")
    if isinstance(payload.get("dataset"), dict):
        _dataset(payload["dataset"], "dataset")
    if payload.get("eventTime") is not None:
        parse_time(payload["eventTime"], "eventTime")


def _at_most(items: list, most: int, field: str, what: str) -> None:
    if len(items) > most:
        raise EventError(400, [f"{field} holds {len(items)} {what}; at most {most} are accepted"])


def _object(value: Any, field: str) -> None:
    """`value` must be an object (null included in the refusal: it is an element of an array)."""
    if not isinstance(value, dict):
        raise EventError(400, [f"{field} must be an object, got {_type(value)}"])


def _dataset(ds: Any, field: str) -> None:
    _object(ds, field)
    _expect(ds.get("name"), str, f"{field}.name", "a string")
    _expect(ds.get("namespace"), str, f"{field}.namespace", "a string")
    for key in ("facets", "inputFacets", "outputFacets"):
        _expect(ds.get(key), dict, f"{field}.{key}", "an object")
    schema = (ds.get("facets") or {}).get("schema")
    if schema is not None:
        _expect(schema, dict, f"{field}.facets.schema", "an object")
        _expect(schema.get("fields"), list, f"{field}.facets.schema.fields", "an array")
        _at_most(schema.get("fields") or [], limits.MAX_FIELDS, f"{field}.facets.schema.fields", "fields")
        for j, f in enumerate(schema.get("fields") or []):
            _object(f, f"{field}.facets.schema.fields[{j}]")
            if not isinstance(f.get("name"), str):
                raise EventError(400, [f"{field}.facets.schema.fields[{j}].name must be a string"])
            for key in ("type", "description"):
                _expect(f.get(key), str, f"{field}.facets.schema.fields[{j}].{key}", "a string")
    lifecycle = (ds.get("facets") or {}).get("lifecycleStateChange")
    if lifecycle is not None:
        _expect(lifecycle, dict, f"{field}.facets.lifecycleStateChange", "an object")
        _expect(
            lifecycle.get("lifecycleStateChange"),
            str,
            f"{field}.facets.lifecycleStateChange.lifecycleStateChange",
            "a string",
        )
    _column_lineage((ds.get("facets") or {}).get("columnLineage"), f"{field}.facets.columnLineage")
    for facet, key in (("documentation", "description"), ("dataSource", "name"), ("dataSource", "uri")):
        value = (ds.get("facets") or {}).get(facet)
        if value is not None:
            _expect(value, dict, f"{field}.facets.{facet}", "an object")
            _expect(value.get(key), str, f"{field}.facets.{facet}.{key}", "a string")


def _column_lineage(facet: Any, field: str) -> None:
    """`{"fields": {"<field>": {"inputFields": [{"namespace", "name", "field"}, ...]}, ...}}`."""
    if facet is None:
        return
    _object(facet, field)
    fields = facet.get("fields")
    _expect(fields, dict, f"{field}.fields", "an object (field name -> its inputs)")
    _at_most(list(fields or {}), limits.MAX_FIELDS, f"{field}.fields", "fields")
    for name, spec in (fields or {}).items():
        here = f"{field}.fields.{name}"
        if limits.utf8_len(name) > limits.MAX_NAME_BYTES:
            raise EventError(
                400,
                [
                    f"{field}.fields has a field name of {limits.utf8_len(name)} bytes; at most {limits.MAX_NAME_BYTES} are accepted"
                ],
            )
        _object(spec, here)
        inputs = spec.get("inputFields")
        _expect(inputs, list, f"{here}.inputFields", "an array")
        for k, inp in enumerate(inputs or []):
            _object(inp, f"{here}.inputFields[{k}]")
            for key in ("namespace", "name", "field"):
                if not isinstance(inp.get(key), str):
                    raise EventError(
                        400, [f"{here}.inputFields[{k}].{key} must be a string, got {_type(inp.get(key))}"]
                    )
        for key in ("transformationDescription", "transformationType"):
            _expect(spec.get(key), str, f"{here}.{key}", "a string")


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

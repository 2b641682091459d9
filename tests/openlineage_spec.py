"""The OpenLineage 2-0-2 JSON schemas, for tests that validate events.

Where they come from, in order: `OPENLINEAGE_SPEC_DIR`; the workplace's reference copy beside
the checkout (`../shared/reference/openlineage`, never copied into the project); the schemas'
own `$id` URLs on openlineage.io (a user's online machine). Without any of them a validating
test skips with the reason, or fails under CI.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest

CORE_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
_SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "openlineage"
# The facets this project and dbt-ol emit (their schemas' $id minus the version, fetched by name).
_FACETS = (
    "ColumnLineageDatasetFacet", "DataQualityAssertionsDatasetFacet", "DocumentationDatasetFacet",
    "ErrorMessageRunFacet", "JobTypeJobFacet", "NominalTimeRunFacet", "OutputStatisticsOutputDatasetFacet",
    "ParentRunFacet", "SchemaDatasetFacet", "SQLJobFacet", "TagsRunFacet", "ProcessingEngineRunFacet",
    "DatasourceDatasetFacet", "DocumentationJobFacet",
)  # fmt: skip


def _local_dir() -> Path | None:
    for candidate in (os.environ.get("OPENLINEAGE_SPEC_DIR"), _SHARED):
        if candidate and (Path(candidate) / "OpenLineage.json").exists():
            return Path(candidate)
    return None


def _fetch(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@cache
def _schemas_or_error() -> tuple[dict[str, dict], str] | OSError:
    try:
        return _load()
    except OSError as exc:  # remembered: offline, every test would otherwise wait for the timeout
        return exc


def schemas() -> tuple[dict[str, dict], str]:
    """({$id: schema}, where they came from); raises OSError when none can be had."""
    found = _schemas_or_error()
    if isinstance(found, OSError):
        raise found
    return found


def _load() -> tuple[dict[str, dict], str]:
    local = _local_dir()
    if local is not None:
        paths = [local / "OpenLineage.json", *sorted((local / "facets").glob("*.json"))]
        loaded = [json.loads(p.read_text()) for p in paths]
        return {s["$id"]: s for s in loaded}, str(local)
    core = _fetch(CORE_ID)
    loaded = [core]
    for name in _FACETS:
        try:  # the spec publishes each facet at /spec/facets/<version>/<name>.json; the latest is unversioned
            loaded.append(_fetch(f"https://openlineage.io/spec/facets/1-0-0/{name}.json"))
        except OSError:
            continue
    return {s["$id"]: s for s in loaded}, "openlineage.io"


def validator(required: bool = True) -> Callable[[dict[str, Any]], None] | None:
    """A function that validates an event (and each facet whose schema is known) or raises.
    Without schemas: under CI a failure; else a skip, or None with `required=False` (for tests
    whose own assertions stand without the spec, which then has its own skipping test)."""
    import jsonschema  # a dependency of dbt-core
    from referencing import Registry, Resource

    try:
        found, _source = schemas()
    except OSError as exc:
        message = f"no OpenLineage schemas: set OPENLINEAGE_SPEC_DIR, or be online ({exc})"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        if not required:
            return None
        pytest.skip(message)
    registry = Registry().with_resources([(sid, Resource.from_contents(s)) for sid, s in found.items()])
    core = registry.contents(CORE_ID)

    def check(event: dict[str, Any]) -> None:
        jsonschema.Draft202012Validator(core, registry=registry).validate(event)
        for facet in facets_of(event):
            url = facet.get("_schemaURL", "")
            if url.split("#")[0] in found:  # custom facets (dbt-ol's own) have no published schema here
                jsonschema.Draft202012Validator({"$ref": url}, registry=registry).validate(facet)

    return check


def facets_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    found = [*event.get("run", {}).get("facets", {}).values(), *event.get("job", {}).get("facets", {}).values()]
    for dataset in event.get("inputs", []) + event.get("outputs", []):
        for group in ("facets", "inputFacets", "outputFacets"):
            found.extend((dataset.get(group) or {}).values())
    return [f for f in found if isinstance(f, dict)]

"""The OpenLineage 2-0-2 JSON schemas, for tests that validate events.

They are test data in the project (`tests/data/openlineage/`, pinned, with their source and
versions in its README), so validating needs no network and nothing beside the checkout.
`OPENLINEAGE_SPEC_DIR` points at another copy (a newer spec, to try it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

CORE_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
PINNED = Path(__file__).resolve().parent / "data" / "openlineage"


@cache
def schemas() -> tuple[dict[str, dict], str]:
    """({$id: schema}, the folder they came from)."""
    folder = Path(os.environ.get("OPENLINEAGE_SPEC_DIR") or PINNED)
    paths = [folder / "OpenLineage.json", *sorted((folder / "facets").glob("*.json"))]
    loaded = [json.loads(p.read_text()) for p in paths]
    return {s["$id"]: s for s in loaded}, str(folder)


def validator() -> Callable[[dict[str, Any]], None]:
    """A function that validates an event (and each facet whose schema is known) or raises."""
    import jsonschema  # a dependency of dbt-core
    from referencing import Registry, Resource

    found, _source = schemas()
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

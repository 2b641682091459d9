"""The seed bridge: dbt-ol names a node's inputs from its model and source parents only, so a
seed a model reads (`tag_specs`) would be missing from Marquez, and its edges with it.

The outbox transport passes every event through `add_seed_inputs`: for a dbt-ol node event
(it carries the `dbt_node` job facet), the seeds among the node's parents in the manifest of
the same dbt invocation (`DBT_TARGET_PATH`, which dagster-dbt sets) become inputs, named by the
naming authority in the node's own system. Everything else passes unchanged.
"""

from __future__ import annotations

import json
import logging
import sys
from functools import lru_cache
from pathlib import Path

from lakehouse_core.settings import get_settings
from lineage.naming import duckdb_dataset, postgres_dataset

log = logging.getLogger(__name__)


def add_seed_inputs(event: dict) -> dict:
    node = ((event.get("job") or {}).get("facets") or {}).get("dbt_node") or {}
    unique_id = node.get("unique_id")
    outputs = event.get("outputs") or []
    if not unique_id or not unique_id.startswith(("model.", "snapshot.", "test.")):
        return event
    manifest = _manifest_path()
    if manifest is None:
        return event
    try:
        seeds = _seed_parents(str(manifest), manifest.stat().st_mtime_ns).get(unique_id, [])
    except (OSError, ValueError) as exc:  # no bridge rather than no event
        log.warning("seed inputs not added to %s: %s", unique_id, exc)
        return event
    if not seeds:
        return event
    system = (outputs[0]["namespace"] if outputs else (event.get("inputs") or [{}])[0].get("namespace", "")).split(":")[
        0
    ]
    build = {"duckdb": duckdb_dataset, "postgres": postgres_dataset}.get(system)
    if build is None:
        return event
    inputs = list(event.get("inputs") or [])
    present = {(i.get("namespace"), i.get("name")) for i in inputs}
    for schema, alias in seeds:
        dataset = build(schema, alias)
        if tuple(dataset) not in present:
            inputs.append({"namespace": dataset.namespace, "name": dataset.name, "facets": {}})
    return {**event, "inputs": inputs}


def _manifest_path() -> Path | None:
    """The invocation's manifest: dbt-ol's own `--target-path`, else DBT_TARGET_PATH (what
    dagster-dbt sets), else `target/` under the working directory."""
    argv = sys.argv
    target = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--target-path"), None)
    target = target or get_settings().dbt_target_path
    path = Path(target) / "manifest.json"
    return path if path.is_file() else None


@lru_cache(maxsize=4)
def _seed_parents(path: str, _mtime: int) -> dict[str, list[tuple[str, str]]]:
    """node unique_id -> [(schema, alias)] of the seeds it depends on (cached per manifest version)."""
    manifest = json.loads(Path(path).read_text())
    seeds = {
        uid: (node["schema"], node.get("alias") or node["name"])
        for uid, node in manifest.get("nodes", {}).items()
        if node.get("resource_type") == "seed"
    }
    parents: dict[str, list[tuple[str, str]]] = {}
    for uid, node in manifest.get("nodes", {}).items():
        found = [seeds[p] for p in (node.get("depends_on") or {}).get("nodes", []) if p in seeds]
        if found:
            parents[uid] = found
    return parents

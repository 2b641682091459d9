"""Column lineage from the `columnLineage` facet of each dataset's current version.

Shapes follow Marquez: one DATASET_FIELD node per field that has lineage, its `inputFields`,
and edges that Marquez draws from a field to the fields it is derived from (`inEdges` of the
derived field, `outEdges` of the source field).
"""

from __future__ import annotations

from collections import defaultdict

from marquez.model import json as js
from marquez.storage.graph import NodeNotFound

Field = tuple[str, str, str]  # (namespace, dataset, field)


def _parse(node_id: str) -> tuple[str, str, str | None]:
    kind, _, rest = node_id.partition(":")
    if kind == "dataset":
        ns, sep, name = rest.rpartition(":")
        if sep and ns and name:
            return ns, name, None
    elif kind == "datasetField":
        head, sep, fld = rest.rpartition(":")
        ns, sep2, name = head.rpartition(":")
        if sep and sep2 and ns and name and fld:
            return ns, name, fld
    raise NodeNotFound("HTTP 404 Not Found")


def _node_id(f: Field) -> str:
    return f"datasetField:{f[0]}:{f[1]}:{f[2]}"


def _load(conn) -> tuple[dict, dict, dict, dict]:
    """Every current version's column lineage: upstream edges, downstream edges, specs, versions and types."""
    upstream: dict[Field, list[Field]] = defaultdict(list)
    downstream: dict[Field, list[Field]] = defaultdict(list)
    specs: dict[Field, dict] = {}
    datasets: dict[tuple[str, str], dict] = {}
    for r in conn.execute(
        "SELECT d.namespace_name, d.name, v.uuid AS version, v.fields, v.facets -> 'columnLineage' AS cl"
        " FROM datasets d JOIN dataset_versions v ON v.uuid = d.current_version_uuid WHERE NOT d.is_hidden"
    ):
        key = (r["namespace_name"], r["name"])
        datasets[key] = {"version": str(r["version"]), "types": {f["name"]: f.get("type") for f in r["fields"] or []}}
        fields = (r["cl"] or {}).get("fields") if isinstance(r["cl"], dict) else None
        for out_field, spec in (fields or {}).items():
            spec = spec if isinstance(spec, dict) else {}
            dst = (*key, out_field)
            specs[dst] = spec
            for inp in spec.get("inputFields") or []:
                if isinstance(inp, dict) and inp.get("field"):
                    src = (inp.get("namespace"), inp.get("name"), inp["field"])
                    upstream[dst].append(src)
                    downstream[src].append(dst)
    return upstream, downstream, specs, datasets


def column_lineage(conn, node_id: str, depth: int, with_downstream: bool) -> dict:
    ns, name, field = _parse(node_id)
    exists = conn.execute(
        "SELECT 1 FROM datasets WHERE namespace_name = %s AND name = %s AND NOT is_hidden", (ns, name)
    ).fetchone()
    if exists is None:
        raise NodeNotFound(f"Dataset '{name}' not found.")
    upstream, downstream, specs, datasets = _load(conn)
    linked = set(upstream) | set(downstream)
    if field is not None:
        start = [(ns, name, field)]
    else:
        start = [f for f in linked if f[:2] == (ns, name)]
    seen: set[Field] = set(start)
    frontier = list(start)
    for _ in range(max(depth, 0)):
        nxt = []
        for f in frontier:
            for other in upstream.get(f, []) + (downstream.get(f, []) if with_downstream else []):
                if other not in seen:
                    seen.add(other)
                    nxt.append(other)
        if not nxt:
            break
        frontier = nxt
    graph = []
    for f in sorted(seen & linked):
        ds = datasets.get(f[:2], {})
        spec = specs.get(f, {})
        graph.append(
            {
                "id": _node_id(f),
                "type": "DATASET_FIELD",
                "data": {
                    "namespace": f[0],
                    "dataset": f[1],
                    "datasetVersion": ds.get("version"),
                    "field": f[2],
                    "fieldType": ds.get("types", {}).get(f[2]) or "",
                    "transformationDescription": spec.get("transformationDescription"),
                    "transformationType": spec.get("transformationType"),
                    "inputFields": [
                        {
                            "namespace": src[0],
                            "dataset": src[1],
                            "datasetVersion": datasets.get(src[:2], {}).get("version"),
                            "field": src[2],
                            "transformationDescription": spec.get("transformationDescription"),
                            "transformationType": spec.get("transformationType"),
                        }
                        for src in upstream.get(f, [])
                    ],
                },
                "inEdges": [js.edge(_node_id(f), _node_id(src)) for src in upstream.get(f, []) if src in seen],
                "outEdges": [js.edge(_node_id(f), _node_id(dst)) for dst in downstream.get(f, []) if dst in seen],
            }
        )
    return {"graph": graph}

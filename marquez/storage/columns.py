"""Column lineage from the `columnLineage` facet of each dataset's current version."""

from __future__ import annotations

from collections import defaultdict

from marquez.model import json as js
from marquez.storage.graph import NodeNotFound


def _parse(node_id: str) -> tuple[str, str, str, str | None]:
    kind, _, rest = node_id.partition(":")
    if kind == "dataset":
        ns, sep, name = rest.rpartition(":")
        if sep and ns and name:
            return kind, ns, name, None
    elif kind == "datasetField":
        head, sep, fld = rest.rpartition(":")
        ns, sep2, name = head.rpartition(":")
        if sep and sep2 and ns and name and fld:
            return kind, ns, name, fld
    raise NodeNotFound("HTTP 404 Not Found")


def _edges(conn) -> tuple[dict, dict]:
    """(output field -> input fields with transformation) for every current dataset version."""
    upstream: dict = defaultdict(list)
    downstream: dict = defaultdict(list)
    for r in conn.execute(
        "SELECT d.namespace_name, d.name, v.facets -> 'columnLineage' AS cl, v.version FROM datasets d"
        " JOIN dataset_versions v ON v.uuid = d.current_version_uuid"
        " WHERE NOT d.is_hidden AND v.facets ? 'columnLineage'"
    ):
        for out_field, spec in ((r["cl"] or {}).get("fields") or {}).items():
            for inp in (spec or {}).get("inputFields") or []:
                transformations = inp.get("transformations") or []
                t = transformations[0] if transformations else {}
                src = (inp.get("namespace"), inp.get("name"), inp.get("field"))
                dst = (r["namespace_name"], r["name"], out_field)
                upstream[dst].append((src, t, spec, r["version"]))
                downstream[src].append(dst)
    return upstream, downstream


def column_lineage(conn, node_id: str, depth: int, with_downstream: bool) -> dict:
    kind, ns, name, fld = _parse(node_id)
    ds = conn.execute(
        "SELECT d.uuid, v.fields, v.version FROM datasets d LEFT JOIN dataset_versions v ON v.uuid = d.current_version_uuid"
        " WHERE d.namespace_name = %s AND d.name = %s AND NOT d.is_hidden",
        (ns, name),
    ).fetchone()
    if ds is None:
        raise NodeNotFound(f"Dataset '{name}' not found.")
    upstream, downstream = _edges(conn)
    fields = {f["name"]: f.get("type") for f in (ds["fields"] or [])}
    start = [(ns, name, fld)] if fld else [(ns, name, f) for f in fields] or [k for k in upstream if k[:2] == (ns, name)]
    seen, frontier = set(start), list(start)
    for _ in range(max(depth, 0)):
        nxt = []
        for node in frontier:
            links = [s for s, *_ in upstream.get(node, [])]
            if with_downstream:
                links += downstream.get(node, [])
            for other in links:
                if other not in seen:
                    seen.add(other)
                    nxt.append(other)
        frontier = nxt
        if not frontier:
            break
    types = _field_types(conn, seen)
    graph = []
    for node in seen:
        node_id_ = f"datasetField:{node[0]}:{node[1]}:{node[2]}"
        ups = upstream.get(node, [])
        in_edges = [js.edge(f"datasetField:{s[0]}:{s[1]}:{s[2]}", node_id_) for s, *_ in ups if s in seen]
        out_edges = [js.edge(node_id_, f"datasetField:{d[0]}:{d[1]}:{d[2]}") for d in downstream.get(node, []) if d in seen]
        if not ups and not in_edges and not out_edges and node not in upstream:
            data = None
        graph.append(
            {
                "id": node_id_,
                "type": "DATASET_FIELD",
                "data": {
                    "namespace": node[0],
                    "dataset": node[1],
                    "datasetVersion": str(ups[0][3]) if ups else None,
                    "field": node[2],
                    "fieldType": types.get(node),
                    "inputFields": [
                        {
                            "namespace": s[0],
                            "dataset": s[1],
                            "datasetVersion": None,
                            "field": s[2],
                            "transformationDescription": (spec or {}).get("transformationDescription")
                            or t.get("description"),
                            "transformationType": (spec or {}).get("transformationType") or t.get("type"),
                        }
                        for s, t, spec, _v in ups
                    ],
                },
                "inEdges": in_edges,
                "outEdges": out_edges,
            }
        )
    return {"graph": graph}


def _field_types(conn, nodes: set) -> dict:
    if not nodes:
        return {}
    out = {}
    for r in conn.execute(
        "SELECT d.namespace_name, d.name, f.name AS field, f.type FROM dataset_fields f JOIN datasets d ON d.uuid = f.dataset_uuid"
        " WHERE (d.namespace_name, d.name) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
        ([n[0] for n in nodes], [n[1] for n in nodes]),
    ):
        out[(r["namespace_name"], r["name"], r["field"])] = r["type"]
    return out

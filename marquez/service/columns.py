"""`/column-lineage`: field-level lineage from the `columnLineage` facet of current versions.

Shapes follow Marquez: one DATASET_FIELD node per field that has lineage, its `inputFields`,
and edges that Marquez draws from a field to the fields it is derived from (`inEdges` of the
derived field, `outEdges` of the source field).
"""

from __future__ import annotations

from collections import defaultdict

from marquez.model import json as js
from marquez.service.errors import NotFound
from marquez.service.graph import node_parts, parse_node_id
from marquez.storage import columns as stored
from marquez.storage import datasets as stored_datasets
from marquez.storage.session import Store

Field = tuple[str, str, str]  # (namespace, dataset, field)


def _parse(node_id: str) -> tuple[str, str, str | None]:
    """`dataset:<ns>:<name>` or `datasetField:<ns>:<name>:<field>`, cut as Marquez cuts node ids
    (service/models/NodeId.java; `graph.node_parts`)."""
    kind = node_id.split(":", 1)[0]
    if kind == "dataset":
        parsed = parse_node_id(node_id)
        if parsed is not None:
            return parsed[1], parsed[2], None
    elif kind == "datasetField":
        parts = node_parts(node_id, 4)
        if parts is None:  # where Marquez answers 500: the last two ':' instead
            head, _, field = node_id[len(kind) + 1 :].rpartition(":")
            parts = [kind, *head.rsplit(":", 1), field]
        if len(parts) == 4 and parts[1] and parts[2] and parts[3]:
            return parts[1], parts[2], parts[3]
    raise NotFound("HTTP 404 Not Found")


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _edges(rows: list[dict]) -> tuple[dict, dict, dict, dict]:
    """From every current version: upstream edges, downstream edges, specs, and per dataset its version and field types."""
    upstream: dict[Field, list[Field]] = defaultdict(list)
    downstream: dict[Field, list[Field]] = defaultdict(list)
    specs: dict[Field, dict] = {}
    datasets: dict[tuple[str, str], dict] = {}
    for r in rows:
        key = (r["namespace_name"], r["name"])
        stored_fields = r["fields"] if isinstance(r["fields"], list) else []
        types = {
            f["name"]: f.get("type") for f in stored_fields if isinstance(f, dict) and isinstance(f.get("name"), str)
        }
        datasets[key] = {"version": str(r["version"]), "types": types}
        # Events are checked on the way in; a facet stored before that (or by hand) that is not
        # the expected shape is skipped here, never a 500 for every reader.
        fields = r["cl"].get("fields") if isinstance(r["cl"], dict) else None
        for out_field, spec in fields.items() if isinstance(fields, dict) else ():
            spec = spec if isinstance(spec, dict) else {}
            dst = (*key, out_field)
            specs[dst] = spec
            inputs = spec.get("inputFields")
            for inp in inputs if isinstance(inputs, list) else ():
                if isinstance(inp, dict) and isinstance(inp.get("field"), str):
                    src = (_text(inp.get("namespace")), _text(inp.get("name")), inp["field"])
                    upstream[dst].append(src)
                    downstream[src].append(dst)
    return upstream, downstream, specs, datasets


def column_lineage(store: Store, node_id: str, depth: int, with_downstream: bool) -> dict:
    with store.read() as conn:
        ns, name, field = _parse(node_id)
        # A symlink names its dataset (ColumnLineageDao matches dataset_symlinks).
        own = stored_datasets.own_name(conn, ns, name)
        if own is None:
            raise NotFound(f"Dataset '{name}' not found.")
        ns, name = own
        upstream, downstream, specs, datasets = _edges(stored.current_versions(conn))
    linked = set(upstream) | set(downstream)
    start = [(ns, name, field)] if field is not None else [f for f in linked if f[:2] == (ns, name)]
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
    nodes = []
    for f in sorted(seen & linked):
        ds = datasets.get(f[:2], {})
        inputs = [(*src, datasets.get(src[:2], {}).get("version")) for src in upstream.get(f, [])]
        in_graph_up = [src for src in upstream.get(f, []) if src in seen]
        in_graph_down = [dst for dst in downstream.get(f, []) if dst in seen]
        field_type = ds.get("types", {}).get(f[2])
        nodes.append(
            js.field_node(f, ds.get("version"), field_type, specs.get(f, {}), inputs, in_graph_up, in_graph_down)
        )
    return js.graph(nodes)

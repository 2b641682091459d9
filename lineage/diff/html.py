"""`lineage diff --format html`: one self-contained page (inline CSS and SVG, no scripts, no
network) with a picture of the dataset graph, drifted nodes highlighted, and the drift table.

The picture is the expected graph as datasets (each asset's dataset, the inputs no asset
produces), plus what Marquez holds that no asset owns (orphans), left to right by layer (a
dataset's layer is one more than its deepest upstream). A drift on an asset's job (status, stale
lineage) colors that asset's dataset; missing datasets are drawn dashed.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape

from lineage.diff import DiffReport
from lineage.diff.drift import SEVERITIES, Drift, dataset_node
from lineage.naming import DatasetId

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 210, 42, 56, 12, 20
LABEL_CHARS = 27  # what fits in NODE_W at 12px monospace
MAX_NODES = 3000  # beyond this the picture shows drifted nodes and their neighbours only
_COLORS = {"error": "#d62728", "warning": "#e89f0c", "info": "#1f77b4", None: "#6b7a89"}
_FILL = {"error": "#fde8e8", "warning": "#fff4dc", "info": "#e5f0fa", None: "#f6f8fa"}


def _layers(nodes: list[DatasetId], parents: dict[DatasetId, set[DatasetId]]) -> dict[DatasetId, int]:
    """Longest-path layering, iterative (deep chains must not hit the recursion limit)."""
    layer: dict[DatasetId, int] = {}
    for start in nodes:
        if start in layer:
            continue
        stack = [(start, False)]
        on_path: set[DatasetId] = set()
        while stack:
            node, done = stack.pop()
            if done:
                on_path.discard(node)
                layer[node] = 1 + max((layer.get(p, 0) for p in parents.get(node, ()) if p not in on_path), default=-1)
                continue
            if node in layer or node in on_path:
                continue
            on_path.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in parents.get(node, ()) if p not in layer and p not in on_path)
    return layer


def _order(columns: dict[int, list[DatasetId]], parents: dict[DatasetId, set[DatasetId]]) -> None:
    """One barycenter sweep left to right: a node sits near the mean row of its upstream nodes."""
    row: dict[DatasetId, float] = {}
    for index in sorted(columns):
        nodes = columns[index]
        if index > 0:
            nodes.sort(key=lambda n: (
                sum(row[p] for p in parents.get(n, ()) if p in row) / max(1, sum(p in row for p in parents.get(n, ()))),
                n.name,
            ))  # fmt: skip
        else:
            nodes.sort(key=lambda n: n.name)
        for i, node in enumerate(nodes):
            row[node] = i


def _worst(drifts: list[Drift]) -> str | None:
    return max((d.severity for d in drifts), key=SEVERITIES.index, default=None)


def _graph(report: DiffReport) -> tuple[list[DatasetId], dict[DatasetId, set[DatasetId]], dict[DatasetId, list[Drift]]]:
    parents: dict[DatasetId, set[DatasetId]] = defaultdict(set)
    nodes: dict[DatasetId, None] = {}
    for asset in report.expected.assets.values():
        nodes[asset.dataset] = None
        for up in asset.upstream:
            nodes[up] = None
            parents[asset.dataset].add(up)
    by_asset = {a.key: a.dataset for a in report.expected.assets.values()}
    writer = {out: job for job in report.observed.jobs.values() for out in job.outputs}
    drift_of: dict[DatasetId, list[Drift]] = defaultdict(list)
    for d in report.drifts:
        target = by_asset.get(d.asset) if d.asset else None
        if target is None and d.node.type == "dataset":
            target = DatasetId(d.node.namespace, d.node.name)
            nodes.setdefault(target, None)  # an orphan: drawn where Marquez has it
            job = writer.get(target)
            if job:
                parents[target].update(i for i in job.inputs if i in nodes)
        if target is not None:
            drift_of[target].append(d)
    ordered = list(nodes)
    if len(ordered) > MAX_NODES:
        keep = set(drift_of)
        for node in list(keep):
            keep.update(parents.get(node, ()))
        ordered = [n for n in ordered if n in keep][:MAX_NODES]
        kept = set(ordered)
        parents = defaultdict(set, {n: {p for p in ps if p in kept} for n, ps in parents.items() if n in kept})
    return ordered, parents, drift_of


def _svg(report: DiffReport) -> tuple[str, int]:
    nodes, parents, drift_of = _graph(report)
    if not nodes:
        return "", 0
    layer = _layers(nodes, parents)
    columns: dict[int, list[DatasetId]] = defaultdict(list)
    for node in nodes:
        columns[layer[node]].append(node)
    _order(columns, parents)
    pos = {
        node: (PAD + index * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
        for index, column in columns.items()
        for row, node in enumerate(column)
    }
    width = PAD * 2 + (max(columns) + 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max(len(c) for c in columns.values()) * (NODE_H + GAP_Y) - GAP_Y
    missing = {DatasetId(d.node.namespace, d.node.name) for d in report.drifts if d.kind == "missing_dataset"}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="dataset lineage graph">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#9aa5b1"/></marker></defs>',
    ]
    for child, ups in parents.items():
        if child not in pos:
            continue
        cx, cy = pos[child]
        for up in ups:
            if up not in pos:
                continue
            ux, uy = pos[up]
            x1, y1, x2, y2 = ux + NODE_W, uy + NODE_H / 2, cx, cy + NODE_H / 2
            mid = (x1 + x2) / 2
            parts.append(
                f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" stroke="#9aa5b1" '
                'stroke-width="1.2" marker-end="url(#arrow)"/>'
            )
    for node, (x, y) in pos.items():
        drifts = drift_of.get(node, [])
        worst = _worst(drifts)
        tip = escape(f"{node.namespace}\n{node.name}" + "".join(f"\n[{d.severity}] {d.kind}: {d.message}" for d in drifts))
        dash = ' stroke-dasharray="5 3"' if node in missing else ""
        label = _label(node)
        anchor = f'<a href="#{_anchor(dataset_node(node).id)}">' if drifts else "<a>"
        parts.append(
            f'<g class="node">{anchor}<title>{tip}</title>'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{_FILL[worst]}" '
            f'stroke="{_COLORS[worst]}" stroke-width="{2.5 if worst else 1}"{dash}/>'
            f'<text x="{x + 10}" y="{y + 18}">{escape(label)}</text>'
            f'<text class="ns" x="{x + 10}" y="{y + 33}">{escape(_where(node))}</text></a></g>'
        )
    parts.append("</svg>")
    return "".join(parts), len(pos)


def _label(node: DatasetId) -> str:
    """`schema.table` of a `<db>.<schema>.<table>` name, the last folder of a path: the namespace
    and database are the same for most nodes and are in the tooltip."""
    parts = node.name.split(".")
    short = ".".join(parts[-2:]) if len(parts) == 3 else node.name.rstrip("/").rsplit("/", 1)[-1]
    return short if len(short) <= LABEL_CHARS else "…" + short[-(LABEL_CHARS - 1) :]


def _where(node: DatasetId) -> str:
    """The system and place a dataset lives in, short: `duckdb lakehouse`, `postgres 127.0.0.1:5433`."""
    scheme, _, rest = node.namespace.partition("://")
    if scheme == "duckdb":
        return f"duckdb {node.name.split('.')[0]}"
    return f"{scheme} {rest}"[:LABEL_CHARS + 6] if rest else scheme


def _anchor(subject: str) -> str:
    return "d-" + "".join(c if c.isalnum() else "-" for c in subject)[-120:]


def render_html(report: DiffReport) -> str:
    s = report.summary()
    svg, drawn = _svg(report)
    total = len({a.dataset for a in report.expected.assets.values()})
    note = "" if drawn >= total else f"<p class=note>Showing {drawn} datasets: the drifted ones and their upstream.</p>"
    rows = []
    seen_anchor: set[str] = set()
    for d in report.drifts:
        asset = report.expected.assets.get(d.asset) if d.asset else None
        anchor = _anchor(dataset_node(asset.dataset).id if asset else d.node.id)
        id_attr = f' id="{anchor}"' if anchor not in seen_anchor else ""
        seen_anchor.add(anchor)
        rows.append(
            f'<tr{id_attr} class="{d.severity}"><td><span class="sev">{d.severity}</span></td><td>{d.kind}</td>'
            f"<td><b>{escape(d.node.name)}</b><br><small>{d.node.type} in {escape(d.node.namespace)}</small></td>"
            f"<td>{escape(d.message)}<br><small>fix: {escape(d.suggested_fix)}</small></td></tr>"
        )
    by = s["by_severity"]
    verdict = (
        '<p class="clean">No drift: Marquez and the code location agree.</p>'
        if not report.drifts
        else f"<p>{by['error']} errors, {by['warning']} warnings, {by['info']} info.</p>"
    )
    table = (
        "<table><thead><tr><th>severity</th><th>kind</th><th>subject</th><th>message / suggested fix</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        if rows
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>lineage diff: {escape(s['location'])}</title>
<style>
body{{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1b1f24}}
h1{{font-size:20px;margin:0 0 4px}} .meta{{color:#57606a;margin:0 0 16px}}
.graph{{overflow:auto;border:1px solid #d0d7de;border-radius:8px;max-height:70vh;background:#fff}}
.graph text{{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;fill:#1b1f24}} .graph text.ns{{font:10px system-ui,sans-serif;fill:#6b7a89}}
.legend span{{display:inline-block;margin-right:14px}} .legend i{{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:4px;vertical-align:-1px}}
table{{border-collapse:collapse;margin-top:16px;width:100%}} th,td{{border-bottom:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top}}
.sev{{font-weight:600}} tr.error .sev{{color:{_COLORS['error']}}} tr.warning .sev{{color:{_COLORS['warning']}}} tr.info .sev{{color:{_COLORS['info']}}}
tr:target{{background:#fff8c5}} small{{color:#57606a}} .clean{{color:#1a7f37;font-weight:600}} .note{{color:#57606a}}
</style></head><body>
<h1>lineage diff: {escape(s['location'])}</h1>
<p class="meta">{s['assets']} assets vs Marquez {escape(report.marquez)} ({s['datasets_observed']} datasets,
{s['jobs_observed']} jobs in {escape(s['job_namespace'])}) &middot; {escape(report.generated_at)}</p>
{verdict}
<p class="legend"><span><i style="background:{_FILL['error']};border:2px solid {_COLORS['error']}"></i>error</span>
<span><i style="background:{_FILL['warning']};border:2px solid {_COLORS['warning']}"></i>warning</span>
<span><i style="background:{_FILL[None]};border:1px solid {_COLORS[None]}"></i>no drift</span>
<span><i style="border:2px dashed {_COLORS['error']}"></i>missing in Marquez</span></p>
<div class="graph">{svg}</div>{note}
{table}
</body></html>
"""

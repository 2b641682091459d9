import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Background,
  Controls,
  Handle,
  MiniMap,
  Position,
  ReactFlow,
  type Edge,
  type Node,
  type NodeProps,
  type ReactFlowInstance,
} from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import type { Drift } from "../api";
import { kindOf, kindStyle, type KindTable } from "../driftKinds";
import { layout, NODE_H, NODE_W } from "./layout";
import { upstreamOf, type LGraph, type LNode } from "./model";

export interface GraphTimings {
  engine: string;
  nodes: number;
  edges: number;
  layoutMs: number;
  renderMs: number;
}

declare global {
  interface Window {
    __lineageUi?: { graphs: GraphTimings[] };
  }
}

type FlowData = {
  node: LNode;
  drifts: Drift[];
  kinds?: KindTable;
  mark: "selected" | "upstream" | "dim" | "";
  onExpand?: (id: string) => void;
};

const LineageNode = memo(function LineageNode({ data }: NodeProps<Node<FlowData>>) {
  const { node, drifts, kinds, mark, onExpand } = data;
  const driftKind = drifts[0]?.kind;
  const kind = driftKind ? kindOf(kinds, driftKind) : null;
  return (
    <div
      className={`lnode lnode-${node.kind} ${mark ? `mark-${mark}` : ""} ${driftKind ? `drift drift-${driftKind}` : ""}`}
      style={kind ? kindStyle(kind) : undefined}
      data-node-id={node.id}
      data-kind={node.kind}
      data-drift={driftKind ?? ""}
      data-version={node.version ?? ""}
      title={[node.name, node.namespace, ...drifts.map((d) => `${kindOf(kinds, d.kind).label}: ${d.message} Fix: ${d.fix}`)].join("\n")}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <div className="lnode-title">
        <span className="lnode-icon">{node.kind === "job" ? "⚙" : "▤"}</span>
        <span className="lnode-label">{node.label}</span>
        {kind && <span className="lnode-drift">{kind.label}</span>}
      </div>
      <div className="lnode-sub">
        {node.state && <span className={`dot state-${node.state.toLowerCase()}`} />}
        {node.detail ?? node.namespace}
      </div>
      {node.hidden > 0 && onExpand && (
        <button
          className="lnode-expand nodrag"
          title={`show ${node.hidden} more neighbour${node.hidden > 1 ? "s" : ""}`}
          onClick={(e) => {
            e.stopPropagation();
            onExpand(node.id);
          }}
        >
          +{node.hidden}
        </button>
      )}
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
});

const nodeTypes = { lineage: LineageNode };
// Below this zoom the whole graph no longer fits readably; the mart's graph from the raw files
// (about 8 layers) fits a 1,500 px window at ~0.5, so it is shown whole on load (names on hover).
const READABLE_ZOOM = 0.4;

export function LineageGraph({
  graph,
  drifts,
  kinds,
  selected,
  onSelect,
  onOpen,
  onExpand,
  focus,
  engine = "auto",
}: {
  graph: LGraph;
  drifts: Map<string, Drift[]>;
  kinds?: KindTable;
  selected: string | null;
  onSelect: (id: string | null) => void;
  onOpen: (node: LNode) => void;
  onExpand?: (id: string) => void;
  focus?: string | null;
  engine?: "auto" | "elk" | "fast";
}) {
  const [positions, setPositions] = useState<Map<string, { x: number; y: number }> | null>(null);
  const [layoutError, setLayoutError] = useState<string | null>(null);
  const [layoutMs, setLayoutMs] = useState(0);

  useEffect(() => {
    let cancelled = false;
    const t0 = performance.now();
    setLayoutError(null);
    layout(graph, engine).then(
      (p) => {
        if (cancelled) return;
        setLayoutMs(performance.now() - t0);
        setPositions(p);
      },
      (e: Error) => !cancelled && setLayoutError(e.message),
    );
    return () => {
      cancelled = true;
    };
  }, [graph, engine]);

  const canvas = useRef<HTMLDivElement>(null);
  // Fit the whole graph when it stays readable; otherwise a readable zoom around the focus node,
  // shifted so the graph fills the view (a mart at the right end shows its upstream to the left).
  const onInit = useCallback(
    (rf: ReactFlowInstance<Node<FlowData>, Edge>) => {
      const box = canvas.current?.getBoundingClientRect();
      const at = focus ? positions?.get(focus) : undefined;
      if (!box || !positions || !at) return rf.fitView({ padding: 0.15, maxZoom: 1.2 });
      const xs = [...positions.values()].map((p) => p.x);
      const ys = [...positions.values()].map((p) => p.y);
      const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs) + NODE_W, Math.min(...ys), Math.max(...ys) + NODE_H];
      const fit = Math.min(box.width / ((maxX - minX) * 1.15), box.height / ((maxY - minY) * 1.15));
      if (fit >= READABLE_ZOOM) return rf.fitView({ padding: 0.15, maxZoom: 1.2 });
      const z = READABLE_ZOOM;
      const pad = 30;
      let x = box.width / 2 - (at.x + NODE_W / 2) * z;
      x = Math.min(x, pad - minX * z); // no empty space left of the graph
      x = Math.max(x, box.width - pad - maxX * z); // nor right of it
      let y = box.height / 2 - (at.y + NODE_H / 2) * z;
      if ((maxY - minY) * z < box.height) y = box.height / 2 - ((minY + maxY) / 2) * z;
      rf.setViewport({ x, y, zoom: z });
    },
    [focus, positions],
  );

  const highlight = useMemo(() => (selected ? upstreamOf(selected, graph.edges) : null), [selected, graph.edges]);

  const nodes: Node<FlowData>[] = useMemo(() => {
    if (!positions) return [];
    return graph.nodes.map((n) => ({
      id: n.id,
      type: "lineage",
      position: positions.get(n.id) ?? { x: 0, y: 0 },
      width: NODE_W,
      height: NODE_H,
      selected: n.id === selected,
      data: {
        node: n,
        drifts: drifts.get(n.id) ?? [],
        kinds,
        mark: !highlight ? (n.id === focus ? "selected" : "") : n.id === selected ? "selected" : highlight.nodes.has(n.id) ? "upstream" : "dim",
        onExpand,
      },
    }));
  }, [graph.nodes, positions, selected, highlight, drifts, kinds, onExpand, focus]);

  const edges: Edge[] = useMemo(
    () =>
      graph.edges.map((e) => {
        const on = highlight?.edges.has(e.id);
        return {
          id: e.id,
          source: e.source,
          target: e.target,
          className: highlight ? (on ? "edge-on" : "edge-dim") : "",
          animated: !!on,
        };
      }),
    [graph.edges, highlight],
  );

  // Time from layout done to the browser having painted the nodes (the benchmark reads it).
  useEffect(() => {
    if (!positions || nodes.length === 0) return;
    const t0 = performance.now();
    const measured = layoutMs;
    requestAnimationFrame(() =>
      setTimeout(() => {
        const timings: GraphTimings = { engine, nodes: nodes.length, edges: edges.length, layoutMs: measured, renderMs: performance.now() - t0 };
        (window.__lineageUi ??= { graphs: [] }).graphs.push(timings);
        document.querySelector(".graph-canvas")?.setAttribute("data-ready", "true");
      }, 0),
    );
    // Only once per layout: highlighting re-renders but is not a new graph.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [positions]);

  if (layoutError) return <div className="state error">The graph could not be laid out: {layoutError}</div>;
  if (!positions)
    return (
      <div className="state loading" role="status">
        <span className="spinner" /> Laying out {graph.nodes.length} nodes…
      </div>
    );
  return (
    <div className="graph-canvas" data-ready="false" data-testid="graph" ref={canvas}>
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onInit={onInit}
        minZoom={0.03}
        maxZoom={2}
        nodesDraggable={false}
        nodesConnectable={false}
        edgesFocusable={false}
        onlyRenderVisibleElements={graph.nodes.length > 300}
        onNodeClick={(_, n) => onSelect(n.id === selected ? null : n.id)}
        onNodeDoubleClick={(_, n) => onOpen((n.data as FlowData).node)}
        onPaneClick={() => onSelect(null)}
        proOptions={{ hideAttribution: true }}
      >
        <Background gap={24} />
        <Controls showInteractive={false} />
        {graph.nodes.length <= 400 && <MiniMap pannable zoomable nodeStrokeWidth={3} />}
      </ReactFlow>
    </div>
  );
}

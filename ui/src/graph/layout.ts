// Left-to-right layered layout: ELK's Sugiyama-style "layered" algorithm up to ELK_MAX_NODES
// (best crossing minimization), the linear-time layered layout beyond (ELK needs seconds there).
import type { ELK as ElkApi } from "elkjs/lib/elk-api";
import { layeredLayout } from "./layered";
import type { LGraph } from "./model";

export const NODE_W = 200;
export const NODE_H = 52;
export const ELK_MAX_NODES = 250;

// ELK is most of the graph code's weight (1.4 MB): loaded the first time a graph needs it.
let elk: Promise<ElkApi> | null = null;
const loadElk = () => (elk ??= import("elkjs/lib/elk.bundled.js").then(({ default: ELK }) => new ELK()));

const OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.layered.spacing.nodeNodeBetweenLayers": "45",
  "elk.spacing.nodeNode": "18",
  "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.edgeRouting": "POLYLINE",
};

export async function layout(graph: LGraph, engine: "auto" | "elk" | "fast" = "auto"): Promise<Map<string, { x: number; y: number }>> {
  if (engine === "fast" || (engine === "auto" && graph.nodes.length > ELK_MAX_NODES)) {
    return layeredLayout({ ids: graph.nodes.map((n) => n.id), edges: graph.edges }, { nodeW: NODE_W, nodeH: NODE_H, layerGap: 45, nodeGap: 18 });
  }
  const result = await (await loadElk()).layout({
    id: "root",
    layoutOptions: OPTIONS,
    children: graph.nodes.map((n) => ({ id: n.id, width: NODE_W, height: NODE_H })),
    edges: graph.edges.map((e) => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  });
  const positions = new Map<string, { x: number; y: number }>();
  for (const c of result.children ?? []) positions.set(c.id, { x: c.x ?? 0, y: c.y ?? 0 });
  return positions;
}

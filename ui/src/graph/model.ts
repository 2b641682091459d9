// The graph the UI draws: Marquez's /lineage answer (or a run's dataset versions), as plain nodes and edges.
import type { GraphNode } from "../api";
import { nodeLabel } from "../format";

export interface LNode {
  id: string; // Marquez node id: "dataset:<ns>:<name>" / "job:<ns>:<name>"
  kind: "dataset" | "job";
  namespace: string;
  name: string;
  label: string;
  detail?: string; // a second line: a version, a run's partition and state
  state?: string; // a job run's state (lineage as of a run)
  version?: string; // a dataset version (lineage as of a run)
  runId?: string;
  column?: string; // column mode: the field's name
  hidden: number; // edges to nodes not drawn yet (what "expand" would add)
}
export interface LEdge {
  id: string;
  source: string;
  target: string;
}
export interface LGraph {
  nodes: LNode[];
  edges: LEdge[];
}

export const edgeId = (source: string, target: string) => `${source}->${target}`;

/** Marquez's /lineage graph(s), merged: one node per id, one edge per (origin, destination). */
export function fromMarquez(...graphs: GraphNode[][]): LGraph {
  const byId = new Map<string, GraphNode>();
  for (const g of graphs) for (const n of g) if (!byId.has(n.id)) byId.set(n.id, n);
  const edges = new Map<string, LEdge>();
  for (const n of byId.values()) {
    for (const e of [...n.inEdges, ...n.outEdges]) {
      if (byId.has(e.origin) && byId.has(e.destination)) {
        const id = edgeId(e.origin, e.destination);
        edges.set(id, { id, source: e.origin, target: e.destination });
      }
    }
  }
  const nodes: LNode[] = [...byId.values()].map((n) => {
    const kind = n.type === "JOB" ? "job" : "dataset";
    const data = n.data ?? {};
    if (n.type === "DATASET_FIELD") {
      // Column mode (/column-lineage): one node per column, labelled table.column.
      const table = nodeLabel("dataset", data.dataset ?? "");
      return {
        id: n.id, kind, namespace: data.namespace ?? "", name: data.dataset ?? "", label: `${table}.${data.field}`,
        detail: [data.fieldType, data.transformationType].filter(Boolean).join(" · ") || data.namespace, column: data.field, hidden: 0,
      };
    }
    const namespace: string = data.namespace ?? data.id?.namespace ?? "";
    const name: string = data.name ?? data.id?.name ?? n.id;
    const others = new Set<string>();
    for (const e of n.inEdges) if (!byId.has(e.origin)) others.add(e.origin);
    for (const e of n.outEdges) if (!byId.has(e.destination)) others.add(e.destination);
    return {
      id: n.id,
      kind,
      namespace,
      name,
      label: nodeLabel(kind, name),
      detail: kind === "job" && data.latestRun ? data.latestRun.state : undefined,
      state: kind === "job" ? data.latestRun?.state : undefined,
      hidden: others.size,
    };
  });
  return { nodes, edges: [...edges.values()] };
}

/** Every node upstream of `id` (its inputs, their producers, ... back to the sources), and the edges between them. */
export function upstreamOf(id: string, edges: LEdge[]): { nodes: Set<string>; edges: Set<string> } {
  const into = new Map<string, LEdge[]>();
  for (const e of edges) {
    const list = into.get(e.target);
    if (list) list.push(e);
    else into.set(e.target, [e]);
  }
  const nodes = new Set<string>([id]);
  const path = new Set<string>();
  const queue = [id];
  while (queue.length) {
    const current = queue.pop()!;
    for (const e of into.get(current) ?? []) {
      path.add(e.id);
      if (!nodes.has(e.source)) {
        nodes.add(e.source);
        queue.push(e.source);
      }
    }
  }
  return { nodes, edges: path };
}

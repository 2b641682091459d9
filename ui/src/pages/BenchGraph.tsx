import { useMemo, useState } from "react";
import { useSearchParams } from "react-router-dom";
import { ReactFlowProvider } from "@xyflow/react";
import { LineageGraph } from "../graph/LineageGraph";
import { edgeId, type LEdge, type LGraph, type LNode } from "../graph/model";

/** /bench/graph?n=1000: a synthetic layered lineage graph of n nodes (jobs and datasets alternating,
 * each job reading the previous dataset and one ~10 layers back), drawn by the same component as
 * /lineage. bench/ui_graph.py reads window.__lineageUi.graphs for the layout and render times. */
export function BenchGraphPage() {
  const [params] = useSearchParams();
  const n = Math.max(2, Math.min(20_000, Number(params.get("n") ?? 1000) || 1000));
  const engine = (params.get("layout") ?? "auto") as "auto" | "elk" | "fast";
  const width = Math.max(1, Number(params.get("width") ?? 10) || 10);
  const graph = useMemo(() => synthetic(n, width), [n, width]);
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <div className="page lineage">
      <h1>Benchmark graph: {graph.nodes.length} nodes, {graph.edges.length} edges</h1>
      <div className="lineage-body">
        <div className="graph-wrap">
          <ReactFlowProvider>
            <LineageGraph graph={graph} drifts={new Map()} selected={selected} onSelect={setSelected} onOpen={() => undefined} engine={engine} />
          </ReactFlowProvider>
        </div>
      </div>
    </div>
  );
}

function synthetic(n: number, width: number): LGraph {
  const nodes: LNode[] = [];
  const edges: LEdge[] = [];
  const pairs = Math.floor(n / 2);
  const ds = (i: number) => `dataset:bench:ds_${i}`;
  const job = (i: number) => `job:bench:job_${i}`;
  for (let i = 0; i < pairs; i++) {
    nodes.push({ id: job(i), kind: "job", namespace: "bench", name: `job_${i}`, label: `job_${i}`, hidden: 0 });
    nodes.push({ id: ds(i), kind: "dataset", namespace: "bench", name: `ds_${i}`, label: `ds_${i}`, hidden: 0 });
    edges.push({ id: edgeId(job(i), ds(i)), source: job(i), target: ds(i) });
    // Parallel chains of `width`, each job reading the dataset one step back and one ~10 steps back.
    for (const back of [width, width * 10]) {
      if (i - back >= 0) edges.push({ id: edgeId(ds(i - back), job(i)), source: ds(i - back), target: job(i) });
    }
  }
  return { nodes, edges };
}

// A linear-time left-to-right layered layout for big graphs. ELK's layered algorithm places long
// edges with dummy nodes and minimizes crossings thoroughly: 3-9 s for 1,000 lineage nodes on a
// 2-core machine (bench/results/ui_graph.md). This keeps the same picture (sources left, each node
// one layer right of its latest input) with a cheaper ordering: barycenter sweeps over real
// neighbours only, then each node pulled toward its neighbours' heights without overlaps.

export interface LayoutInput {
  ids: string[];
  edges: { source: string; target: string }[];
}

export function layeredLayout(
  g: LayoutInput,
  opts: { nodeW: number; nodeH: number; layerGap: number; nodeGap: number; sweeps?: number },
): Map<string, { x: number; y: number }> {
  const n = g.ids.length;
  const index = new Map(g.ids.map((id, i) => [id, i]));
  const preds: number[][] = Array.from({ length: n }, () => []);
  const succs: number[][] = Array.from({ length: n }, () => []);
  for (const e of g.edges) {
    const s = index.get(e.source);
    const t = index.get(e.target);
    if (s === undefined || t === undefined || s === t) continue;
    succs[s].push(t);
    preds[t].push(s);
  }

  // 1. Layers: longest path from the sources (Kahn's order). A cycle (a job reading what it
  //    writes) is broken at the node with the fewest unplaced inputs.
  const layer = new Array<number>(n).fill(0);
  const remaining = preds.map((p) => p.length);
  const placed = new Array<boolean>(n).fill(false);
  const order: number[] = [];
  let queue = g.ids.map((_, i) => i).filter((i) => remaining[i] === 0);
  while (order.length < n) {
    if (queue.length === 0) {
      let best = -1;
      for (let i = 0; i < n; i++) if (!placed[i] && (best < 0 || remaining[i] < remaining[best])) best = i;
      queue = [best];
    }
    const next: number[] = [];
    for (const v of queue) {
      if (placed[v]) continue;
      placed[v] = true;
      order.push(v);
      for (const w of succs[v]) {
        if (placed[w]) continue;
        layer[w] = Math.max(layer[w], layer[v] + 1);
        if (--remaining[w] === 0) next.push(w);
      }
    }
    queue = next;
  }
  // A source sits just left of its first consumer (a seed next to the model reading it).
  for (const v of order) {
    if (preds[v].length === 0 && succs[v].length > 0) layer[v] = Math.max(0, Math.min(...succs[v].map((w) => layer[w])) - 1);
  }

  // 2. Order within layers: barycenter sweeps (down by inputs, up by outputs).
  const depth = Math.max(0, ...layer) + 1;
  const layers: number[][] = Array.from({ length: depth }, () => []);
  for (const v of order) layers[layer[v]].push(v);
  const pos = new Array<number>(n).fill(0);
  const renumber = () => layers.forEach((l) => l.forEach((v, i) => (pos[v] = i / Math.max(1, l.length - 1))));
  renumber();
  const sortBy = (l: number[], neighbours: number[][]) => {
    const key = new Map<number, number>();
    for (const v of l) {
      const ns = neighbours[v];
      key.set(v, ns.length ? ns.reduce((a, w) => a + pos[w], 0) / ns.length : pos[v]);
    }
    l.sort((a, b) => key.get(a)! - key.get(b)!);
    l.forEach((v, i) => (pos[v] = i / Math.max(1, l.length - 1)));
  };
  for (let s = 0; s < (opts.sweeps ?? 4); s++) {
    for (let L = 1; L < depth; L++) sortBy(layers[L], preds);
    for (let L = depth - 2; L >= 0; L--) sortBy(layers[L], succs);
  }
  for (let L = 1; L < depth; L++) sortBy(layers[L], preds);

  // 3. Heights: stacked in order, then each layer pulled toward its neighbours (inputs going
  //    right, outputs going left), keeping the order and the gap between nodes.
  const step = opts.nodeH + opts.nodeGap;
  const y = new Array<number>(n).fill(0);
  for (const l of layers) l.forEach((v, i) => (y[v] = i * step));
  const settle = (l: number[], neighbours: number[][]) => {
    if (l.length === 0) return;
    const want = l.map((v) => (neighbours[v].length ? neighbours[v].reduce((a, w) => a + y[w], 0) / neighbours[v].length : y[v]));
    const placedY = [...want];
    for (let i = 1; i < l.length; i++) placedY[i] = Math.max(placedY[i], placedY[i - 1] + step);
    for (let i = l.length - 2; i >= 0; i--) placedY[i] = Math.min(placedY[i], placedY[i + 1] - step);
    // The two passes keep order and gaps; the backward one may push the layer up: recentre it.
    const shift = want.reduce((a, w, i) => a + w - placedY[i], 0) / l.length;
    l.forEach((v, i) => (y[v] = placedY[i] + shift));
  };
  for (let s = 0; s < 2; s++) {
    for (let L = 1; L < depth; L++) settle(layers[L], preds);
    for (let L = depth - 2; L >= 0; L--) settle(layers[L], succs);
  }

  const out = new Map<string, { x: number; y: number }>();
  g.ids.forEach((id, v) => out.set(id, { x: layer[v] * (opts.nodeW + opts.layerGap), y: y[v] }));
  return out;
}

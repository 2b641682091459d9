// node --test (Node 24 strips the types): run by tests/ui/test_layout.py.
import assert from "node:assert/strict";
import { test } from "node:test";
import { layeredLayout } from "./layered.ts";

const opts = { nodeW: 200, nodeH: 52, layerGap: 45, nodeGap: 18 };

function chainWithLinks(n: number, width: number) {
  const ids: string[] = [];
  const edges: { source: string; target: string }[] = [];
  for (let i = 0; i < n / 2; i++) {
    ids.push(`j${i}`, `d${i}`);
    edges.push({ source: `j${i}`, target: `d${i}` });
    for (const back of [width, width * 10]) if (i - back >= 0) edges.push({ source: `d${i - back}`, target: `j${i}` });
  }
  return { ids, edges };
}

function noOverlaps(pos: Map<string, { x: number; y: number }>) {
  const byX = new Map<number, number[]>();
  for (const p of pos.values()) byX.set(p.x, [...(byX.get(p.x) ?? []), p.y]);
  for (const ys of byX.values()) {
    ys.sort((a, b) => a - b);
    for (let i = 1; i < ys.length; i++) assert.ok(ys[i] - ys[i - 1] >= opts.nodeH + opts.nodeGap - 1e-6, `overlap: ${ys[i - 1]} ${ys[i]}`);
  }
}

test("every edge goes left to right, and no two nodes of a layer overlap", () => {
  const g = chainWithLinks(1000, 10);
  const pos = layeredLayout(g, opts);
  assert.equal(pos.size, 1000);
  for (const e of g.edges) assert.ok(pos.get(e.target)!.x > pos.get(e.source)!.x, `${e.source} -> ${e.target}`);
  noOverlaps(pos);
});

test("a chain is a straight line, and a source sits next to its first consumer", () => {
  const pos = layeredLayout(
    {
      ids: ["raw", "job1", "stg", "job2", "mart", "seed"],
      edges: [
        { source: "raw", target: "job1" },
        { source: "job1", target: "stg" },
        { source: "stg", target: "job2" },
        { source: "job2", target: "mart" },
        { source: "seed", target: "job2" },
      ],
    },
    opts,
  );
  const layerOf = (id: string) => pos.get(id)!.x / (opts.nodeW + opts.layerGap);
  assert.deepEqual(["raw", "job1", "stg", "job2", "mart"].map(layerOf), [0, 1, 2, 3, 4]);
  assert.equal(layerOf("seed"), 2);
  noOverlaps(pos);
});

test("a cycle (a job reading what it writes) is laid out, not looped on", () => {
  const pos = layeredLayout(
    { ids: ["a", "job", "b"], edges: [{ source: "a", target: "job" }, { source: "job", target: "a" }, { source: "job", target: "b" }] },
    opts,
  );
  assert.equal(pos.size, 3);
  assert.ok(pos.get("b")!.x > pos.get("job")!.x);
});

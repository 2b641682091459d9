// node --test (Node 24 strips the types): run by tests/ui/test_layout.py.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { DriftReport } from "./api.ts";
import { inKindOrder, kindOf, kindStyle, kindTable } from "./driftKinds.ts";

const report = {
  version: 1,
  generated_at: "2025-01-01T00:00:00+00:00",
  marquez: "http://marquez",
  summary: {},
  drifts: [],
  kinds: [
    { name: "missing_dataset", severity: "error", label: "missing dataset", color: "#c4271d", when: "never emitted" },
    { name: "orphan_dataset", severity: "warning", label: "orphan dataset", color: "#d9480f", when: "no asset owns it" },
  ],
} satisfies DriftReport;

test("a kind's label, colour and severity come from the report", () => {
  const kinds = kindTable(report);
  assert.equal(kindOf(kinds, "orphan_dataset").label, "orphan dataset");
  assert.equal(kindOf(kinds, "orphan_dataset").severity, "warning");
  assert.deepEqual(kindStyle(kindOf(kinds, "missing_dataset")), { "--drift": "#c4271d" });
});

test("a kind the report does not declare is drawn neutral, under its own name", () => {
  const k = kindOf(kindTable({ ...report, kinds: undefined }), "brand_new_kind");
  assert.equal(k.label, "brand new kind");
  assert.match(k.color, /^#/);
});

test("kinds are listed in the report's order, unknown ones last", () => {
  assert.deepEqual(inKindOrder(kindTable(report), ["zzz", "orphan_dataset", "missing_dataset", "orphan_dataset"]), [
    "missing_dataset",
    "orphan_dataset",
    "zzz",
  ]);
});

// Drift kinds come from the report (`kinds`, declared once in lineage/diff/kinds.py): the label,
// colour, severity and "when it fires" of each. A kind the report does not declare (an older
// report) is drawn neutral, under its own name.
import type { CSSProperties } from "react";
import type { DriftKind, DriftReport } from "./api";

export type KindTable = ReadonlyMap<string, DriftKind>;

const NEUTRAL = "#868e96";

export function kindTable(report: DriftReport | null | undefined): KindTable {
  return new Map((report?.kinds ?? []).map((k) => [k.name, k]));
}

export function kindOf(kinds: KindTable | undefined, name: string): DriftKind {
  return kinds?.get(name) ?? { name, severity: "warning", label: name.replace(/_/g, " "), color: NEUTRAL, when: "" };
}

/** The kind's colour as the CSS variable `--drift` (styles.css colours swatches, borders and tags with it). */
export function kindStyle(kind: DriftKind): CSSProperties {
  return { ["--drift" as string]: kind.color } as CSSProperties;
}

/** Kind names in the report's declared order (unknown ones last, as met). */
export function inKindOrder(kinds: KindTable, names: Iterable<string>): string[] {
  const order = [...kinds.keys()];
  const rank = (n: string) => {
    const i = order.indexOf(n);
    return i < 0 ? order.length : i;
  };
  return [...new Set(names)].sort((a, b) => rank(a) - rank(b));
}

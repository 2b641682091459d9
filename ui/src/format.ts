export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z").replace(/Z$/, " UTC");
}

export function fmtDay(iso: string | null | undefined): string {
  if (!iso) return "—";
  return iso.slice(0, 10);
}

export function fmtDuration(ms: number | null | undefined): string {
  if (ms == null) return "—";
  if (ms < 1000) return `${ms} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A run or version id, short: its last 8 characters. OpenLineage run ids are UUIDv7, whose
 *  first characters are a timestamp shared by runs started within the same minute; the tail
 *  is random (and for name-based version ids, hash), so it tells them apart. */
export function shortId(id: string | null | undefined): string {
  return id ? id.slice(-8) : "—";
}

/** The last dotted part of a long name, for compact graph labels. */
export function shortName(name: string): string {
  const parts = name.split(".");
  if (parts.length <= 2) return name;
  return parts.slice(-2).join(".");
}

/** A compact graph label: dbt node jobs by model (`...stg_bioreactor.build.run` -> stg_bioreactor),
 * asset jobs by asset key, datasets by schema.table. */
export function nodeLabel(kind: "dataset" | "job", name: string): string {
  if (kind === "job") {
    const dbt = /^(.*)\.build\.(run|test|snapshot|seed)$/.exec(name);
    if (dbt) {
      const model = dbt[1].split(".").pop() ?? dbt[1];
      return dbt[2] === "run" ? model : `${model} (${dbt[2]})`;
    }
    if (name.startsWith("dagster.asset.")) return name.slice("dagster.asset.".length);
    const parts = name.split(".");
    return parts.length > 2 ? parts.slice(-1)[0] : name;
  }
  if (name.startsWith("/")) return name.split("/").filter(Boolean).slice(-2).join("/");
  return shortName(name);
}

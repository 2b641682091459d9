// The Marquez HTTP API (same origin: the lineage UI server proxies /api/v1 to the configured
// Marquez) and the last `lineage diff` report. Only endpoints real Marquez 0.51 has.

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly hint?: string,
  ) {
    super(message);
  }
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { headers: { Accept: "application/json" }, signal });
  } catch (err) {
    if ((err as Error).name === "AbortError") throw err;
    throw new ApiError(
      "The lineage UI server is unreachable: is `lakehouse up` running?",
      0,
      "start it with `lakehouse up` (or `make demo`), then reload",
    );
  }
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const b = (body ?? {}) as { error?: string; message?: string; errors?: string[]; hint?: string };
    if (response.status === 502 && b.error) throw new ApiError(b.error, 502, b.hint);
    const detail = b.error ?? b.message ?? b.errors?.join("; ") ?? (text.slice(0, 200) || response.statusText);
    throw new ApiError(`${path.split("?")[0]}: ${response.status} ${detail}`, response.status, b.hint);
  }
  if (body === undefined) throw new ApiError(`${path}: the answer is not JSON`, response.status);
  return body as T;
}

export const enc = encodeURIComponent;

// --- Marquez shapes (the fields the UI reads) --------------------------------------------

export type Facets = Record<string, any>;
export interface Field {
  name: string;
  type: string | null;
  description?: string | null;
  tags?: string[];
}
export interface DatasetId {
  namespace: string;
  name: string;
}
export interface DatasetVersionId extends DatasetId {
  version: string;
}
export interface IoVersion {
  datasetVersionId: DatasetVersionId;
  facets: Facets;
}
export interface Run {
  id: string;
  createdAt: string;
  updatedAt: string;
  state: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  nominalStartTime: string | null;
  nominalEndTime: string | null;
  args: Record<string, string>;
  jobVersion: { namespace: string; name: string; version: string } | null;
  inputDatasetVersions?: IoVersion[];
  outputDatasetVersions?: IoVersion[];
  facets: Facets;
}
export interface Dataset {
  id: DatasetId;
  type: string;
  name: string;
  physicalName: string;
  namespace: string;
  sourceName: string;
  createdAt: string;
  updatedAt: string;
  fields: Field[];
  tags: string[];
  description: string | null;
  facets: Facets;
  currentVersion?: string;
  columnLineage?: unknown;
}
export interface DatasetVersion extends Dataset {
  version: string;
  createdByRun: Run | null;
}
export interface Job {
  id: DatasetId;
  type: string;
  name: string;
  simpleName?: string;
  parentJobName?: string | null;
  namespace: string;
  createdAt: string;
  updatedAt: string;
  inputs: DatasetId[];
  outputs: DatasetId[];
  location: string | null;
  description: string | null;
  latestRun: Run | null;
  facets: Facets;
}
export interface Namespace {
  name: string;
  createdAt: string;
  updatedAt: string;
  ownerName: string;
  description: string | null;
}
export interface GraphNode {
  id: string;
  type: "DATASET" | "JOB" | "DATASET_FIELD";
  data: any;
  inEdges: { origin: string; destination: string }[];
  outEdges: { origin: string; destination: string }[];
}
export interface SearchResult {
  type: "DATASET" | "JOB";
  name: string;
  namespace: string;
  nodeId: string;
  updatedAt: string;
}
export interface LineageEvent {
  eventType: string;
  eventTime: string;
  run: { runId: string; facets?: Facets };
  job: { namespace: string; name: string };
}

const v1 = "/api/v1";

export const api = {
  namespaces: (s?: AbortSignal) => getJson<{ namespaces: Namespace[] }>(`${v1}/namespaces`, s),
  datasets: (ns: string, limit = 100, offset = 0, s?: AbortSignal) =>
    getJson<{ datasets: Dataset[]; totalCount: number }>(
      `${v1}/namespaces/${enc(ns)}/datasets?limit=${limit}&offset=${offset}`,
      s,
    ),
  jobs: (ns: string, limit = 100, offset = 0, s?: AbortSignal) =>
    getJson<{ jobs: Job[]; totalCount: number }>(`${v1}/namespaces/${enc(ns)}/jobs?limit=${limit}&offset=${offset}`, s),
  allJobs: (limit = 200, s?: AbortSignal) => getJson<{ jobs: Job[]; totalCount: number }>(`${v1}/jobs?limit=${limit}`, s),
  dataset: (ns: string, name: string, s?: AbortSignal) =>
    getJson<Dataset>(`${v1}/namespaces/${enc(ns)}/datasets/${enc(name)}`, s),
  datasetVersions: (ns: string, name: string, limit = 100, s?: AbortSignal) =>
    getJson<{ versions: DatasetVersion[]; totalCount: number }>(
      `${v1}/namespaces/${enc(ns)}/datasets/${enc(name)}/versions?limit=${limit}`,
      s,
    ),
  datasetVersion: (ns: string, name: string, version: string, s?: AbortSignal) =>
    getJson<DatasetVersion>(`${v1}/namespaces/${enc(ns)}/datasets/${enc(name)}/versions/${enc(version)}`, s),
  job: (ns: string, name: string, s?: AbortSignal) => getJson<Job>(`${v1}/namespaces/${enc(ns)}/jobs/${enc(name)}`, s),
  jobRuns: (ns: string, name: string, limit = 100, s?: AbortSignal) =>
    getJson<{ runs: Run[]; totalCount?: number }>(`${v1}/namespaces/${enc(ns)}/jobs/${enc(name)}/runs?limit=${limit}`, s),
  run: (id: string, s?: AbortSignal) => getJson<Run>(`${v1}/jobs/runs/${enc(id)}`, s),
  lineage: (nodeId: string, depth: number, s?: AbortSignal) =>
    getJson<{ graph: GraphNode[] }>(`${v1}/lineage?nodeId=${enc(nodeId)}&depth=${depth}`, s),
  columnLineage: (nodeId: string, depth: number, s?: AbortSignal) =>
    getJson<{ graph: GraphNode[] }>(`${v1}/column-lineage?nodeId=${enc(nodeId)}&depth=${depth}`, s),
  search: (q: string, limit = 20, s?: AbortSignal) =>
    getJson<{ totalCount: number; results: SearchResult[] }>(`${v1}/search?q=${enc(q)}&limit=${limit}`, s),
  events: (after: string, before: string, limit: number, offset: number, s?: AbortSignal) =>
    getJson<{ events: LineageEvent[]; totalCount: number }>(
      `${v1}/events/lineage?after=${enc(after)}&before=${enc(before)}&limit=${limit}&offset=${offset}&sortDirection=asc`,
      s,
    ),
  drift: (s?: AbortSignal) => getJson<DriftReport>(`/lineage-ui/drift`, s),
  config: (s?: AbortSignal) => getJson<{ marquez: string; marquezKind: string; driftReport: string }>(`/lineage-ui/config`, s),
};

// --- the `lineage diff` report (JSON version 1, lineage/diff/report.py) -------------------

export interface Drift {
  kind: string;
  severity: "info" | "warning" | "error";
  subject: string;
  node?: { type: "dataset" | "job"; namespace: string; name: string };
  asset: string | null;
  message: string;
  fix: string;
}
/** A drift kind as the report declares it (lineage/diff/kinds.py): the UI draws labels, colours
 *  and severities from here, never from a table of its own. */
export interface DriftKind {
  name: string;
  severity: "info" | "warning" | "error";
  label: string;
  color: string;
  when: string;
}
export interface DriftReport {
  version: number;
  kinds?: DriftKind[]; // absent in reports written before kinds were carried
  generated_at: string;
  marquez: string;
  summary: Record<string, any>;
  drifts: Drift[];
}

/** The graph node id a drift is about ("dataset:<ns>:<name>"), from `node` when the report has it. */
export function driftNodeId(d: Drift): string {
  if (d.node) return `${d.node.type}:${d.node.namespace}:${d.node.name}`;
  return d.subject;
}

// --- small helpers -------------------------------------------------------------------------

/** "dataset:ns:name" -> parts; the namespace may itself hold ':' (postgres://h:5432), the name never starts one. */
export function parseNodeId(id: string): { type: "dataset" | "job"; namespace: string; name: string } | null {
  const m = /^(dataset|job):(.*)$/i.exec(id);
  if (!m) return null;
  const rest = m[2];
  // Namespaces are URIs (scheme://authority[/path]) or plain words; the name follows the last ':' that ends the namespace.
  const uri = /^([a-z][a-z0-9+.-]*:\/\/[^:/]*(?::\d+)?(?:\/[^:]*)?):(.*)$/i.exec(rest);
  if (uri) return { type: m[1].toLowerCase() as "dataset" | "job", namespace: uri[1], name: uri[2] };
  const i = rest.indexOf(":");
  if (i < 0) return null;
  return { type: m[1].toLowerCase() as "dataset" | "job", namespace: rest.slice(0, i), name: rest.slice(i + 1) };
}

export function nominalTime(run: Run | null | undefined): string | null {
  if (!run) return null;
  return (
    run.nominalStartTime ?? run.facets?.nominalTime?.nominalStartTime ?? run.args?.nominal_start_time ?? null
  );
}

export function parentRun(run: Run): { runId: string; namespace: string; name: string } | null {
  const p = run.facets?.parent;
  if (!p?.run?.runId) return null;
  return { runId: p.run.runId, namespace: p.job?.namespace, name: p.job?.name };
}

export function errorOf(run: Run): { message: string; stackTrace?: string; language?: string } | null {
  const e = run.facets?.errorMessage;
  if (!e) return null;
  return { message: e.message, stackTrace: e.stackTrace, language: e.programmingLanguage };
}

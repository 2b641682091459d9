// Every view has its own URL. Names and namespaces hold '/' and ':', so they travel as query parameters.
const q = encodeURIComponent;

export const links = {
  home: () => "/",
  search: (text: string) => `/search?q=${q(text)}`,
  dataset: (ns: string, name: string, version?: string) =>
    `/dataset?ns=${q(ns)}&name=${q(name)}${version ? `&version=${q(version)}` : ""}`,
  job: (ns: string, name: string) => `/job?ns=${q(ns)}&name=${q(name)}`,
  run: (id: string) => `/run/${q(id)}`,
  lineage: (nodeId: string, depth?: number) => `/lineage?node=${q(nodeId)}${depth ? `&depth=${depth}` : ""}`,
  lineageAsOfRun: (runId: string) => `/lineage?run=${q(runId)}`,
  columnLineage: (ns: string, dataset: string, field: string) => `/lineage?column=${q(`datasetField:${ns}:${dataset}:${field}`)}`,
  drift: () => "/drift",
  nodeId: (type: "dataset" | "job", ns: string, name: string) => `${type}:${ns}:${name}`,
};

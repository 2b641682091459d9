// Lineage as of a run: the dataset versions a run read and wrote, and upstream, the runs that wrote
// those versions and what they read, back to the sources. Marquez's /lineage shows only each job's
// current version (Marquez #2543); a run's recorded input/output versions do not change afterwards.
import { ApiError, api, nominalTime, type Run } from "../api";
import { fmtDay, nodeLabel, shortId } from "../format";
import { edgeId, type LEdge, type LGraph, type LNode } from "./model";

export interface AsOf {
  run: Run;
  graph: LGraph;
  runs: number;
  truncated: boolean;
}

/** The run that wrote a dataset version, by the version id a run's inputs name. Where a server's
 * single-version endpoint knows only the ids of its versions list, the list is searched instead:
 * a run names its outputs with the same ids its readers do. */
async function producerOf(v: { namespace: string; name: string; version: string }, signal: AbortSignal): Promise<string | null> {
  try {
    return (await api.datasetVersion(v.namespace, v.name, v.version, signal)).createdByRun?.id ?? null;
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) return null;
  }
  try {
    const { versions } = await api.datasetVersions(v.namespace, v.name, 100, signal);
    const hit = versions.find((dv) =>
      dv.createdByRun?.outputDatasetVersions?.some((o) => o.datasetVersionId.name === v.name && o.datasetVersionId.version === v.version),
    );
    return hit?.createdByRun?.id ?? null;
  } catch {
    return null;
  }
}

export async function lineageAsOfRun(runId: string, signal: AbortSignal, maxRuns = 200): Promise<AsOf> {
  const nodes = new Map<string, LNode>();
  const edges = new Map<string, LEdge>();
  const seenRuns = new Set<string>();
  const addEdge = (source: string, target: string) => edges.set(edgeId(source, target), { id: edgeId(source, target), source, target });
  const datasetNode = (ns: string, name: string, version: string): string => {
    const id = `dataset:${ns}:${name}`;
    if (!nodes.has(id))
      nodes.set(id, { id, kind: "dataset", namespace: ns, name, label: nodeLabel("dataset", name), version, detail: `version ${shortId(version)}`, hidden: 0 });
    return id;
  };

  const root = await api.run(runId, signal);
  let level: Run[] = [root];
  seenRuns.add(root.id);
  let truncated = false;
  while (level.length) {
    const next: string[] = [];
    for (const run of level) {
      const job = run.jobVersion;
      const jobId = job ? `job:${job.namespace}:${job.name}` : `job:?:${run.id}`;
      const day = nominalTime(run);
      nodes.set(jobId, {
        id: jobId,
        kind: "job",
        namespace: job?.namespace ?? "",
        name: job?.name ?? `run ${run.id}`,
        label: nodeLabel("job", job?.name ?? run.id),
        detail: `${day ? fmtDay(day) + " · " : ""}run ${shortId(run.id)}`,
        state: run.state,
        runId: run.id,
        hidden: 0,
      });
      for (const out of run.outputDatasetVersions ?? []) {
        const v = out.datasetVersionId;
        const id = datasetNode(v.namespace, v.name, v.version);
        // A run's START and COMPLETE may each have recorded a version: the last one is what it wrote.
        if (run.id === root.id) Object.assign(nodes.get(id)!, { version: v.version, detail: `version ${shortId(v.version)}` });
        addEdge(jobId, id);
      }
      const inputs = run.inputDatasetVersions ?? [];
      for (const inp of inputs) {
        const v = inp.datasetVersionId;
        addEdge(datasetNode(v.namespace, v.name, v.version), jobId);
      }
      // Who wrote each version this run read (createdByRun), to walk on upstream.
      const producers = await Promise.all(inputs.map((inp) => producerOf(inp.datasetVersionId, signal)));
      for (const id of producers) if (id && !seenRuns.has(id)) next.push(id);
    }
    const fresh = [...new Set(next)].filter((id) => !seenRuns.has(id));
    if (seenRuns.size + fresh.length > maxRuns) {
      truncated = true;
      fresh.length = Math.max(0, maxRuns - seenRuns.size);
    }
    fresh.forEach((id) => seenRuns.add(id));
    level = await Promise.all(fresh.map((id) => api.run(id, signal)));
  }
  return { run: root, graph: { nodes: [...nodes.values()], edges: [...edges.values()] }, runs: seenRuns.size, truncated };
}

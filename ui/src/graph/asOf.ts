// Lineage as of a run: the dataset versions a run read and wrote, and upstream, the runs that wrote
// those versions and what they read, back to the sources. Marquez's /lineage shows only each job's
// current version (Marquez #2543); a run's recorded input/output versions do not change afterwards.
import { api, nominalTime, type Run } from "../api";
import { fmtDay, nodeLabel, shortId } from "../format";
import { edgeId, type LEdge, type LGraph, type LNode } from "./model";

export interface AsOf {
  run: Run;
  graph: LGraph;
  runs: number;
  truncated: boolean;
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
        addEdge(jobId, datasetNode(v.namespace, v.name, v.version));
      }
      const inputs = run.inputDatasetVersions ?? [];
      for (const inp of inputs) {
        const v = inp.datasetVersionId;
        addEdge(datasetNode(v.namespace, v.name, v.version), jobId);
      }
      // Who wrote each version this run read (createdByRun), to walk on upstream.
      const producers = await Promise.all(
        inputs.map((inp) =>
          api
            .datasetVersion(inp.datasetVersionId.namespace, inp.datasetVersionId.name, inp.datasetVersionId.version, signal)
            .then((dv) => dv.createdByRun?.id ?? null, () => null),
        ),
      );
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

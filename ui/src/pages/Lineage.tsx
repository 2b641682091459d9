import { useCallback, useMemo } from "react";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { ReactFlowProvider } from "@xyflow/react";
import { api, driftNodeId, nominalTime, parseNodeId, type Drift, type Run } from "../api";
import { Empty, ErrorBox, Loading, StateBadge } from "../components/States";
import { fmtDay, fmtTime, shortId } from "../format";
import { lineageAsOfRun } from "../graph/asOf";
import { LineageGraph } from "../graph/LineageGraph";
import { fromMarquez, upstreamOf, type LGraph, type LNode } from "../graph/model";
import { useLoad } from "../hooks";
import { links } from "../links";
import { inKindOrder, kindOf, kindStyle, kindTable, type KindTable } from "../driftKinds";
import { KindTag, useDrift } from "./Drift";

const DEPTHS = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30];

// Marquez's /lineage gives a child job (a dbt model under its dbt run, an asset under its Dagster
// run) its PARENT's current run as `latestRun`: a model whose own runs all COMPLETED shows RUNNING
// while the parent run is open. Each job node shows its own latest run instead (GET the job).
const OWN_STATE_LIMIT = 150;

async function withOwnRunStates(graph: LGraph, signal: AbortSignal): Promise<LGraph> {
  const jobs = graph.nodes.filter((n) => n.kind === "job" && !n.column);
  if (!jobs.length || jobs.length > OWN_STATE_LIMIT) return graph;
  const own = await Promise.all(
    jobs.map((n) => api.job(n.namespace, n.name, signal).then((j) => j.latestRun?.state, () => undefined)),
  );
  const states = new Map(jobs.map((n, i) => [n.id, own[i]]));
  return {
    ...graph,
    nodes: graph.nodes.map((n) => (states.has(n.id) ? { ...n, state: states.get(n.id), detail: states.get(n.id) } : n)),
  };
}

function openPage(node: LNode): string {
  if (node.column) return links.dataset(node.namespace, node.name);
  if (node.kind === "job") return node.runId ? links.run(node.runId) : links.job(node.namespace, node.name);
  return links.dataset(node.namespace, node.name, node.version);
}

/** /lineage?node=<id>&depth=N[&expand=<id>...][&sel=<id>]  or  /lineage?run=<run id>[&sel=<id>] */
export function LineagePage() {
  const [params, setParams] = useSearchParams();
  const navigate = useNavigate();
  const nodeId = params.get("node");
  const runId = params.get("run");
  const columnId = params.get("column");
  const depth = Number(params.get("depth") ?? 20) || 20;
  const expanded = params.getAll("expand");
  const selected = params.get("sel");
  const showTests = params.get("tests") === "1";
  const engine = (params.get("layout") ?? "auto") as "auto" | "elk" | "fast"; // ELK up to 250 nodes, unless asked
  const drift = useDrift();

  const loaded = useLoad(
    async (signal): Promise<{ graph: LGraph; asOf?: { run: Run; runs: number; truncated: boolean } }> => {
      if (runId) {
        const asOf = await lineageAsOfRun(runId, signal);
        return { graph: asOf.graph, asOf };
      }
      if (columnId) return { graph: fromMarquez((await api.columnLineage(columnId, depth, signal)).graph) };
      if (!nodeId) return { graph: { nodes: [], edges: [] } };
      const answers = await Promise.all([
        api.lineage(nodeId, depth, signal),
        ...expanded.map((id) => api.lineage(id, 1, signal)),
      ]);
      return { graph: await withOwnRunStates(fromMarquez(...answers.map((a) => a.graph)), signal) };
    },
    [nodeId, runId, columnId, depth, expanded.join("\n")],
  );

  const kinds = useMemo(() => kindTable(drift.state === "ok" ? drift.data : null), [drift]);
  const drifts = useMemo(() => {
    const map = new Map<string, Drift[]>();
    if (drift.state === "ok" && drift.data) {
      for (const d of drift.data.drifts) {
        const id = driftNodeId(d);
        map.set(id, [...(map.get(id) ?? []), d]);
      }
    }
    return map;
  }, [drift]);

  const update = useCallback(
    (change: (p: URLSearchParams) => void, replace = false) => {
      const next = new URLSearchParams(params);
      change(next);
      setParams(next, { replace });
    },
    [params, setParams],
  );
  const onSelect = useCallback((id: string | null) => update((p) => (id ? p.set("sel", id) : p.delete("sel")), true), [update]);
  const onExpand = useCallback(
    (id: string) => update((p) => !p.getAll("expand").includes(id) && p.append("expand", id)),
    [update],
  );

  const focus = runId ? null : (columnId ?? nodeId);
  const focusParts = nodeId ? parseNodeId(nodeId) : null;
  const fullGraph = loaded.state === "ok" ? loaded.data.graph : null;
  const testJobs = fullGraph ? fullGraph.nodes.filter(isTestJob).length : 0;
  const graph = useMemo(() => (fullGraph && !showTests ? withoutTestJobs(fullGraph) : fullGraph), [fullGraph, showTests]);
  if (!nodeId && !runId && !columnId)
    return (
      <Empty>
        Pick a dataset or job to see its lineage: search with the box above, or open one from <Link to="/">home</Link>.
      </Empty>
    );

  const selectedNode = graph?.nodes.find((n) => n.id === selected) ?? null;
  const inView = graph ? graph.nodes.filter((n) => drifts.has(n.id)) : [];

  return (
    <div className="page lineage">
      <div className="lineage-head">
        <div>
          <h1>
            {runId ? "Lineage as of a run" : columnId ? "Column lineage" : "Lineage"}{" "}
            {focusParts && <span className="muted">of {focusParts.name}</span>}
            {columnId && <span className="muted">of {columnId.split(":").slice(-2).join(".")}</span>}
          </h1>
          {loaded.state === "ok" && loaded.data.asOf && <AsOfBanner asOf={loaded.data.asOf} nodeId={nodeId} />}
        </div>
        <div className="controls">
          {!runId && (
            <label>
              depth{" "}
              <select value={depth} onChange={(e) => update((p) => p.set("depth", e.target.value))} aria-label="depth">
                {DEPTHS.map((d) => (
                  <option key={d} value={d}>
                    {d}
                  </option>
                ))}
              </select>
            </label>
          )}
          {nodeId && focusParts && <AsOfPicker nodeId={nodeId} runId={runId} />}
          {testJobs > 0 && (
            <label title="dbt tests are jobs too: they read the model they test and write nothing">
              <input type="checkbox" checked={showTests} onChange={(e) => update((p) => (e.target.checked ? p.set("tests", "1") : p.delete("tests")), true)} /> dbt test
              jobs ({testJobs})
            </label>
          )}
          {expanded.length > 0 && !runId && (
            <button onClick={() => update((p) => p.delete("expand"))}>collapse ({expanded.length} expanded)</button>
          )}
        </div>
      </div>
      <DriftLegend drifts={drifts} kinds={kinds} inView={inView.length} state={drift.state} hasReport={drift.state === "ok" && !!drift.data} />
      <div className="lineage-body">
        <div className="graph-wrap">
          {loaded.state === "loading" && <Loading what={runId ? "the run's dataset versions" : "the lineage graph"} />}
          {loaded.state === "error" && <ErrorBox error={loaded.error} what="the lineage graph" />}
          {graph && graph.nodes.length === 0 && <Empty>Marquez has no lineage for {columnId ?? nodeId ?? runId}{columnId ? " (no run reported a columnLineage facet for it)" : ""}.</Empty>}
          {graph && graph.nodes.length > 0 && (
            <ReactFlowProvider>
              <LineageGraph
                graph={graph}
                drifts={drifts}
                kinds={kinds}
                selected={selected}
                focus={focus}
                onSelect={onSelect}
                onOpen={(n) => navigate(openPage(n))}
                onExpand={runId ? undefined : onExpand}
                engine={engine}
              />
            </ReactFlowProvider>
          )}
        </div>
        {graph && selectedNode && (
          <SidePanel
            node={selectedNode}
            graph={graph}
            drifts={drifts.get(selectedNode.id) ?? []}
            kinds={kinds}
            runMode={!!runId}
            depth={depth}
            onExpand={runId || columnId || expanded.includes(selectedNode.id) ? undefined : onExpand}
          />
        )}
      </div>
    </div>
  );
}

/** dbt-ol files every dbt test as a job (`....build.test`, `<project>.test.<name>`) reading the model it tests. */
function isTestJob(n: LNode): boolean {
  return n.kind === "job" && (/\.build\.test$/.test(n.name) || /\.test\.[^.]+\.[^.]+$/.test(n.name));
}

function withoutTestJobs(g: LGraph): LGraph {
  const hidden = new Set(g.nodes.filter(isTestJob).map((n) => n.id));
  if (hidden.size === 0) return g;
  return { nodes: g.nodes.filter((n) => !hidden.has(n.id)), edges: g.edges.filter((e) => !hidden.has(e.source) && !hidden.has(e.target)) };
}

function AsOfBanner({ asOf, nodeId }: { asOf: { run: Run; runs: number; truncated: boolean }; nodeId: string | null }) {
  const r = asOf.run;
  return (
    <p className="asof-banner" data-testid="asof-banner">
      Dataset versions read and written by run <Link to={links.run(r.id)}>{shortId(r.id)}</Link> of{" "}
      <b>{r.jobVersion?.name ?? "?"}</b> (partition <b>{fmtDay(nominalTime(r))}</b>, <StateBadge state={r.state} />,{" "}
      {fmtTime(r.startedAt)}), and upstream the {asOf.runs - 1} runs that wrote them
      {asOf.truncated ? " (stopped at 200 runs)" : ""}.{" "}
      {nodeId && <Link to={links.lineage(nodeId)}>Back to the current lineage</Link>}
    </p>
  );
}

/** Pick a run (by partition) of the focused job, or of the job that produced the focused dataset's versions. */
function AsOfPicker({ nodeId, runId }: { nodeId: string; runId: string | null }) {
  const navigate = useNavigate();
  const parts = parseNodeId(nodeId)!;
  const runs = useLoad(
    async (signal) => {
      if (parts.type === "job") return (await api.jobRuns(parts.namespace, parts.name, 100, signal)).runs;
      const versions = (await api.datasetVersions(parts.namespace, parts.name, 100, signal)).versions;
      const seen = new Set<string>();
      return versions.flatMap((v) => (v.createdByRun && !seen.has(v.createdByRun.id) && seen.add(v.createdByRun.id) ? [v.createdByRun] : []));
    },
    [nodeId],
  );
  const options = runs.state === "ok" ? runs.data : [];
  return (
    <label>
      as of{" "}
      <select
        aria-label="as of run"
        value={runId ?? ""}
        disabled={runs.state !== "ok"}
        onChange={(e) =>
          navigate(e.target.value ? `${links.lineageAsOfRun(e.target.value)}&node=${encodeURIComponent(nodeId)}` : links.lineage(nodeId))
        }
      >
        <option value="">now (current versions)</option>
        {options.map((r) => (
          <option key={r.id} value={r.id}>
            partition {fmtDay(nominalTime(r))} · {r.state.toLowerCase()} · run {shortId(r.id)} · {fmtTime(r.startedAt)}
          </option>
        ))}
      </select>
      {runs.state === "error" && <span className="muted"> (runs unavailable: {runs.error.message})</span>}
    </label>
  );
}

function DriftLegend({
  drifts,
  kinds,
  inView,
  state,
  hasReport,
}: {
  drifts: Map<string, Drift[]>;
  kinds: KindTable;
  inView: number;
  state: string;
  hasReport: boolean;
}) {
  if (state !== "ok") return null;
  if (!hasReport)
    return (
      <p className="drift-legend muted">
        Drift overlay off: no <code>lineage diff</code> report yet (run <code>lineage diff</code>).
      </p>
    );
  const present = new Set<string>();
  for (const list of drifts.values()) for (const d of list) present.add(d.kind);
  return (
    <p className="drift-legend" data-testid="drift-legend">
      Drift overlay: {inView} node{inView === 1 ? "" : "s"} in view with drift from the last <code>lineage diff</code>.{" "}
      {inKindOrder(kinds, present).map((k) => (
        <span key={k} className="legend-item">
          <KindTag kinds={kinds} name={k} />
        </span>
      ))}{" "}
      <Link to={links.drift()}>all drift</Link>
    </p>
  );
}

function SidePanel({
  node,
  graph,
  drifts,
  kinds,
  runMode,
  depth,
  onExpand,
}: {
  node: LNode;
  graph: LGraph;
  drifts: Drift[];
  kinds: KindTable;
  runMode: boolean;
  depth: number;
  onExpand?: (id: string) => void;
}) {
  const upstream = upstreamOf(node.id, graph.edges);
  const sources = [...upstream.nodes].filter((id) => id !== node.id && !graph.edges.some((e) => e.target === id));
  return (
    <aside className="side-panel" data-testid="side-panel">
      <div className="muted small">{node.kind}</div>
      <h2>{node.column ? `${node.name} · ${node.column}` : node.name}</h2>
      <div className="muted small">{node.namespace}</div>
      {node.version && <p>version {node.version}</p>}
      {node.runId && (
        <p>
          run <Link to={links.run(node.runId)}>{node.runId}</Link> {node.state && <StateBadge state={node.state} />}
        </p>
      )}
      <p>
        <Link className="button" to={openPage(node)}>
          Open {node.kind === "job" ? (node.runId ? "run" : "job") : "dataset"} page
        </Link>{" "}
        {!runMode && !node.column && <Link to={links.lineage(node.id, depth)}>Center the graph here</Link>}
      </p>
      {onExpand && (
        <p>
          <button onClick={() => onExpand(node.id)} title="add this node's inputs and outputs (Marquez /lineage at depth 1 around it)">
            Expand: show its neighbours
          </button>
        </p>
      )}
      <p>
        Highlighted: {upstream.nodes.size - 1} node{upstream.nodes.size === 2 ? "" : "s"} upstream
        {sources.length > 0 && (
          <>
            , from {sources.length} source{sources.length > 1 ? "s" : ""}:{" "}
            {sources.map((s) => graph.nodes.find((n) => n.id === s)?.label ?? s).join(", ")}
          </>
        )}
        .
      </p>
      {drifts.map((d, i) => (
        <div key={i} className={`drift-card drift-${d.kind}`} style={kindStyle(kindOf(kinds, d.kind))}>
          <b>
            <KindTag kinds={kinds} name={d.kind} />
          </b>{" "}
          <span className={`badge sev-${d.severity}`}>{d.severity}</span>
          <div>{d.message}</div>
          <div className="fix">Fix: {d.fix}</div>
        </div>
      ))}
    </aside>
  );
}

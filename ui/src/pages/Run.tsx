import { Link, useParams } from "react-router-dom";
import { api, errorOf, nominalTime, parentRun, type IoVersion, type Run } from "../api";
import { Empty, ErrorBox, JsonView, Loading, Show, StateBadge } from "../components/States";
import { fmtDay, fmtDuration, fmtTime, shortId } from "../format";
import { useLoad } from "../hooks";
import { links } from "../links";

interface Child {
  runId: string;
  namespace: string;
  name: string;
  state: string;
  eventTime: string;
}

const TERMINAL: Record<string, string> = { COMPLETE: "COMPLETED", FAIL: "FAILED", ABORT: "ABORTED", START: "RUNNING", RUNNING: "RUNNING" };

/** Runs whose parent facet names this run: Marquez has no endpoint for them, so read the events
 * stored while the run lasted (GET /events/lineage, a time window) and keep those that point here. */
async function childRuns(run: Run, signal: AbortSignal): Promise<{ children: Child[]; scanned: number; capped: boolean }> {
  const start = new Date(new Date(run.startedAt ?? run.createdAt).getTime() - 5_000).toISOString();
  const end = new Date((run.endedAt ? new Date(run.endedAt).getTime() : Date.now()) + 60_000).toISOString();
  const byRun = new Map<string, Child>();
  const pageSize = 1000;
  let scanned = 0;
  let total = Infinity;
  for (let offset = 0; offset < total && offset < 20_000; offset += pageSize) {
    const page = await api.events(start, end, pageSize, offset, signal);
    total = page.totalCount;
    scanned += page.events.length;
    for (const e of page.events) {
      if (e.run?.facets?.parent?.run?.runId !== run.id) continue;
      const prev = byRun.get(e.run.runId);
      if (!prev || prev.eventTime <= e.eventTime)
        byRun.set(e.run.runId, { runId: e.run.runId, namespace: e.job.namespace, name: e.job.name, state: TERMINAL[e.eventType] ?? e.eventType, eventTime: e.eventTime });
    }
    if (page.events.length < pageSize) break;
  }
  return { children: [...byRun.values()].sort((a, b) => a.name.localeCompare(b.name)), scanned, capped: scanned < total };
}

export function RunPage() {
  const { id = "" } = useParams();
  const loaded = useLoad((signal) => api.run(id, signal), [id]);
  return (
    <div className="page run">
      <Show loaded={loaded} what={`run ${id}`}>
        {(run) => <RunView run={run} />}
      </Show>
    </div>
  );
}

function RunView({ run }: { run: Run }) {
  const parent = parentRun(run);
  const error = errorOf(run);
  const children = useLoad((signal) => childRuns(run, signal), [run.id]);
  const job = run.jobVersion;
  return (
    <>
      <div className="muted small">run</div>
      <h1>
        <code data-testid="run-id">{run.id}</code> <StateBadge state={run.state} />
      </h1>
      <table className="kv">
        <tbody>
          <tr>
            <th>job</th>
            <td>{job ? <Link to={links.job(job.namespace, job.name)}>{job.name}</Link> : "—"}</td>
          </tr>
          <tr>
            <th>partition (nominal time)</th>
            <td>
              {fmtDay(nominalTime(run))} {run.facets?.nominalTime?.nominalEndTime && <span className="muted">to {fmtTime(run.facets.nominalTime.nominalEndTime)}</span>}
            </td>
          </tr>
          <tr>
            <th>started</th>
            <td>{fmtTime(run.startedAt)}</td>
          </tr>
          <tr>
            <th>ended</th>
            <td>{fmtTime(run.endedAt)}</td>
          </tr>
          <tr>
            <th>duration</th>
            <td>{fmtDuration(run.durationMs)}</td>
          </tr>
          <tr>
            <th>parent run</th>
            <td>
              {parent ? (
                <>
                  <Link to={links.run(parent.runId)}>{shortId(parent.runId)}</Link> of{" "}
                  <Link to={links.job(parent.namespace, parent.name)}>{parent.name}</Link>
                </>
              ) : (
                "— (a top-level run)"
              )}
            </td>
          </tr>
        </tbody>
      </table>
      <p>
        <Link className="button" to={links.lineageAsOfRun(run.id)}>
          Lineage as of this run
        </Link>
      </p>
      {error && (
        <section className="run-error" data-testid="run-error">
          <h2>Error</h2>
          <p className="error-line">{error.message}</p>
          {error.stackTrace && (
            <details open>
              <summary>stack trace{error.language ? ` (${error.language})` : ""}</summary>
              <pre>{error.stackTrace}</pre>
            </details>
          )}
        </section>
      )}
      <div className="io">
        <div>
          <h3>Read (dataset versions)</h3>
          <VersionList items={run.inputDatasetVersions ?? []} />
        </div>
        <div>
          <h3>Wrote (dataset versions)</h3>
          <VersionList items={run.outputDatasetVersions ?? []} />
        </div>
      </div>
      <section>
        <h2>Child runs</h2>
        {children.state === "loading" && <Loading what="child runs" />}
        {children.state === "error" && <ErrorBox error={children.error} what="child runs" />}
        {children.state === "ok" &&
          (children.data.children.length === 0 ? (
            <Empty>No run names this one as its parent.</Empty>
          ) : (
            <table className="grid" data-testid="child-runs">
              <thead>
                <tr>
                  <th>run</th>
                  <th>state</th>
                  <th>job</th>
                </tr>
              </thead>
              <tbody>
                {children.data.children.map((c) => (
                  <tr key={c.runId}>
                    <td>
                      <Link to={links.run(c.runId)}>
                        <code>{shortId(c.runId)}</code>
                      </Link>
                    </td>
                    <td>
                      <StateBadge state={c.state} />
                    </td>
                    <td>
                      <Link to={links.job(c.namespace, c.name)}>{c.name}</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ))}
        {children.state === "ok" && children.data.capped && <p className="muted small">Scanned the first {children.data.scanned} events of the run's time window only.</p>}
      </section>
      <section>
        <h2>Facets</h2>
        <details>
          <summary>raw run facets ({Object.keys(run.facets ?? {}).length})</summary>
          <JsonView value={run.facets} />
        </details>
      </section>
    </>
  );
}

function VersionList({ items }: { items: IoVersion[] }) {
  if (items.length === 0) return <p className="muted">nothing</p>;
  return (
    <ul className="dataset-list">
      {items.map(({ datasetVersionId: v, facets }) => (
        <li key={`${v.namespace}:${v.name}`}>
          <Link to={links.dataset(v.namespace, v.name, v.version)}>{v.name}</Link> <code className="small">{shortId(v.version)}</code>
          {typeof facets?.outputStatistics?.rowCount === "number" && <span className="muted small"> · {facets.outputStatistics.rowCount.toLocaleString()} rows</span>}
          <div className="muted small">{v.namespace}</div>
        </li>
      ))}
    </ul>
  );
}

import { Link, useSearchParams } from "react-router-dom";
import { api, errorOf, nominalTime, type Run } from "../api";
import { Empty, JsonView, Show, StateBadge } from "../components/States";
import { fmtDay, fmtDuration, fmtTime, shortId } from "../format";
import { useLoad } from "../hooks";
import { links } from "../links";

export function RunsTable({ runs }: { runs: Run[] }) {
  return (
    <table className="grid runs" data-testid="runs">
      <thead>
        <tr>
          <th>run</th>
          <th>state</th>
          <th>partition</th>
          <th>started</th>
          <th>ended</th>
          <th className="num">duration</th>
          <th />
        </tr>
      </thead>
      <tbody>
        {runs.map((r) => (
          <tr key={r.id} className={r.state === "FAILED" ? "failed" : ""}>
            <td>
              <Link to={links.run(r.id)}>
                <code>{shortId(r.id)}</code>
              </Link>
            </td>
            <td>
              <StateBadge state={r.state} />
              {r.state === "FAILED" && errorOf(r) && <div className="small error-line">{errorOf(r)!.message.slice(0, 140)}</div>}
            </td>
            <td>{fmtDay(nominalTime(r))}</td>
            <td>{fmtTime(r.startedAt ?? r.createdAt)}</td>
            <td>{fmtTime(r.endedAt)}</td>
            <td className="num">{fmtDuration(r.durationMs)}</td>
            <td>
              <Link to={links.lineageAsOfRun(r.id)}>lineage as of this run</Link>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function JobPage() {
  const [params] = useSearchParams();
  const ns = params.get("ns") ?? "";
  const name = params.get("name") ?? "";
  const loaded = useLoad(
    async (signal) => {
      const [job, runs] = await Promise.all([api.job(ns, name, signal), api.jobRuns(ns, name, 100, signal)]);
      return { job, runs: runs.runs };
    },
    [ns, name],
  );
  if (!ns || !name) return <Empty>No job named in the link (it needs ?ns=…&name=…): use the search box.</Empty>;
  return (
    <div className="page job">
      <Show loaded={loaded} what={`job ${name}`}>
        {({ job, runs }) => (
          <>
            <div className="muted small">job · {job.type}</div>
            <h1 data-testid="job-name">{job.name}</h1>
            <p className="muted">
              namespace <code>{job.namespace}</code>
              {job.parentJobName && (
                <>
                  {" "}
                  · parent job <Link to={links.job(job.namespace, job.parentJobName)}>{job.parentJobName}</Link>
                </>
              )}{" "}
              · updated {fmtTime(job.updatedAt)}
              {job.location && (
                <>
                  {" "}
                  · <a href={job.location}>source</a>
                </>
              )}
            </p>
            {job.description && <p>{job.description}</p>}
            <p>
              <Link className="button" to={links.lineage(links.nodeId("job", job.namespace, job.name))}>
                Lineage graph
              </Link>
            </p>
            <div className="io">
              <div>
                <h3>Reads</h3>
                {job.inputs.length === 0 ? <p className="muted">nothing</p> : <DatasetList ids={job.inputs} />}
              </div>
              <div>
                <h3>Writes</h3>
                {job.outputs.length === 0 ? <p className="muted">nothing</p> : <DatasetList ids={job.outputs} />}
              </div>
            </div>
            <section>
              <h2>Runs ({runs.length})</h2>
              {runs.length === 0 ? <Empty>This job has no runs.</Empty> : <RunsTable runs={runs} />}
            </section>
            {job.facets?.sql?.query && (
              <section>
                <h2>SQL</h2>
                <pre className="sql">{job.facets.sql.query}</pre>
              </section>
            )}
            <section>
              <h2>Facets</h2>
              <details>
                <summary>raw job facets ({Object.keys(job.facets ?? {}).length})</summary>
                <JsonView value={job.facets} />
              </details>
            </section>
          </>
        )}
      </Show>
    </div>
  );
}

export function DatasetList({ ids }: { ids: { namespace: string; name: string }[] }) {
  return (
    <ul className="dataset-list">
      {ids.map((d) => (
        <li key={`${d.namespace}:${d.name}`}>
          <Link to={links.dataset(d.namespace, d.name)}>{d.name}</Link> <span className="muted small">{d.namespace}</span>
        </li>
      ))}
    </ul>
  );
}

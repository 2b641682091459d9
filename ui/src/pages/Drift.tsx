import { Link, useSearchParams } from "react-router-dom";
import { ApiError, api, driftNodeId, type DriftReport } from "../api";
import { Empty, ErrorBox, Loading } from "../components/States";
import { fmtTime } from "../format";
import { useLoad, type Loaded } from "../hooks";
import { links } from "../links";

/** The last `lineage diff` report, or null when none was written yet (the server answers 404). */
export function useDrift(): Loaded<DriftReport | null> {
  return useLoad(async (signal) => {
    try {
      return await api.drift(signal);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }
  }, []);
}

export const KIND_LABEL: Record<string, string> = {
  missing_dataset: "missing dataset",
  orphan_dataset: "orphan dataset",
  missing_edge: "missing edge",
  unexpected_edge: "unexpected edge",
  schema_drift: "schema drift",
  status_mismatch: "status mismatch",
  namespace_mismatch: "namespace mismatch",
  stale_lineage: "stale lineage",
};

function NoReport() {
  return (
    <Empty>
      No drift report yet: run <code>lineage diff</code> (it compares Dagster's asset graph with Marquez and writes its
      last report where this page reads it), then reload.
    </Empty>
  );
}

export function DriftSummary() {
  const drift = useDrift();
  if (drift.state === "loading") return <Loading what="the drift report" />;
  if (drift.state === "error") return <ErrorBox error={drift.error} what="the drift report" />;
  const report = drift.data;
  if (!report) return <NoReport />;
  const n = report.drifts.length;
  return (
    <p data-testid="drift-summary">
      {n === 0 ? (
        <span className="badge sev-ok">clean</span>
      ) : (
        (["error", "warning", "info"] as const).map((s) => {
          const count = report.drifts.filter((d) => d.severity === s).length;
          return count ? (
            <span key={s} className={`badge sev-${s}`}>
              {count} {s}
            </span>
          ) : null;
        })
      )}{" "}
      <Link to={links.drift()}>{n === 0 ? "no drift" : `${n} drift${n > 1 ? "s" : ""}`}</Link> in the last{" "}
      <code>lineage diff</code> ({fmtTime(report.generated_at)})
    </p>
  );
}

export function DriftPage() {
  const drift = useDrift();
  const [params, setParams] = useSearchParams();
  const kind = params.get("kind");
  if (drift.state === "loading") return <Loading what="the drift report" />;
  if (drift.state === "error") return <ErrorBox error={drift.error} what="the drift report" />;
  const report = drift.data;
  return (
    <div className="page drift">
      <h1>Lineage drift</h1>
      {!report ? (
        <NoReport />
      ) : (
        <>
          <p className="muted">
            From <code>lineage diff</code> at {fmtTime(report.generated_at)} against {report.marquez}
            {report.summary?.location ? ` (code location ${report.summary.location})` : ""}.
          </p>
          {report.drifts.length === 0 ? (
            <Empty>No drift: Marquez holds exactly the graph Dagster expects.</Empty>
          ) : (
            <>
              <div className="filters">
                <button className={!kind ? "on" : ""} onClick={() => setParams({})}>
                  all ({report.drifts.length})
                </button>
                {Object.entries(countBy(report.drifts.map((d) => d.kind))).map(([k, n]) => (
                  <button key={k} className={kind === k ? "on" : ""} onClick={() => setParams({ kind: k })}>
                    <span className={`swatch drift-${k}`} /> {KIND_LABEL[k] ?? k} ({n})
                  </button>
                ))}
              </div>
              <table className="grid" data-testid="drift-list">
                <thead>
                  <tr>
                    <th>severity</th>
                    <th>kind</th>
                    <th>subject</th>
                    <th>what and the fix</th>
                  </tr>
                </thead>
                <tbody>
                  {report.drifts
                    .filter((d) => !kind || d.kind === kind)
                    .map((d, i) => (
                      <tr key={i} className={`drift-row drift-${d.kind}`}>
                        <td>
                          <span className={`badge sev-${d.severity}`}>{d.severity}</span>
                        </td>
                        <td>
                          <span className={`swatch drift-${d.kind}`} /> {KIND_LABEL[d.kind] ?? d.kind}
                        </td>
                        <td className="subject">
                          {d.kind === "missing_dataset" ? (
                            <span title="not in Marquez">{d.node?.name ?? d.subject}</span>
                          ) : (
                            <Link to={links.lineage(driftNodeId(d))}>{d.node?.name ?? d.subject}</Link>
                          )}
                          <div className="muted small">{d.node?.namespace}</div>
                          {d.asset && <div className="muted small">asset {d.asset}</div>}
                        </td>
                        <td>
                          {d.message}
                          <div className="fix">Fix: {d.fix}</div>
                        </td>
                      </tr>
                    ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}
    </div>
  );
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

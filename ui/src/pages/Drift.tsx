import { Link, useSearchParams } from "react-router-dom";
import { ApiError, api, driftNodeId, type DriftReport } from "../api";
import { Empty, ErrorBox, Loading } from "../components/States";
import { inKindOrder, kindOf, kindStyle, kindTable, type KindTable } from "../driftKinds";
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

/** A drift kind's colour swatch and label, with when it fires as the tooltip. */
export function KindTag({ kinds, name }: { kinds: KindTable | undefined; name: string }) {
  const k = kindOf(kinds, name);
  return (
    <span className="kind-tag" title={k.when || undefined}>
      <span className={`swatch drift-${name}`} style={kindStyle(k)} /> {k.label}
    </span>
  );
}

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
  const kinds = kindTable(report);
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
                {inKindOrder(kinds, report.drifts.map((d) => d.kind)).map((k) => (
                  <button key={k} className={kind === k ? "on" : ""} onClick={() => setParams({ kind: k })}>
                    <KindTag kinds={kinds} name={k} /> ({report.drifts.filter((d) => d.kind === k).length})
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
                          <KindTag kinds={kinds} name={d.kind} />
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

import { useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api, nominalTime, type DatasetVersion, type Field } from "../api";
import { Empty, JsonView, Show, StateBadge } from "../components/States";
import { fmtDay, fmtTime, shortId } from "../format";
import { useLoad } from "../hooks";
import { links } from "../links";

interface Assertion {
  assertion: string;
  success: boolean;
  column?: string;
  name?: string;
}

function assertionsOf(facets: Record<string, any> | undefined): Assertion[] {
  return facets?.dataQualityAssertions?.assertions ?? [];
}

/** This dataset among the outputs of the run that produced version `v`. Matched by name: Marquez
 * gives a run's outputs other version ids than the versions list does (both are stable). */
function producedOutput(v: DatasetVersion) {
  const outs = (v.createdByRun?.outputDatasetVersions ?? []).filter(
    (o) => o.datasetVersionId.name === v.name && o.datasetVersionId.namespace === v.namespace,
  );
  // A run's START and COMPLETE may each record a version: the one with statistics is the written one.
  return outs.find((o) => o.facets?.outputStatistics) ?? outs[outs.length - 1];
}

/** Rows the producing run wrote into this version (its outputStatistics facet), if it says. */
function rowCountOf(v: DatasetVersion): number | null {
  const n = producedOutput(v)?.facets?.outputStatistics?.rowCount;
  return typeof n === "number" ? n : null;
}

export function schemaDiff(older: Field[], newer: Field[]) {
  const a = new Map(older.map((f) => [f.name, f]));
  const b = new Map(newer.map((f) => [f.name, f]));
  return {
    added: newer.filter((f) => !a.has(f.name)),
    removed: older.filter((f) => !b.has(f.name)),
    changed: newer.filter((f) => a.has(f.name) && (a.get(f.name)!.type ?? "") !== (f.type ?? "")).map((f) => ({ name: f.name, from: a.get(f.name)!.type, to: f.type })),
  };
}

export function DatasetPage() {
  const [params] = useSearchParams();
  const ns = params.get("ns") ?? "";
  const name = params.get("name") ?? "";
  const loaded = useLoad(
    async (signal) => {
      const [dataset, versions] = await Promise.all([api.dataset(ns, name, signal), api.datasetVersions(ns, name, 100, signal)]);
      return { dataset, versions: versions.versions, total: versions.totalCount };
    },
    [ns, name],
  );
  if (!ns || !name) return <Empty>No dataset named in the link (it needs ?ns=…&name=…): use the search box.</Empty>;
  const nodeId = links.nodeId("dataset", ns, name);
  return (
    <div className="page dataset">
      <Show loaded={loaded} what={`dataset ${name}`}>
        {({ dataset, versions, total }) => {
          const assertions = assertionsOf(dataset.facets);
          return (
            <>
              <div className="muted small">dataset · {dataset.type}</div>
              <h1 data-testid="dataset-name">{dataset.name}</h1>
              <p className="muted">
                namespace <code>{dataset.namespace}</code> · source {dataset.sourceName} · updated {fmtTime(dataset.updatedAt)}
              </p>
              {dataset.description && <p>{dataset.description}</p>}
              <p>
                <Link className="button" to={links.lineage(nodeId)}>
                  Lineage graph
                </Link>
              </p>
              <section>
                <h2>Fields ({dataset.fields.length})</h2>
                {dataset.fields.length === 0 ? (
                  <Empty>No schema reported for this dataset (no run sent a schema facet).</Empty>
                ) : (
                  <table className="grid" data-testid="fields">
                    <thead>
                      <tr>
                        <th>name</th>
                        <th>type</th>
                        <th>description</th>
                        <th />
                      </tr>
                    </thead>
                    <tbody>
                      {dataset.fields.map((f) => (
                        <tr key={f.name}>
                          <td className="field-name">{f.name}</td>
                          <td>
                            <code>{f.type ?? "—"}</code>
                          </td>
                          <td className="muted">{f.description ?? ""}</td>
                          <td>
                            <Link to={links.columnLineage(dataset.namespace, dataset.name, f.name)} title="the upstream columns of this one">
                              column lineage
                            </Link>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </section>
              <section>
                <h2>Quality assertions</h2>
                {assertions.length === 0 ? (
                  <Empty>No quality assertions on the current version.</Empty>
                ) : (
                  <table className="grid" data-testid="assertions">
                    <thead>
                      <tr>
                        <th>result</th>
                        <th>assertion</th>
                        <th>column</th>
                      </tr>
                    </thead>
                    <tbody>
                      {assertions.map((a, i) => (
                        <tr key={i} className={a.success ? "" : "failed"}>
                          <td>
                            <span className={`badge ${a.success ? "sev-ok" : "sev-error"}`}>{a.success ? "passed" : "failed"}</span>
                          </td>
                          <td>{a.name ?? a.assertion}</td>
                          <td>{a.column ?? "—"}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                )}
              </section>
              <RowCounts versions={versions} />
              <Versions versions={versions} total={total} />
              <section>
                <h2>Facets</h2>
                <details>
                  <summary>raw facets ({Object.keys(dataset.facets ?? {}).length})</summary>
                  <JsonView value={dataset.facets} />
                </details>
              </section>
            </>
          );
        }}
      </Show>
    </div>
  );
}

function RowCounts({ versions }: { versions: DatasetVersion[] }) {
  // One bar per partition: the latest version written for it that reported a row count.
  const byPartition = new Map<string, number>();
  for (const v of [...versions].reverse()) {
    const n = rowCountOf(v);
    const day = nominalTime(v.createdByRun);
    if (n != null && day) byPartition.set(fmtDay(day), n);
  }
  const bars = [...byPartition.entries()].sort(([a], [b]) => a.localeCompare(b)).slice(-60);
  if (bars.length === 0) return null;
  const max = Math.max(...bars.map(([, n]) => n), 1);
  const w = 14;
  const h = 80;
  return (
    <section>
      <h2>Rows per partition</h2>
      <svg className="rowchart" width={bars.length * (w + 3) + 10} height={h + 20} role="img" aria-label="rows written per partition">
        {bars.map(([day, n], i) => {
          const bh = Math.max(2, (n / max) * h);
          return (
            <g key={day}>
              <rect x={5 + i * (w + 3)} y={h - bh} width={w} height={bh}>
                <title>
                  {day}: {n.toLocaleString()} rows
                </title>
              </rect>
            </g>
          );
        })}
        <text x={5} y={h + 15} className="axis">
          {bars[0][0]}
        </text>
        {bars.length > 1 && (
          <text x={5 + (bars.length - 1) * (w + 3) + w} y={h + 15} textAnchor="end" className="axis">
            {bars[bars.length - 1][0]}
          </text>
        )}
      </svg>
      <div className="muted small">max {max.toLocaleString()} rows (the producing run's outputStatistics facet)</div>
    </section>
  );
}

function Versions({ versions, total }: { versions: DatasetVersion[]; total: number }) {
  const [params, setParams] = useSearchParams();
  const [a, setA] = useState<string | null>(params.get("from"));
  const [b, setB] = useState<string | null>(params.get("to"));
  const newer = versions.find((v) => v.version === b) ?? versions[0];
  const older = versions.find((v) => v.version === a) ?? versions.find((v, i) => i > 0 && v.fields.length > 0 && v.version !== newer?.version);
  const diff = newer && older ? schemaDiff(older.fields, newer.fields) : null;
  const highlight = params.get("version");
  const pick = (key: "from" | "to", value: string) => {
    (key === "from" ? setA : setB)(value);
    const next = new URLSearchParams(params);
    next.set(key, value);
    setParams(next, { replace: true });
  };
  return (
    <section>
      <h2>
        Versions ({total}
        {total > versions.length ? `, newest ${versions.length} shown` : ""})
      </h2>
      {versions.length === 0 ? (
        <Empty>No versions.</Empty>
      ) : (
        <>
          <table className="grid" data-testid="versions">
            <thead>
              <tr>
                <th>version</th>
                <th>created</th>
                <th>fields</th>
                <th>produced by run</th>
                <th>partition</th>
                <th className="num">rows</th>
                <th>assertions</th>
                <th>compare</th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => {
                const as = assertionsOf(v.facets);
                const failed = as.filter((x) => !x.success).length;
                return (
                  <tr
                    key={v.version}
                    className={highlight && (v.version === highlight || producedOutput(v)?.datasetVersionId.version === highlight) ? "highlight" : ""}
                  >
                    <td>
                      <code title={v.version}>{shortId(v.version)}</code>
                    </td>
                    <td>{fmtTime(v.createdAt)}</td>
                    <td className="num">{v.fields.length}</td>
                    <td>
                      {v.createdByRun ? (
                        <>
                          <Link to={links.run(v.createdByRun.id)}>{shortId(v.createdByRun.id)}</Link> <StateBadge state={v.createdByRun.state} />{" "}
                          <Link to={links.lineageAsOfRun(v.createdByRun.id)} title="lineage as of this run">
                            as-of graph
                          </Link>
                        </>
                      ) : (
                        <span className="muted" title="a version recorded from a run that read it (e.g. a test), not one that wrote it">
                          read, not written
                        </span>
                      )}
                    </td>
                    <td>{fmtDay(nominalTime(v.createdByRun))}</td>
                    <td className="num">{rowCountOf(v)?.toLocaleString() ?? "—"}</td>
                    <td>
                      {as.length === 0 ? "—" : failed ? <span className="badge sev-error">{failed} failed</span> : <span className="badge sev-ok">{as.length} passed</span>}
                    </td>
                    <td className="compare">
                      <label title="older side of the schema difference">
                        <input type="radio" name="from" checked={older?.version === v.version} onChange={() => pick("from", v.version)} /> from
                      </label>{" "}
                      <label title="newer side of the schema difference">
                        <input type="radio" name="to" checked={newer?.version === v.version} onChange={() => pick("to", v.version)} /> to
                      </label>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <h3>Schema difference</h3>
          {!diff || !older || !newer ? (
            <Empty>Only one version with a schema: nothing to compare yet.</Empty>
          ) : (
            <div data-testid="schema-diff">
              <p className="muted">
                from <code>{shortId(older.version)}</code> ({fmtTime(older.createdAt)}) to <code>{shortId(newer.version)}</code> ({fmtTime(newer.createdAt)})
              </p>
              {diff.added.length + diff.removed.length + diff.changed.length === 0 ? (
                <p>Same columns and types.</p>
              ) : (
                <ul className="schema-diff">
                  {diff.added.map((f) => (
                    <li key={`+${f.name}`} className="added">
                      + {f.name} <code>{f.type}</code>
                    </li>
                  ))}
                  {diff.removed.map((f) => (
                    <li key={`-${f.name}`} className="removed">
                      − {f.name} <code>{f.type}</code>
                    </li>
                  ))}
                  {diff.changed.map((f) => (
                    <li key={`~${f.name}`} className="changed">
                      ~ {f.name} <code>{f.from}</code> → <code>{f.to}</code>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          )}
        </>
      )}
    </section>
  );
}

import { Link, useSearchParams } from "react-router-dom";
import { api } from "../api";
import { resultLink } from "../components/SearchBox";
import { Empty, Show } from "../components/States";
import { fmtTime } from "../format";
import { useLoad } from "../hooks";
import { links } from "../links";

/** Full search results (?q=), or everything in one namespace (?ns=). */
export function SearchPage() {
  const [params] = useSearchParams();
  const q = params.get("q") ?? "";
  const ns = params.get("ns");
  const loaded = useLoad(
    async (signal) => {
      if (ns) {
        const [d, j] = await Promise.all([api.datasets(ns, 1000, 0, signal), api.jobs(ns, 1000, 0, signal)]);
        return [
          ...d.datasets.map((x) => ({ type: "DATASET" as const, name: x.name, namespace: x.namespace, updatedAt: x.updatedAt, nodeId: links.nodeId("dataset", x.namespace, x.name) })),
          ...j.jobs.map((x) => ({ type: "JOB" as const, name: x.name, namespace: x.namespace, updatedAt: x.updatedAt, nodeId: links.nodeId("job", x.namespace, x.name) })),
        ];
      }
      return q ? (await api.search(q, 200, signal)).results : [];
    },
    [q, ns],
  );
  return (
    <div className="page">
      <h1>{ns ? `Namespace ${ns}` : `Search: ${q}`}</h1>
      <Show loaded={loaded} what="results">
        {(results) =>
          results.length === 0 ? (
            <Empty>{ns ? "This namespace holds nothing." : `No dataset or job matches “${q}”.`}</Empty>
          ) : (
            <table className="grid">
              <thead>
                <tr>
                  <th>kind</th>
                  <th>name</th>
                  <th>namespace</th>
                  <th>updated</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {results.map((r) => (
                  <tr key={r.nodeId}>
                    <td>
                      <span className={`kind kind-${r.type.toLowerCase()}`}>{r.type.toLowerCase()}</span>
                    </td>
                    <td>
                      <Link to={resultLink(r)}>{r.name}</Link>
                    </td>
                    <td className="muted">{r.namespace}</td>
                    <td>{fmtTime(r.updatedAt)}</td>
                    <td>
                      <Link to={links.lineage(r.nodeId)}>graph</Link>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
    </div>
  );
}

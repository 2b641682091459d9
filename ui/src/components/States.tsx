import type { ReactNode } from "react";
import { ApiError } from "../api";
import type { Loaded } from "../hooks";

export function Loading({ what }: { what: string }) {
  return (
    <div className="state loading" role="status" aria-live="polite">
      <span className="spinner" /> Loading {what}…
    </div>
  );
}

export function ErrorBox({ error, what }: { error: Error; what?: string }) {
  const api = error instanceof ApiError ? error : null;
  const unreachable = api && (api.status === 502 || api.status === 0);
  return (
    <div className="state error" role="alert">
      <strong>{unreachable ? "Marquez unreachable: " : `Could not load ${what ?? "this page"}: `}</strong>
      {error.message}
      {api?.hint && <div className="hint">What to do: {api.hint}</div>}
      {!api?.hint && api?.status === 404 && <div className="hint">It may have been deleted, or the link is wrong: try the search box.</div>}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="state empty">{children}</div>;
}

/** Loading / error / content for one `useLoad` result. */
export function Show<T>({ loaded, what, children }: { loaded: Loaded<T>; what: string; children: (data: T) => ReactNode }) {
  if (loaded.state === "loading") return <Loading what={what} />;
  if (loaded.state === "error") return <ErrorBox error={loaded.error} what={what} />;
  return <>{children(loaded.data)}</>;
}

export function StateBadge({ state }: { state: string | null | undefined }) {
  const s = (state ?? "unknown").toUpperCase();
  return <span className={`badge state-${s.toLowerCase()}`}>{s}</span>;
}

export function JsonView({ value }: { value: unknown }) {
  return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
}

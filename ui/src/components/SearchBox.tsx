import { useEffect, useRef, useState } from "react";
import { useNavigate } from "react-router-dom";
import { api, type SearchResult } from "../api";
import { links } from "../links";

export function resultLink(r: SearchResult): string {
  return r.type === "DATASET" ? links.dataset(r.namespace, r.name) : links.job(r.namespace, r.name);
}

/** The header's search over datasets and jobs: "/" focuses it, arrows move, Enter opens, Esc closes. */
export function SearchBox() {
  const navigate = useNavigate();
  const input = useRef<HTMLInputElement>(null);
  const [text, setText] = useState("");
  const [results, setResults] = useState<SearchResult[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement;
      if (e.key === "/" && !["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName)) {
        e.preventDefault();
        input.current?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  useEffect(() => {
    const q = text.trim();
    if (!q) {
      setResults([]);
      setError(null);
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      api.search(q, 12, controller.signal).then(
        (r) => {
          setResults(r.results);
          setError(null);
          setActive(r.results.length ? 0 : -1);
        },
        (e: Error) => e.name !== "AbortError" && setError(e.message),
      );
    }, 120);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [text]);

  const go = (to: string) => {
    setOpen(false);
    input.current?.blur();
    navigate(to);
  };

  const onKeyDown = (e: React.KeyboardEvent) => {
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setOpen(true);
      setActive((a) => Math.min(a + 1, results.length - 1));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((a) => Math.max(a - 1, 0));
    } else if (e.key === "Enter") {
      e.preventDefault();
      if (active >= 0 && results[active]) go(resultLink(results[active]));
      else if (text.trim()) go(links.search(text.trim()));
    } else if (e.key === "Escape") {
      setOpen(false);
      input.current?.blur();
    }
  };

  return (
    <div className="searchbox" role="combobox" aria-expanded={open && results.length > 0} aria-haspopup="listbox">
      <input
        ref={input}
        type="search"
        placeholder="Search datasets and jobs  ( / )"
        aria-label="Search datasets and jobs"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setOpen(true);
        }}
        onFocus={() => setOpen(true)}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={onKeyDown}
      />
      {open && text.trim() && (
        <ul className="search-results" role="listbox">
          {error && <li className="search-error">Search failed: {error}</li>}
          {!error && results.length === 0 && <li className="search-none">No dataset or job matches “{text.trim()}”</li>}
          {results.map((r, i) => (
            <li
              key={r.nodeId}
              role="option"
              aria-selected={i === active}
              className={i === active ? "active" : ""}
              onMouseEnter={() => setActive(i)}
              onMouseDown={(e) => {
                e.preventDefault();
                go(resultLink(r));
              }}
            >
              <span className={`kind kind-${r.type.toLowerCase()}`}>{r.type === "DATASET" ? "dataset" : "job"}</span>
              <span className="name">{r.name}</span>
              <span className="ns">{r.namespace}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

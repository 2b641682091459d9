import { lazy, StrictMode, Suspense } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Link, NavLink, Route, Routes } from "react-router-dom";
import { SearchBox } from "./components/SearchBox";
import { Empty, Loading } from "./components/States";
import { HomePage } from "./pages/Home";
import { SearchPage } from "./pages/Search";
import { DatasetPage } from "./pages/Dataset";
import { JobPage } from "./pages/Job";
import { RunPage } from "./pages/Run";
import { DriftPage } from "./pages/Drift";
import "./styles.css";

// The graph pages carry React Flow and ELK (most of the bundle): loaded when first opened, so the
// other pages start fast.
const LineagePage = lazy(() => import("./pages/Lineage").then((m) => ({ default: m.LineagePage })));
const BenchGraphPage = lazy(() => import("./pages/BenchGraph").then((m) => ({ default: m.BenchGraphPage })));
function App() {
  return (
    <>
      <header className="topbar">
        <Link to="/" className="brand">
          Lakehouse lineage
        </Link>
        <nav>
          <NavLink to="/" end>
            Home
          </NavLink>
          <NavLink to="/drift">Drift</NavLink>
        </nav>
        <SearchBox />
      </header>
      <main>
        <Suspense fallback={<Loading what="the page" />}>
        <Routes>
          <Route path="/" element={<HomePage />} />
          <Route path="/search" element={<SearchPage />} />
          <Route path="/dataset" element={<DatasetPage />} />
          <Route path="/job" element={<JobPage />} />
          <Route path="/run/:id" element={<RunPage />} />
          <Route path="/lineage" element={<LineagePage />} />
          <Route path="/drift" element={<DriftPage />} />
          <Route path="/bench/graph" element={<BenchGraphPage />} />
          <Route
            path="*"
            element={
              <Empty>
                No page here. <Link to="/">Go home</Link> or search with the box above.
              </Empty>
            }
          />
        </Routes>
        </Suspense>
      </main>
    </>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <BrowserRouter>
      <App />
    </BrowserRouter>
  </StrictMode>,
);

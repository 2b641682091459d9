"""The observed lineage graph: what Marquez holds for the namespaces a code location uses, read
through the Marquez HTTP API only (the project's one client, `lakehouse_core.marquez.MarquezHttp`),
so it works against a real Marquez and the built-in server alike.

- datasets of each of our dataset namespaces (paginated with limit/offset up to `totalCount`),
  with their fields;
- jobs of the job namespace (paginated), each with its current version's inputs and outputs and
  its latest runs' states (and those of them still RUNNING/NEW: their start and the run ids that
  lead to their Dagster run, their own and their parent's and root's). These come from the job
  list: Marquez's `/lineage` shows only each job's current version too (#2543), so nothing older
  is asked for;
- on demand (`find_elsewhere`): datasets of the same names in other namespaces of the same
  scheme (`postgres://localhost:5433` next to `postgres://127.0.0.1:5433`), to tell a namespace
  mismatch from a missing dataset. Nothing in those namespaces is otherwise looked at: other
  teams' namespaces in the same Marquez are none of our business.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import quote

import orjson
import requests

from lakehouse_core.marquez import MarquezHttp, MarquezTarget
from lineage.naming import DatasetId

PAGE = 500  # Marquez has no documented cap; the built-in server's is 1000
WORKERS = 4  # pages in flight at once


class MarquezUnreachable(Exception):
    """No Marquez answered at the URL (refused, timed out, not HTTP)."""


class MarquezFailed(Exception):
    """Marquez answered, but not as the API says (5xx, 401, unexpected JSON)."""


@dataclass(frozen=True)
class ObservedDataset:
    id: DatasetId
    fields: dict[str, str | None]  # name -> type, in Marquez's order; empty when it has none


OPEN_STATES = ("RUNNING", "NEW")


@dataclass(frozen=True)
class OpenRun:
    """A run Marquez still holds as RUNNING or NEW (no end event received)."""

    id: str
    state: str
    started_at: dt.datetime | None  # its start (else its creation), as Marquez reports it
    # Its own run id and those of its parent and root runs (the `parent` facet): the Dagster run's
    # lineage run id (`DagsterRun.lineage_run_id`) is one of them when a Dagster run started it.
    related_ids: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ObservedJob:
    name: str
    inputs: frozenset[DatasetId]
    outputs: frozenset[DatasetId]
    latest_state: str | None  # the latest run's state; None when the job has no run
    recent_states: tuple[str, ...]  # states of the latest runs Marquez lists with the job
    # The latest run's last event time (its end, else its start): Marquez keeps event times here.
    latest_run_at: dt.datetime | None = None
    open_runs: tuple[OpenRun, ...] = ()  # those of the latest runs still RUNNING/NEW
    # Run id -> its parent and root run ids, of the latest runs that have a parent: how a dbt
    # node's open run reaches its Dagster run through its wrapper's run.
    run_parents: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass
class ObservedGraph:
    url: str
    job_namespace: str
    dataset_namespaces: set[str]
    datasets: dict[DatasetId, ObservedDataset] = field(default_factory=dict)
    jobs: dict[str, ObservedJob] = field(default_factory=dict)


def scheme(namespace: str) -> str:
    """`postgres` of `postgres://host:5432`, `file` of `file`."""
    return namespace.split("://", 1)[0] if "://" in namespace else namespace


class MarquezReader:
    """Paginated reads of one Marquez, counting the HTTP calls it makes."""

    def __init__(
        self, url: str, api_key: str | None = None, timeout_s: float = 30.0, page: int = PAGE, workers: int = WORKERS
    ):
        self.url = url.rstrip("/")
        target = MarquezTarget(self.url, "external", api_key)
        self.http = MarquezHttp(
            target, user_agent="lakehouse-lineage-diff", pool=2 * workers, timeout=(timeout_s, timeout_s)
        )
        self.page = page
        self.workers = workers
        self._calls = itertools.count()
        self.calls = 0

    def _call(self, what: str, path: str, *, missing_ok: bool = False, **params):
        self.calls = next(self._calls) + 1  # thread-safe: pages are read concurrently
        try:
            response = self.http.get(path, params=params)
            if response.status_code == 404 and missing_ok:
                return None
            if not response.ok:
                raise MarquezFailed(
                    f"Marquez at {self.url} answered {response.status_code} to {what}: {response.text[:200]}"
                )
            return orjson.loads(response.content)  # pages are megabytes: orjson parses them 3-5x faster
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise MarquezUnreachable(f"Marquez at {self.url} cannot be reached: {type(exc).__name__}: {exc}") from exc
        except (requests.RequestException, ValueError) as exc:  # ValueError: the body is not JSON
            raise MarquezFailed(f"Marquez at {self.url} gave an unusable answer to {what}: {exc}") from exc

    def _pages(self, what: str, path: str, key: str, *, missing_ok: bool = False) -> list[dict]:
        """Every item of a paginated list. Once the first page gives `totalCount`, the other pages
        are read concurrently: the time goes into the server building each page, so a few pages
        in flight keep both its cores and ours busy."""

        def page(offset: int) -> tuple[list[dict], int | None] | None:
            body = self._call(what, path, limit=self.page, offset=offset, missing_ok=missing_ok)
            if body is None:
                return None
            try:
                return body[key], body.get("totalCount")
            except (KeyError, TypeError, AttributeError):
                raise MarquezFailed(f"Marquez at {self.url}: {what} has no `{key}` list") from None

        first = page(0)
        if first is None:
            return []
        items, total = first
        items = list(items)
        if total is None:  # no total (not Marquez's API, but be safe): read on until a short page
            while len(items) % self.page == 0 and items:
                more = page(len(items))
                if not more or not more[0]:
                    break
                items.extend(more[0])
            return items
        offsets = range(len(items), total, self.page) if items else range(0)
        with ThreadPoolExecutor(self.workers) as pool:
            for more in pool.map(page, offsets):
                items.extend(more[0] if more else [])
        return items

    def namespaces(self) -> list[str]:
        return [n["name"] for n in self._pages("GET /namespaces", "/api/v1/namespaces", "namespaces")]

    def datasets(self, namespace: str) -> list[ObservedDataset]:
        rows = self._pages(
            f"GET /namespaces/{namespace}/datasets",
            f"/api/v1/namespaces/{_quoted(namespace)}/datasets",
            "datasets",
            missing_ok=True,
        )
        return [_dataset(row) for row in rows]

    def jobs(self, namespace: str) -> list[ObservedJob]:
        rows = self._pages(
            f"GET /namespaces/{namespace}/jobs",
            f"/api/v1/namespaces/{_quoted(namespace)}/jobs",
            "jobs",
            missing_ok=True,
        )
        return [_job(row) for row in rows]

    def read(self, job_namespace: str, dataset_namespaces: Iterable[str]) -> ObservedGraph:
        graph = ObservedGraph(self.url, job_namespace, set(dataset_namespaces))
        namespaces = sorted(graph.dataset_namespaces)
        with ThreadPoolExecutor(len(namespaces) + 1) as pool:  # each list reads its own pages concurrently
            jobs = pool.submit(self.jobs, job_namespace)
            for datasets in pool.map(self.datasets, namespaces):
                for dataset in datasets:
                    graph.datasets[dataset.id] = dataset
            for job in jobs.result():
                graph.jobs[job.name] = job
        return graph

    def find_elsewhere(
        self, wanted: Iterable[DatasetId], exclude: Iterable[str]
    ) -> dict[DatasetId, list[ObservedDataset]]:
        """For each wanted dataset, the datasets of the same name in other namespaces of its scheme."""
        wanted = list(wanted)
        if not wanted:
            return {}
        schemes = {scheme(d.namespace) for d in wanted}
        excluded = set(exclude)
        by_name: dict[str, list[ObservedDataset]] = {}
        for namespace in self.namespaces():
            if namespace in excluded or scheme(namespace) not in schemes:
                continue
            for dataset in self.datasets(namespace):
                by_name.setdefault(dataset.id.name, []).append(dataset)
        return {
            d: [o for o in by_name.get(d.name, []) if scheme(o.id.namespace) == scheme(d.namespace)] for d in wanted
        }


def _quoted(name: str) -> str:
    """A name as one path segment: `postgres://127.0.0.1:5433` -> `postgres%3A%2F%2F127.0.0.1%3A5433`."""
    return quote(name, safe="")


def _dataset_id(ref: dict) -> DatasetId:
    return DatasetId(ref["namespace"], ref["name"])


def _dataset(row: dict) -> ObservedDataset:
    fields = {f["name"]: f.get("type") for f in row.get("fields") or []}
    return ObservedDataset(DatasetId(row["namespace"], row["name"]), fields)


def _job(row: dict) -> ObservedJob:
    latest = row.get("latestRun") or None
    runs = row.get("latestRuns") or ([latest] if latest else [])
    recent = tuple(r.get("state") for r in runs)
    return ObservedJob(
        name=row["name"],
        inputs=frozenset(_dataset_id(r) for r in row.get("inputs") or []),
        outputs=frozenset(_dataset_id(r) for r in row.get("outputs") or []),
        latest_state=latest.get("state") if latest else None,
        recent_states=recent,
        latest_run_at=_run_time(latest) if latest else None,
        open_runs=tuple(_open_run(r) for r in runs if r.get("state") in OPEN_STATES and r.get("id")),
        run_parents={r["id"]: parents for r in runs if r.get("id") and (parents := _parents(r))},
    )


def _parents(run: dict) -> frozenset[str]:
    """The run ids of a run's parent and root (its `parent` facet)."""
    parent = (run.get("facets") or {}).get("parent")
    if not isinstance(parent, dict):
        return frozenset()
    ids = set()
    for ref in (parent, parent.get("root")):
        run_ref = ref.get("run") if isinstance(ref, dict) else None
        if isinstance(run_ref, dict) and run_ref.get("runId"):
            ids.add(run_ref["runId"])
    return frozenset(ids)


def _open_run(run: dict) -> OpenRun:
    started = _time(run, "startedAt", "createdAt")
    return OpenRun(run["id"], run["state"], started, frozenset({run["id"]}) | _parents(run))


def _run_time(run: dict) -> dt.datetime | None:
    return _time(run, "endedAt", "startedAt", "createdAt")


def _time(run: dict, *keys: str) -> dt.datetime | None:
    """The first of `keys` the run has, as a time (None when it has none, or not a readable one)."""
    for key in keys:
        if run.get(key):
            try:
                return dt.datetime.fromisoformat(run[key].replace("Z", "+00:00"))
            except ValueError:
                return None
    return None

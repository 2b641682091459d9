"""Benchmark: the built-in Marquez-compatible server (`marquez/`) under the load that was
measured on the real Marquez 0.51.1 on this machine.

The load: a layered graph of N jobs. Job j reads the outputs of jobs j-1 and j-50 (where they
exist) and writes one dataset with a 12-column schema facet; one run per job, a START then a
COMPLETE event (OpenLineage 2-0-2 RunEvents, deterministic run ids, event times one job every
30 s). At each size (500 and 10,000 jobs) it measures, every ingest on a fresh database and a
fresh server process so that no measurement grows another's store:

- ingest, one event per request (`POST /api/v1/lineage`, keep-alive sessions): 1 client, and
  4 concurrent clients (jobs dealt round-robin, each client posts its job's START then
  COMPLETE);
- ingest with the batch endpoint (`POST /api/v1/lineage/batch`, batches of 500, 1 client);
- on the 1-client store: `/lineage` depth 20 from the last dataset, the namespace's job list
  page (limit 100) and one job: one cold call, then the median of `--read-repeats` calls;
- the server's RSS (VmRSS / VmHWM from /proc/<pid>/status, the process and any children),
  idle, along the 1-client ingest, and after the reads: it should stay flat as the store grows.

The embedded Postgres is the project's own (`ensure_postgres`, port 5434, data under
`data/bench/`), the server is started as `python -m marquez serve` on a free port with
`--db-url` naming a throwaway database, and the databases are dropped at the end.
`--url` benchmarks an already running Marquez instead (no database management; each
measurement gets its own namespace; pass `--server-pid` to read its RSS).

    python -m bench.marquez_server                 # 500 x3 and 10,000 x1 (about 10 minutes)
    python -m bench.marquez_server --quick         # 500 jobs only, for development
    python -m bench.marquez_server --url http://localhost:5000 --sizes 500 --repeats 1

Results: bench/results/marquez_server.{json,md} (the full run against the built-in server);
`--quick`, `--url` and other sizes write to data/bench/marquez/ instead.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psutil
import requests
import typer

from bench.measure import machine, median

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
WORK = REPO / "data" / "bench" / "marquez"
OL_REFERENCE = REPO / "tests" / "data" / "openlineage"  # the pinned spec copy the tests validate against

PRODUCER = "https://github.com/bioreactor-lakehouse/bench/marquez_server"
RUN_EVENT_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
SCHEMA_FACET = "https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet"
JOB_TYPE_FACET = "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
NOMINAL_TIME_FACET = "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"
DATASET_NAMESPACE = "postgres://bench:5432"
BASE_TIME = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
COLUMNS = [
    ("batch_id", "VARCHAR"), ("site", "VARCHAR"), ("reactor_id", "VARCHAR"), ("sampled_at", "TIMESTAMP"),
    ("temperature_c", "DOUBLE"), ("ph", "DOUBLE"), ("dissolved_oxygen_pct", "DOUBLE"), ("agitation_rpm", "INTEGER"),
    ("glucose_g_l", "DOUBLE"), ("viable_cell_density", "DOUBLE"), ("titer_mg_l", "DOUBLE"), ("quality_flag", "BOOLEAN"),
]  # fmt: skip
FAN_IN = (1, 50)  # job j reads the outputs of jobs j-1 and j-50

# The real Marquez 0.51.1 on this machine (DESIGN.md, "Speed on this machine"), 500 jobs.
REAL_MARQUEZ = {"ingest_1_client_eps": 9, "ingest_4_clients_eps": 12, "lineage_ms": 1800, "jobs_page_ms": 2400,
                "one_job_ms": 44, "lineage_nodes": 740}  # fmt: skip
GOALS = {"ingest_1_client_eps": 500, "ingest_batch_eps": 1000, "lineage_ms_500": 100, "lineage_ms_10000": 1000,
         "jobs_page_ms": 50}  # fmt: skip


# --- the load -----------------------------------------------------------------------------


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def job_name(j: int) -> str:
    return f"layer_job_{j:05d}"


def dataset_name(prefix: str, j: int) -> str:
    return f"{prefix}.public.table_{j:05d}"


def run_id(namespace: str, j: int) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"bench-marquez/{namespace}/{job_name(j)}/run-1"))


def job_events(j: int, namespace: str) -> tuple[dict, dict]:
    """START and COMPLETE of job j's one run."""
    prefix = namespace.replace("-", "_")
    schema = {
        "_producer": PRODUCER,
        "_schemaURL": SCHEMA_FACET,
        "fields": [{"name": n, "type": t, "ordinal_position": i + 1} for i, (n, t) in enumerate(COLUMNS)],
    }
    inputs = [{"namespace": DATASET_NAMESPACE, "name": dataset_name(prefix, j - k), "facets": {}}
              for k in FAN_IN if j - k >= 0]  # fmt: skip
    outputs = [{"namespace": DATASET_NAMESPACE, "name": dataset_name(prefix, j), "facets": {"schema": schema}}]
    start = BASE_TIME + dt.timedelta(seconds=30 * j)
    end = start + dt.timedelta(seconds=5 + j % 20, milliseconds=(j * 37) % 1000)
    run = {
        "runId": run_id(namespace, j),
        "facets": {
            "nominalTime": {"_producer": PRODUCER, "_schemaURL": NOMINAL_TIME_FACET, "nominalStartTime": _iso(start)}
        },
    }
    job = {
        "namespace": namespace,
        "name": job_name(j),
        "facets": {
            "jobType": {
                "_producer": PRODUCER,
                "_schemaURL": JOB_TYPE_FACET,
                "processingType": "BATCH",
                "integration": "DBT",
                "jobType": "MODEL",
            }  # fmt: skip
        },
    }
    common = {"run": run, "job": job, "inputs": inputs, "outputs": outputs, "producer": PRODUCER,
              "schemaURL": RUN_EVENT_SCHEMA}  # fmt: skip
    return {"eventType": "START", "eventTime": _iso(start), **common}, {
        "eventType": "COMPLETE",
        "eventTime": _iso(end),
        **common,
    }


def encoded_load(n: int, namespace: str) -> list[tuple[bytes, bytes]]:
    """Per job, its START and COMPLETE as request bodies (encoded before any clock starts)."""
    return [tuple(json.dumps(e, separators=(",", ":")).encode() for e in job_events(j, namespace)) for j in range(n)]


def validate_load(namespace: str = "bench") -> str:
    """Check events of the first jobs (no input, one input, two inputs) against the OpenLineage
    2-0-2 spec and the facets' own schemas, from the stored reference copies."""
    if not (OL_REFERENCE / "OpenLineage.json").exists():
        return "not checked (no OpenLineage spec copy at tests/data/openlineage)"
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    docs = [json.loads((OL_REFERENCE / "OpenLineage.json").read_text())]
    facet_files = {"schema": "SchemaDatasetFacet", "jobType": "JobTypeJobFacet", "nominalTime": "NominalTimeRunFacet"}
    facets = {k: json.loads((OL_REFERENCE / "facets" / f"{v}.json").read_text()) for k, v in facet_files.items()}
    docs += facets.values()
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs)
    event_validator = Draft202012Validator({"$ref": RUN_EVENT_SCHEMA}, registry=registry)
    for j in (0, 1, 50, 51):
        for event in job_events(j, namespace):
            event_validator.validate(event)
            found = {"nominalTime": event["run"]["facets"]["nominalTime"], "jobType": event["job"]["facets"]["jobType"],
                     "schema": event["outputs"][0]["facets"]["schema"]}  # fmt: skip
            for key, facet in found.items():
                Draft202012Validator(facets[key], registry=registry).validate({key: facet})
    return "OpenLineage 2-0-2 RunEvent + facet schemas: valid"


# --- the server under test ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_rss(pid: int | None) -> dict | None:
    """VmRSS and VmHWM (MiB) of the process and its children, from /proc/<pid>/status."""
    if pid is None:
        return None
    pids = [pid]
    try:
        pids += [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        pass
    rss = hwm = 0
    for p in pids:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm += int(line.split()[1])
        except OSError:
            pass
    return {"rss_mib": round(rss / 1024, 1), "hwm_mib": round(hwm / 1024, 1), "processes": len(pids)}


def tree_cpu_s(pid: int | None) -> float | None:
    """User + system CPU seconds of a process and its live children."""
    if pid is None:
        return None
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


@dataclass
class Target:
    """One Marquez to measure: a built-in server on its own fresh database, or an external URL."""

    url: str
    namespace: str
    pid: int | None = None
    proc: subprocess.Popen | None = None
    db: str | None = None
    postgres_pid: int | None = None

    def cpu(self) -> tuple[float | None, float | None]:
        """CPU seconds so far of the server and of the Postgres server (postmaster and backends)."""
        return tree_cpu_s(self.pid), tree_cpu_s(self.postgres_pid)


class BuiltIn:
    """Throwaway databases in the bench's embedded Postgres, one server process per database."""

    def __init__(self, pg_port: int, server_env: dict[str, str]):
        os.environ.update({"LAKEHOUSE_DATA_DIR": str(REPO / "data" / "bench"), "LAKEHOUSE_PG_PORT": str(pg_port)})
        os.environ.pop("LAKEHOUSE_PG_URL", None)
        from lakehouse_core.settings import get_settings
        from orchestration.services.postgres import embedded_server, ensure_postgres

        settings = get_settings()
        server = embedded_server(settings)
        # Stopped at the end only if this run started it (a developer may keep one running).
        self._embedded = server if not settings.external_pg_url and not server.is_running() else None
        self.pg = ensure_postgres(settings)
        pidfile = settings.pg_data_dir / "postmaster.pid"
        self.postgres_pid = int(pidfile.read_text().split()[0]) if pidfile.exists() else None
        self.live: list[Target] = []
        # The server's defaults (durable commits etc.), whatever the caller's shell sets; --server-env adds.
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("MARQUEZ_")}, **server_env}

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self.pg.with_db("postgres").url, autocommit=True) as admin:
            admin.execute(statement)

    def postgres_version(self) -> str:
        import psycopg

        with psycopg.connect(self.pg.with_db("postgres").url) as c:
            return c.execute("show server_version").fetchone()[0]

    def start(self, label: str, code: Path = REPO, share_db: str | None = None,
              env: dict[str, str] | None = None) -> Target:  # fmt: skip
        """A server (with its projector) from the checkout `code` on a fresh database, or on the
        database `share_db` of a running one (scale-out; the first one's stop drops it); `env`
        adds to the server's environment."""
        db = share_db or f"mqbench_{label}"
        if share_db is None:
            self._admin(f'drop database if exists "{db}" with (force)')
            self._admin(f'create database "{db}"')
        port = _free_port()
        WORK.mkdir(parents=True, exist_ok=True)
        log = open(WORK / f"server_{label}.log", "w")
        cmd = [sys.executable, "-m", "marquez", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--db-url", self.pg.with_db(db).url]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=code, env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
        target = Target(f"http://127.0.0.1:{port}", "bench", proc.pid, proc, None if share_db else db,
                        self.postgres_pid)  # fmt: skip
        self.live.append(target)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited {proc.returncode}; see {log.name}")
            try:
                if requests.get(f"{target.url}/healthcheck", timeout=2).status_code == 200:
                    return target
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer /healthcheck within 120 s; see {log.name}")

    def stop(self, target: Target) -> None:
        if target.proc is not None and target.proc.poll() is None:
            target.proc.send_signal(signal.SIGTERM)
            try:
                target.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                target.proc.kill()
                target.proc.wait()
        if target.db:
            self._admin(f'drop database if exists "{target.db}" with (force)')
        if target in self.live:
            self.live.remove(target)

    def close(self) -> None:
        for target in list(self.live):
            self.stop(target)
        if self._embedded is not None:
            self._embedded.stop()


class External:
    def __init__(self, url: str, server_pid: int | None):
        self.url, self.pid, self.token = url.rstrip("/"), server_pid, time.strftime("%m%d%H%M%S")

    def postgres_version(self) -> str:
        return "unknown (external Marquez)"

    def start(self, label: str) -> Target:
        return Target(self.url, f"bench-{self.token}-{label.replace('_', '-')}", self.pid)

    def stop(self, target: Target) -> None:
        pass

    def close(self) -> None:
        pass


# --- measurements -------------------------------------------------------------------------


def _session() -> requests.Session:
    s = requests.Session()
    s.headers.update({"Content-Type": "application/json", "Accept": "application/json"})
    return s


@dataclass
class Ingest:
    events: int
    seconds: float
    client_cpu_s: float
    rss_curve: list[dict] = field(default_factory=list)
    server_cpu_s: float | None = None
    postgres_cpu_s: float | None = None
    # From the first request until every event is applied to the model (the built-in server
    # acknowledges an event once stored and applies it right after; see marquez/storage/projector.py).
    applied_seconds: float | None = None

    @property
    def eps(self) -> float:
        return self.events / self.seconds

    @property
    def applied_eps(self) -> float | None:
        return self.events / self.applied_seconds if self.applied_seconds else None


def wait_applied(target: Target, started: float, timeout: float = 900) -> float | None:
    """Seconds from `started` until the server reports no pending events (`pendingEvents` in
    /healthcheck, built-in server only); None for a server that does not report it."""
    session = _session()
    deadline = time.perf_counter() + timeout
    try:
        while time.perf_counter() < deadline:
            r = session.get(f"{target.url}/healthcheck", timeout=10)
            pending = r.json().get("pendingEvents") if r.status_code == 200 else None
            if pending is None:
                return None
            if pending == 0:
                return time.perf_counter() - started
            time.sleep(0.01)
    finally:
        session.close()
    raise RuntimeError(f"events still pending after {timeout:.0f} s")


def ingest_single(target: Target, load: list[tuple[bytes, bytes]], clients: int, curve_points: int = 0) -> Ingest:
    """One event per request; jobs dealt round-robin to `clients` threads, each with its own
    keep-alive session posting its job's START then COMPLETE."""
    url = f"{target.url}/api/v1/lineage"
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)
    every = max(1, len(load) // curve_points) if curve_points and clients == 1 else 0
    curve: list[dict] = []

    def work(part: list[tuple[bytes, bytes]]) -> None:
        session = _session()
        barrier.wait()
        for i, pair in enumerate(part):
            for body in pair:
                r = session.post(url, data=body)
                if r.status_code not in (200, 201):
                    errors.append(f"{r.status_code} {r.text[:300]}")
                    return
            if every and (i + 1) % every == 0:
                curve.append({"jobs": i + 1, **(server_rss(target.pid) or {})})
        session.close()

    threads = [threading.Thread(target=work, args=(load[c::clients],)) for c in range(clients)]
    for t in threads:
        t.start()
    cpu0 = time.process_time()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"ingest failed: {errors[0]}")
    result = Ingest(2 * len(load), seconds, time.process_time() - cpu0, curve)
    result.applied_seconds = wait_applied(target, t0)
    return result


def _batch_failures(body, expected: int) -> list:
    """Entries of the per-event result list that are not a fresh store (the built-in server
    answers {"accepted", "rejected", "results": [{"index", "status", "duplicate"}]}; a bare
    list, or items with an ok/error flag, are accepted too)."""
    items = body
    if isinstance(body, dict):
        items = body.get("results", next((v for v in body.values() if isinstance(v, list)), None))
    if not isinstance(items, list) or len(items) != expected:
        return [f"unexpected batch answer: {str(body)[:300]}"]
    bad = []
    for item in items:
        if isinstance(item, dict):
            status = item.get("status", item.get("statusCode", item.get("code")))
            if (
                isinstance(status, int)
                and not 200 <= status < 300
                or isinstance(status, str)
                and status.lower() not in ("ok", "created", "stored", "duplicate", "accepted")
            ):
                bad.append(item)
            elif item.get("ok") is False or item.get("error") or item.get("errors") or item.get("duplicate"):
                bad.append(item)  # a duplicate on a fresh database means nothing new was stored
    return bad


def ingest_batch(target: Target, load: list[tuple[bytes, bytes]], batch_size: int) -> Ingest | None:
    bodies = [b for pair in load for b in pair]
    batches = [b"[" + b",".join(bodies[i : i + batch_size]) + b"]" for i in range(0, len(bodies), batch_size)]
    session = _session()
    url = f"{target.url}/api/v1/lineage/batch"
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for i, batch in enumerate(batches):
        r = session.post(url, data=batch)
        if i == 0 and r.status_code in (404, 405):
            return None  # no batch endpoint (the real Marquez has none)
        if r.status_code != 200:
            raise RuntimeError(f"batch ingest failed: {r.status_code} {r.text[:300]}")
        bad = _batch_failures(r.json(), batch.count(b'"eventType"'))
        if bad:
            raise RuntimeError(f"batch ingest: {len(bad)} events refused, first: {str(bad[0])[:300]}")
    seconds = time.perf_counter() - t0
    session.close()
    result = Ingest(len(bodies), seconds, time.process_time() - cpu0)
    result.applied_seconds = wait_applied(target, t0)
    return result


def timed_get(session: requests.Session, url: str, repeats: int, check) -> dict:
    """One cold call, then `repeats` timed calls: median, min and max in ms."""
    samples = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        r = session.get(url)
        body = r.content
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"GET {url}: {r.status_code} {r.text[:300]}")
        samples.append(elapsed)
    info = check(json.loads(body))
    warm = samples[1:]
    return {"median_ms": round(median(warm), 2), "min_ms": round(min(warm), 2), "max_ms": round(max(warm), 2),
            "cold_ms": round(samples[0], 2), "samples_ms": [round(s, 2) for s in warm], "bytes": len(body), **info}  # fmt: skip


def reads(target: Target, n: int, repeats: int) -> dict:
    prefix = target.namespace.replace("-", "_")
    session = _session()
    node = quote(f"dataset:{DATASET_NAMESPACE}:{dataset_name(prefix, n - 1)}", safe="")
    ns = quote(target.namespace, safe="")

    def lineage(body):
        graph = body.get("graph", [])
        kinds = {}
        for g in graph:
            kinds[g.get("type", "?")] = kinds.get(g.get("type", "?"), 0) + 1
        if not graph:
            raise RuntimeError("/lineage answered an empty graph")
        return {"nodes": len(graph), "node_types": kinds}

    def jobs_page(body):
        jobs = body.get("jobs", [])
        if len(jobs) != min(100, n):
            raise RuntimeError(f"job page: {len(jobs)} jobs, expected {min(100, n)}")
        return {"jobs": len(jobs), "totalCount": body.get("totalCount")}

    one = job_name(n // 2)

    def one_job(body):
        if body.get("name") != one:
            raise RuntimeError(f"one job: got {body.get('name')!r}")
        return {"job": one}

    out = {
        "lineage_depth_20": timed_get(session, f"{target.url}/api/v1/lineage?nodeId={node}&depth=20", repeats, lineage),
        "jobs_page_100": timed_get(session, f"{target.url}/api/v1/namespaces/{ns}/jobs?limit=100", repeats, jobs_page),
        "one_job": timed_get(session, f"{target.url}/api/v1/namespaces/{ns}/jobs/{one}", repeats, one_job),
    }
    session.close()
    return out


# --- sustained load, backlog drain, scale-out (issue 22) ------------------------------------

SUSTAINED_GOALS = {"applied_4_clients_eps": 2000, "read_p99_ms": 100, "scale_out_ratio": 1.6}


def _pending(db_url: str) -> int:
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as c:
        return c.execute("SELECT count(*) FROM lineage_events WHERE projected_at IS NULL").fetchone()[0]


def _projected_count(db_url: str) -> tuple[int, int]:
    """(stored events, applied events) in the database."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as c:
        row = c.execute("SELECT count(*), count(projected_at) FROM lineage_events").fetchone()
        return row[0], row[1]


def _projectors(target: Target) -> list[psutil.Process]:
    try:
        return [c for c in psutil.Process(target.pid).children(recursive=True) if "project" in " ".join(c.cmdline())]
    except psutil.Error:
        return []


def sustained_load(targets: list[Target], db_url: str, clients: int, seconds: float, kill_at: float | None = None,
                   reader: bool = True, projector_paused: bool = False) -> dict:  # fmt: skip
    """`clients` threads post one event per request (START then COMPLETE of a new job each time,
    the bench's layered graph) for `seconds`, dealt over `targets`; a reader asks for one job of
    the namespace every 50 ms meanwhile (the first job posted, and the one completed last: each
    answer waits on the read-your-writes barrier).
    Applied per second = events acknowledged during the window minus those still pending at its
    end, over the window. `kill_at`: the last target's server and projector get SIGKILL then, and
    its clients go on against the first target (re-posting the event they were sending).
    `projector_paused`: the projectors are stopped (SIGSTOP) for the window, so acknowledged/s is
    what the write path alone takes (the ceiling of applied/s); they go on afterwards."""
    errors: list[str] = []
    acked = [0] * clients
    lock = threading.Lock()
    jobs_done: list[int] = []
    stop = threading.Event()
    killed = threading.Event()
    start_barrier = threading.Barrier(clients + 1 + (2 if reader else 0))

    def post_loop(c: int) -> None:
        session = _session()
        j = c
        start_barrier.wait()
        while not stop.is_set():
            for body in (json.dumps(e, separators=(",", ":")).encode() for e in job_events(j, "bench")):
                target = targets[c % len(targets)]
                for _attempt in range(50):
                    if killed.is_set() and target is targets[-1] and len(targets) > 1:
                        target = targets[0]
                    try:
                        r = session.post(f"{target.url}/api/v1/lineage", data=body, timeout=30)
                    except requests.RequestException:
                        if killed.is_set():
                            session = _session()
                            continue
                        raise
                    if r.status_code in (200, 201):
                        acked[c] += 1
                        break
                    if r.status_code == 503:
                        time.sleep(0.1)
                        continue
                    errors.append(f"{r.status_code} {r.text[:300]}")
                    return
            with lock:
                jobs_done.append(j)
            j += clients
        session.close()

    # Two readers: one asks for the first job posted (its events applied long ago: a read that
    # should not wait for the backlog), the other for the job a client completed last (its own
    # fresh write: it waits until the projector reaches it, at most the barrier's 10 s).
    read_ms: dict[str, list[float]] = {"settled": [], "fresh": []}
    unapplied: dict[str, list[int]] = {"settled": [], "fresh": []}

    def read_loop(which: str) -> None:
        session = _session()
        start_barrier.wait()
        while not stop.is_set():
            with lock:
                known = (jobs_done[0] if which == "settled" else jobs_done[-1]) if jobs_done else None
            if known is None:
                time.sleep(0.05)
                continue
            t0 = time.perf_counter()
            r = session.get(f"{targets[0].url}/api/v1/namespaces/bench/jobs/{job_name(known)}", timeout=30)
            elapsed = (time.perf_counter() - t0) * 1000
            left = int(r.headers.get("X-Marquez-Unapplied-Events", 0))
            if r.status_code == 200 or (r.status_code == 404 and left):  # 404: not applied yet, and says so
                read_ms[which].append(elapsed)
                unapplied[which].append(left)
            else:
                errors.append(f"read {r.status_code} {r.text[:200]}")
            time.sleep(0.05)
        session.close()

    threads = [threading.Thread(target=post_loop, args=(c,)) for c in range(clients)]
    if reader:
        threads += [threading.Thread(target=read_loop, args=(which,)) for which in ("settled", "fresh")]
    for t in threads:
        t.start()
    paused = [p for t in targets for p in _projectors(t)] if projector_paused else []
    for p in paused:
        p.suspend()
    cpu0 = [t.cpu() for t in targets]
    client0 = _own_cpu_s()
    load0 = os.getloadavg()
    start_barrier.wait()
    t0 = time.perf_counter()
    if kill_at is not None:
        time.sleep(kill_at)
        victim = targets[-1]
        for p in [*_projectors(victim), psutil.Process(victim.pid)]:
            try:
                p.kill()
            except psutil.Error:
                pass
        killed.set()
        time.sleep(max(0.0, seconds - kill_at))
    else:
        time.sleep(seconds)
    pending_at_end = _pending(db_url)
    stored_at_end, applied_at_end = _projected_count(db_url)
    window = time.perf_counter() - t0
    stop.set()
    for t in threads:
        t.join()
    cpu1 = [t.cpu() for t in targets]
    client_cpu = _own_cpu_s() - client0
    for p in paused:
        p.resume()
    if errors:
        raise RuntimeError(f"sustained load failed: {errors[0]}")
    drained_from = time.perf_counter()
    while _pending(db_url):
        if time.perf_counter() - drained_from > 900:
            raise RuntimeError("events still pending 900 s after the load")
        time.sleep(0.05)
    tail_s = time.perf_counter() - drained_from

    def pct(which: str, q: float) -> float | None:
        ordered = sorted(read_ms[which])
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else None

    return {
        "clients": clients,
        "servers": len(targets),
        "window_s": round(window, 2),
        "acknowledged_in_window": stored_at_end,
        "applied_in_window": applied_at_end,
        "pending_at_end": pending_at_end,
        "acknowledged_eps": round(stored_at_end / window, 1),
        "applied_eps": round(applied_at_end / window, 1),
        "drain_after_s": round(tail_s, 2),
        "acknowledged_total": sum(acked),
        "jobs_posted": len(jobs_done),
        "reads": len(read_ms["settled"]),
        "read_p50_ms": pct("settled", 0.5),
        "read_p99_ms": pct("settled", 0.99),
        "read_max_ms": max(read_ms["settled"], default=None),
        "reads_marked_unapplied": sum(1 for u in unapplied["settled"] if u),
        "fresh_reads": len(read_ms["fresh"]),
        "fresh_read_p50_ms": pct("fresh", 0.5),
        "fresh_read_p99_ms": pct("fresh", 0.99),
        "fresh_reads_marked_unapplied": sum(1 for u in unapplied["fresh"] if u),
        "server_cpu_s": [
            round(b[0] - a[0], 2) if a[0] is not None and b[0] is not None else None
            for a, b in zip(cpu0, cpu1, strict=True)
        ],  # fmt: skip
        "postgres_cpu_s": round(cpu1[0][1] - cpu0[0][1], 2) if cpu0[0][1] is not None else None,
        # The clients and readers (this process) are on the same cores as the servers and Postgres.
        "client_cpu_s": round(client_cpu, 2),
        "cores_busy": _cores_busy(cpu0, cpu1, client_cpu, window),
        "load_average_during": [round(x, 2) for x in load0] + [round(x, 2) for x in os.getloadavg()],
    }


def _own_cpu_s() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def _cores_busy(cpu0: list, cpu1: list, client_cpu: float, window: float) -> float | None:
    """CPU seconds of the servers (with their projectors), Postgres and the clients, per second."""
    servers = [b[0] - a[0] for a, b in zip(cpu0, cpu1, strict=True) if a[0] is not None and b[0] is not None]
    if len(servers) != len(cpu0) or cpu0[0][1] is None or cpu1[0][1] is None:
        return None
    return round((sum(servers) + cpu1[0][1] - cpu0[0][1] + client_cpu) / window, 2)


NULL_APP = "bench.null_server:app"


def harness_ceiling(clients: int, seconds: float) -> dict:
    """The sustained load's clients against a server that answers 201 and does nothing else
    (`bench/null_server.py`, under the same uvicorn): the most events per second this harness can
    send on this machine, whatever the server does."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", NULL_APP, "--port", str(port), "--log-level", "warning",
                             "--no-access-log"], cwd=REPO)  # fmt: skip
    url = f"http://127.0.0.1:{port}/api/v1/lineage"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.post(url, data=b"{}", timeout=2)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("the null server did not start") from None
                time.sleep(0.1)
        sent = [0] * clients
        stop = threading.Event()

        def loop(c: int) -> None:
            session, j = _session(), c
            while not stop.is_set():
                for e in job_events(j, "bench"):
                    r = session.post(url, data=json.dumps(e, separators=(",", ":")).encode(), timeout=30)
                    if r.status_code != 201:
                        raise RuntimeError(f"null server answered {r.status_code}")
                    sent[c] += 1
                j += clients

        threads = [threading.Thread(target=loop, args=(c,)) for c in range(clients)]
        server0, client0, t0 = tree_cpu_s(proc.pid) or 0.0, _own_cpu_s(), time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()
        window, n = time.perf_counter() - t0, sum(sent)
        return {
            "clients": clients,
            "events_per_s": round(n / window, 1),
            "client_cpu_ms_per_event": round((_own_cpu_s() - client0) / n * 1000, 3),
            "server_cpu_ms_per_event": round(((tree_cpu_s(proc.pid) or 0.0) - server0) / n * 1000, 3),
            "load_average": [round(x, 2) for x in os.getloadavg()],
        }
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def model_check(db_url: str, jobs: int) -> dict:
    """After a load of `jobs` jobs (START + COMPLETE each), nothing lost or doubled: one stored
    event per acknowledged event, each applied without error, one run, one job version and one
    output dataset version per job."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as c:
        q = lambda sql: c.execute(sql).fetchone()[0]  # noqa: E731
        found = {
            "events": q("SELECT count(*) FROM lineage_events"),
            "distinct_events": q("SELECT count(DISTINCT (run_uuid, event_type)) FROM lineage_events"),
            "unapplied": q("SELECT count(*) FROM lineage_events WHERE projected_at IS NULL"),
            "projection_errors": q("SELECT count(*) FROM lineage_events WHERE projection_error IS NOT NULL"),
            "jobs": q("SELECT count(*) FROM jobs WHERE namespace_name = 'bench'"),
            "runs": q("SELECT count(*) FROM runs"),
            "completed_runs": q("SELECT count(*) FROM runs WHERE state = 'COMPLETED'"),
            "job_versions": q("SELECT count(*) FROM job_versions"),
            "output_versions": q("SELECT count(*) FROM dataset_versions WHERE run_uuid IS NOT NULL"),
        }
    expected = {"events": 2 * jobs, "distinct_events": 2 * jobs, "unapplied": 0, "projection_errors": 0, "jobs": jobs,
                "runs": jobs, "completed_runs": jobs, "job_versions": jobs, "output_versions": jobs}  # fmt: skip
    return {"found": found, "expected": expected, "ok": found == expected}


def drain_backlog(backend: BuiltIn, code: Path, label: str, events: int = 10_000) -> dict:
    """`events` events stored while the projector is paused (SIGSTOP), then the time from its
    SIGCONT until none is pending."""
    target = backend.start(label, code)
    try:
        db_url = backend.pg.with_db(target.db).url
        procs = _projectors(target)
        if not procs:
            raise RuntimeError("no projector process found")
        for p in procs:
            p.suspend()
        load = encoded_load(events // 2, "bench")
        bodies = [b for pair in load for b in pair]
        session = _session()
        for i in range(0, len(bodies), 500):
            r = session.post(f"{target.url}/api/v1/lineage/batch", data=b"[" + b",".join(bodies[i : i + 500]) + b"]")
            if r.status_code != 200:
                raise RuntimeError(f"batch: {r.status_code} {r.text[:300]}")
        session.close()
        assert _pending(db_url) == len(bodies)
        load0 = os.getloadavg()
        cpu0 = target.cpu()
        t0 = time.perf_counter()
        for p in procs:
            p.resume()
        while _pending(db_url):
            time.sleep(0.02)
        seconds = time.perf_counter() - t0
        cpu1 = target.cpu()
        check = model_check(db_url, events // 2)
        return {"events": len(bodies), "seconds": round(seconds, 2), "applied_eps": round(len(bodies) / seconds, 1),
                "projector_and_server_cpu_s": round(cpu1[0] - cpu0[0], 2),
                "postgres_cpu_s": round(cpu1[1] - cpu0[1], 2), "model_check": check,
                "load_average_during": [round(x, 2) for x in load0] + [round(x, 2) for x in os.getloadavg()]}  # fmt: skip
    finally:
        backend.stop(target)


def run_sustained_side(backend: BuiltIn, code: Path, side: str, rep: int, seconds: float, kill: bool) -> dict:
    out: dict = {}
    for clients in (1, 4):
        target = backend.start(f"{side}_sustained_{clients}_{rep}", code)
        try:
            db_url = backend.pg.with_db(target.db).url
            out[f"{clients}_client{'s' if clients > 1 else ''}"] = r = sustained_load(
                [target], db_url, clients, seconds
            )
            print(f"  {side} rep {rep + 1} {clients} client(s): acknowledged {r['acknowledged_eps']}/s, applied "
                  f"{r['applied_eps']}/s, read p99 {r['read_p99_ms']} ms ({r['reads_marked_unapplied']}/{r['reads']} "
                  f"marked unapplied), load {r['load_average_during']}", flush=True)  # fmt: skip
        finally:
            backend.stop(target)
    # The write path alone: the projector paused and acknowledgements never held for it.
    target = backend.start(f"{side}_write_path_{rep}", code, env={"MARQUEZ_MAX_PENDING_EVENTS": "0"})
    try:
        db_url = backend.pg.with_db(target.db).url
        out["4_clients_projector_paused"] = r = sustained_load([target], db_url, 4, seconds / 2, reader=False,
                                                               projector_paused=True)  # fmt: skip
        print(f"  {side} rep {rep + 1} 4 clients, projector paused: acknowledged {r['acknowledged_eps']}/s, "
              f"{r['cores_busy']} cores busy", flush=True)  # fmt: skip
    finally:
        backend.stop(target)
    first = backend.start(f"{side}_scale_{rep}", code)
    second = backend.start(f"{side}_scale_{rep}_b", code, share_db=first.db)
    try:
        db_url = backend.pg.with_db(first.db).url
        out["2_servers_4_clients"] = r = sustained_load([first, second], db_url, 4, seconds)
        print(f"  {side} rep {rep + 1} 2+2, 4 clients: acknowledged {r['acknowledged_eps']}/s, applied "
              f"{r['applied_eps']}/s, read p99 {r['read_p99_ms']} ms", flush=True)  # fmt: skip
    finally:
        backend.stop(second)
        backend.stop(first)
    out["drain_10000"] = d = drain_backlog(backend, code, f"{side}_drain_{rep}")
    print(f"  {side} rep {rep + 1} drain 10,000: {d['seconds']} s ({d['applied_eps']}/s), model "
          f"{'ok' if d['model_check']['ok'] else d['model_check']}", flush=True)  # fmt: skip
    if kill:
        first = backend.start(f"{side}_kill_{rep}", code)
        second = backend.start(f"{side}_kill_{rep}_b", code, share_db=first.db)
        try:
            db_url = backend.pg.with_db(first.db).url
            r = sustained_load([first, second], db_url, 4, seconds, kill_at=seconds / 2)
            r["model_check"] = model_check(db_url, r["jobs_posted"])
            out["2_servers_one_killed"] = r
            print(f"  {side} rep {rep + 1} 2+2 with one killed at {seconds / 2:.0f} s: applied {r['applied_eps']}/s, "
                  f"model {'ok' if r['model_check']['ok'] else r['model_check']}", flush=True)  # fmt: skip
        finally:
            backend.stop(second)
            backend.stop(first)
    return out


def _git_at(code: Path) -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=code, capture_output=True, text=True,
                              check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None


def sustained_main(before_dir: Path | None, sides: list[str], repeats: int, seconds: float, pg_port: int) -> None:
    """Measure each side (`after` = this checkout, `before` = `before_dir`), alternating, and merge
    the results into results/marquez_server.{json,md} under "sustained"."""
    backend = BuiltIn(pg_port, {})
    codes = {"after": REPO, "before": before_dir}
    runs: dict[str, list[dict]] = {s: [] for s in sides}
    harness: list[dict] = []
    load_before = os.getloadavg()
    commits = {s: _git_commit() if s == "after" else _git_at(codes[s]) for s in sides}
    started = time.perf_counter()
    load_by_side = {side: {"before": [round(x, 2) for x in load_before]} for side in sides}
    try:
        for rep in range(repeats):
            order = sides if rep % 2 == 0 else sides[::-1]
            harness.append(h := harness_ceiling(4, seconds / 2))
            print(f"  rep {rep + 1} harness: 4 clients against a server doing nothing: {h['events_per_s']}/s",
                  flush=True)  # fmt: skip
            for side in order:
                runs[side].append(run_sustained_side(backend, codes[side], side, rep, seconds, kill=rep == 0))
    finally:
        backend.close()
    for side in sides:
        load_by_side[side]["after"] = [round(x, 2) for x in os.getloadavg()]
    path = RESULTS / "marquez_server.json"
    report = json.loads(path.read_text()) if path.exists() else {}
    earlier = report.get("sustained") or {}
    for side, kept in (earlier.get("runs") or {}).items():  # a side not measured this time stays
        if side not in sides:
            runs[side] = kept
            commits[side] = earlier["commits"][side]
            if "load_average_by_side" in earlier:
                load_by_side[side] = earlier["load_average_by_side"][side]
    report["sustained"] = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "commits": commits,
        "seconds": seconds,
        "repeats": repeats,
        "load_average_1_5_15": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },  # fmt: skip
        "wall_s": round(time.perf_counter() - started, 1),
        "load_average_by_side": load_by_side,
        "goals": SUSTAINED_GOALS,
        "harness": harness or earlier.get("harness") or [],
        "runs": runs,
    }
    path.write_text(json.dumps(report, indent=2) + "\n")
    md = RESULTS / "marquez_server.md"
    text = md.read_text() if md.exists() else ""
    text = text.split(SUSTAINED_HEADING)[0].rstrip("\n") + "\n\n" + "\n".join(render_sustained(report["sustained"]))
    md.write_text(text + "\n")
    print("\n".join(render_sustained(report["sustained"])))


def rerender_sustained() -> None:
    """Write the sustained section of results/marquez_server.md again from the JSON beside it."""
    report = json.loads((RESULTS / "marquez_server.json").read_text())
    md = RESULTS / "marquez_server.md"
    text = md.read_text().split(SUSTAINED_HEADING)[0].rstrip("\n")
    md.write_text(text + "\n\n" + "\n".join(render_sustained(report["sustained"])) + "\n")


SUSTAINED_HEADING = "## Sustained load, backlog drain and scale-out (issue 22)"


def render_sustained(s: dict) -> list[str]:
    sides = [k for k in ("before", "after") if s["runs"].get(k)]
    m = s["machine"]

    def med(side: str, key: str, field_: str) -> float | None:
        vals = [r[key][field_] for r in s["runs"][side] if r.get(key) and r[key].get(field_) is not None]
        return round(median(vals), 1) if vals else None

    def alls(side: str, key: str, field_: str) -> str:
        # A measure the other side's code did not take (e.g. the fresh reads before them): "-".
        return " / ".join(str(r[key].get(field_, "-")) for r in s["runs"][side] if r.get(key))

    def loads(side: str, key: str) -> str:
        return "; ".join(f"{r[key]['load_average_during'][0]:.1f}-{r[key]['load_average_during'][3]:.1f}"
                         for r in s["runs"][side] if r.get(key))  # fmt: skip

    rows = [
        ("applied events/s, 1 client", "1_client", "applied_eps", ""),
        ("... acknowledged events/s", "1_client", "acknowledged_eps", ""),
        ("applied events/s, 4 clients", "4_clients", "applied_eps", ">= 2,000"),
        ("... acknowledged events/s", "4_clients", "acknowledged_eps", ""),
        ("read p99 during the 4-client load (ms)", "4_clients", "read_p99_ms", "<= 100"),
        ("read p50 during the 4-client load (ms)", "4_clients", "read_p50_ms", ""),
        ("... p99 of a read of the job completed last (ms)", "4_clients", "fresh_read_p99_ms", ""),
        ("read p99 during the 1-client load (ms)", "1_client", "read_p99_ms", "<= 100"),
        (
            "... CPU cores busy (servers, projectors, Postgres and clients, of the cores above)",
            "4_clients",
            "cores_busy",
            "",
        ),
        (
            "acknowledged events/s, 4 clients, projector paused (the write path alone)",
            "4_clients_projector_paused",
            "acknowledged_eps",
            "",
        ),
        ("pending at the end of the 4-client load (events)", "4_clients", "pending_at_end", ""),
        ("drain a 10,000-event backlog (s)", "drain_10000", "seconds", ""),
        ("... applied events/s while draining", "drain_10000", "applied_eps", ""),
        ("applied events/s, 2 servers + 2 projectors, 4 clients", "2_servers_4_clients", "applied_eps", ""),
    ]
    head = "| measure | " + " | ".join(f"{side} ({s['commits'][side]}): median | runs | load avg" for side in sides)
    lines = [
        SUSTAINED_HEADING,
        "",
        f"{s['date']}, {m['cpu_model']}, {m['cores']} cores shared with other users' work (load average beside each "
        f"figure: 1-minute average at the start and at the end of the run). `python -m bench.marquez_server "
        f"--sustained`: each measure on a fresh database and server process (its projector a child of it); "
        f"load = the layered graph above, each client posting START then COMPLETE of a new job, one event per "
        f"request, for {s['seconds']:.0f} s; applied/s = events applied by the end of the window over the window; "
        f"a reader asks for the first job posted every 50 ms meanwhile (a read of one job waits on the read-your-writes "
        f"barrier for the pending events naming that job, at most 10 s, and says `X-Marquez-Unapplied-Events` when it "
        f"answers before), and a second reader for the job completed last (its own fresh write: it waits for the "
        f"projector to reach it; the code before this session waited for every pending event on both). Drain: 10,000 events stored through "
        f"the batch endpoint while the projector is paused (SIGSTOP), then the time until none is pending. Median "
        f"of {s['repeats']} runs per side, sides alternated. `before` = the code of the commit named, run from a "
        f"worktree with the same venv.",
        "",
        head + " |",
        "| --- | " + " | ".join("---: | --- | ---" for _ in sides) + " |",
    ]
    for label, key, field_, goal in rows:
        cells = [f"{med(side, key, field_)} | {alls(side, key, field_)} | {loads(side, key)}" for side in sides]
        lines.append(f"| {label}{f' (goal {goal})' if goal else ''} | " + " | ".join(cells) + " |")
    ratio_cells = []
    for side in sides:
        one = med(side, "4_clients", "applied_eps")
        two = med(side, "2_servers_4_clients", "applied_eps")
        ratio_cells.append(f"{two / one:.2f}x | | " if one and two else "n/a | | ")
    lines.append("| 2+2 vs 1+1 applied, 4 clients (goal >= 1.6x) | " + " | ".join(ratio_cells) + " |")
    if s.get("harness"):
        h = s["harness"]
        lines += ["", f"The harness's own ceiling: the same 4 clients against a server that answers 201 and does nothing "
                  f"else (`bench/null_server.py`, same uvicorn), {s['seconds'] / 2:.0f} s each: "
                  f"{median([x['events_per_s'] for x in h]):.0f} events/s (runs: "
                  f"{' / '.join(str(x['events_per_s']) for x in h)}), the clients spending "
                  f"{median([x['client_cpu_ms_per_event'] for x in h]):.2f} ms of CPU per event. No server can be "
                  f"measured above that on this machine."]  # fmt: skip
    lines += ["", "Nothing lost or doubled (2 servers + 2 projectors, 4 clients; one server and its projector "
              "killed with SIGKILL half way, its clients going on against the other server):", ""]  # fmt: skip
    for side in sides:
        for r in s["runs"][side]:
            k = r.get("2_servers_one_killed")
            if k:
                lines.append(f"- {side}: {k['jobs_posted']} jobs posted, {k['acknowledged_total']} acknowledgements; "
                             f"model check {'ok' if k['model_check']['ok'] else 'FAILED'}: {k['model_check']['found']}"
                             f"; applied {k['applied_eps']}/s")  # fmt: skip
    by_side = s.get("load_average_by_side") or {}
    lines += ["", "Load average (1, 5, 15 min) before and after each side's runs: "
              + "; ".join(f"{k} {v.get('before')} -> {v.get('after')}" for k, v in by_side.items())
              + ". All samples, CPU seconds and the model checks are in the JSON file."]  # fmt: skip
    return lines


# --- the run ------------------------------------------------------------------------------


def main(
    sizes: str = typer.Option("500,10000", help="Job counts, comma-separated."),
    quick: bool = typer.Option(False, help="500 jobs only (development)."),
    repeats: int = typer.Option(3, help="Ingest repetitions at sizes <= 1,000 jobs (each on a fresh database)."),
    large_repeats: int = typer.Option(1, help="Ingest repetitions at larger sizes."),
    read_repeats: int = typer.Option(5, help="Timed calls per read (after one cold call); the median is reported."),
    clients: int = typer.Option(4, help="Concurrent clients for the multi-client ingest."),
    batch_size: int = typer.Option(500, help="Events per request for the batch endpoint."),
    url: str = typer.Option(None, help="Benchmark this running Marquez instead of starting the built-in one."),
    server_pid: int = typer.Option(None, help="With --url: the server's pid, to read its RSS."),
    pg_port: int = typer.Option(5434, help="Port of the benchmark's own embedded Postgres."),
    server_env: list[str] = typer.Option([], "--server-env", help="KEY=VALUE for the built-in server (repeatable)."),
    sustained: bool = typer.Option(False, help="Sustained load, backlog drain and scale-out instead (issue 22)."),
    before_dir: Path = typer.Option(None, help="With --sustained: a checkout of the code to compare with."),
    seconds: float = typer.Option(60, help="With --sustained: the length of each load."),
    only: str = typer.Option("before,after", help="With --sustained: the sides to measure (the others are kept)."),
) -> None:
    if sustained:
        sides = [s for s in only.split(",") if s != "before" or before_dir]
        sustained_main(before_dir, sides, repeats, seconds, pg_port)
        return
    job_counts = [500] if quick else [int(s) for s in sizes.split(",")]
    print(f"events: {validate_load()}")
    extra_env = dict(item.split("=", 1) for item in server_env)
    backend = External(url, server_pid) if url else BuiltIn(pg_port, extra_env)
    postgres_version = backend.postgres_version()  # before close(), which stops an embedded Postgres
    commit_at_start = _git_commit()
    started = time.perf_counter()
    load_before = os.getloadavg()
    per_size = []
    try:
        for n in job_counts:
            reps = repeats if n <= 1000 else large_repeats
            runs: dict[str, list[Ingest]] = {"1_client": [], f"{clients}_clients": [], "batch": []}
            modes = list(runs)
            read_result = rss = idle = None
            for rep in range(reps):
                for mode in modes[rep % 3 :] + modes[: rep % 3]:  # rotate the order across repetitions
                    target = backend.start(f"{n}_{mode}_{rep}")
                    try:
                        load = encoded_load(n, target.namespace)
                        cpu0 = target.cpu()
                        if mode == "1_client":
                            idle_rss = server_rss(target.pid)
                            result = ingest_single(target, load, 1, curve_points=10)
                        elif mode == "batch":
                            result = ingest_batch(target, load, batch_size)
                        else:
                            result = ingest_single(target, load, clients)
                        if result is None:
                            print(f"{n:>6} jobs  {mode:<10} run {rep + 1}: no batch endpoint, skipped")
                            continue
                        cpu1 = target.cpu()
                        if cpu0[0] is not None and cpu1[0] is not None:
                            result.server_cpu_s = cpu1[0] - cpu0[0]
                        if cpu0[1] is not None and cpu1[1] is not None:
                            result.postgres_cpu_s = cpu1[1] - cpu0[1]
                        runs[mode].append(result)
                        applied = f", applied {result.applied_eps:7.0f} events/s" if result.applied_eps else ""
                        print(f"{n:>6} jobs  {mode:<10} run {rep + 1}: {result.events} events in "
                              f"{result.seconds:6.1f} s = {result.eps:7.0f} events/s acknowledged{applied}  (server RSS "
                              f"{(server_rss(target.pid) or {}).get('rss_mib', '?')} MiB)", flush=True)  # fmt: skip
                        if mode == "1_client" and rep == 0:
                            idle = idle_rss
                            after_ingest = server_rss(target.pid)
                            read_result = reads(target, n, read_repeats)
                            rss = {"idle": idle, "after_ingest": after_ingest, "after_reads": server_rss(target.pid),
                                   "during_ingest": result.rss_curve}  # fmt: skip
                            for k, v in read_result.items():
                                print(f"{n:>6} jobs  {k:<16} median {v['median_ms']:8.1f} ms "
                                      f"(cold {v['cold_ms']:.1f} ms)", flush=True)  # fmt: skip
                    finally:
                        backend.stop(target)
            ingest = {}
            for mode, results in runs.items():
                ingest[mode] = None if not results else {
                    "events": results[0].events,
                    "events_per_s": [round(r.eps, 1) for r in results],
                    "seconds": [round(r.seconds, 2) for r in results],
                    "client_cpu_s": [round(r.client_cpu_s, 2) for r in results],
                    "server_cpu_s": [r.server_cpu_s and round(r.server_cpu_s, 2) for r in results],
                    "postgres_cpu_s": [r.postgres_cpu_s and round(r.postgres_cpu_s, 2) for r in results],
                    "median_events_per_s": round(median([r.eps for r in results]), 1),
                    "applied_seconds": [r.applied_seconds and round(r.applied_seconds, 2) for r in results],
                    "median_applied_events_per_s": (
                        round(median([r.applied_eps for r in results]), 1) if all(r.applied_eps for r in results) else None
                    ),
                }  # fmt: skip
            per_size.append({"jobs": n, "events": 2 * n, "ingest_repeats": reps, "ingest": ingest,
                             "reads": read_result, "server_rss": rss})  # fmt: skip
    finally:
        backend.close()
    elapsed = time.perf_counter() - started
    report = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "postgres": postgres_version,
        "server": url or "built-in (python -m marquez serve)",
        "git_commit": commit_at_start,
        "git_commit_at_end": _git_commit(),
        "server_env": extra_env,
        "load_average_1_5_15": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },  # fmt: skip
        "load": {"fan_in": list(FAN_IN), "columns": len(COLUMNS), "events_per_job": 2, "events": validate_load()},
        "config": {
            "clients": clients,
            "batch_size": batch_size,
            "read_repeats": read_repeats,
            "http_client": f"requests {requests.__version__}, keep-alive sessions, one thread per client",
        },  # fmt: skip
        "wall_s": round(elapsed, 1),
        "sizes": per_size,
        "real_marquez_0_51_1_at_500_jobs": REAL_MARQUEZ,
        "goals": GOALS,
    }
    if report["git_commit_at_end"] != commit_at_start:
        print(f"warning: the code changed during the run ({commit_at_start} -> {report['git_commit_at_end']})")
    official = not quick and not url and not extra_env and job_counts == [500, 10000]
    out_dir = RESULTS if official else WORK
    name = "marquez_server" if official else f"marquez_server_{'external' if url else 'quick'}"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = render(report)
    (out_dir / f"{name}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"\nwritten: {out_dir / name}.{{json,md}}")


def _git_commit() -> str | None:
    """HEAD, marked when the server's code (marquez/) has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "marquez"], cwd=REPO, capture_output=True,
                               text=True, check=True).stdout.strip()  # fmt: skip
        return f"{head} + uncommitted changes in marquez/" if dirty else head
    except (OSError, subprocess.CalledProcessError):
        return None


def render(report: dict) -> list[str]:
    m, sizes = report["machine"], report["sizes"]
    by = {s["jobs"]: s for s in sizes}
    cols = [s["jobs"] for s in sizes]
    clients = report["config"]["clients"]
    real = REAL_MARQUEZ

    def ingest(s, mode):
        v = s["ingest"].get(mode)
        return v and v["median_events_per_s"]

    def applied(s, mode):
        v = s["ingest"].get(mode)
        return v and v.get("median_applied_events_per_s")

    def read(s, key):
        return s["reads"] and s["reads"][key]["median_ms"]

    def fmt(v, unit):
        if v is None:
            return "n/a"
        return f"{v:,.0f}" if unit == "eps" else (f"{v:,.1f}" if v >= 10 else f"{v:.2f}")

    rows = [
        ("ingest, 1 client (events/s)", lambda s: ingest(s, "1_client"), "eps", real["ingest_1_client_eps"], ">= 500",
         lambda s, v: v >= GOALS["ingest_1_client_eps"]),
        ("... of which applied to the model (events/s, until none pending)", lambda s: applied(s, "1_client"), "eps",
         None, "", None),
        (f"ingest, {clients} clients (events/s)", lambda s: ingest(s, f"{clients}_clients"), "eps",
         real["ingest_4_clients_eps"], "", None),
        (f"ingest, batch endpoint, {report['config']['batch_size']}/request (events/s)", lambda s: ingest(s, "batch"),
         "eps", None, ">= 1,000", lambda s, v: v >= GOALS["ingest_batch_eps"]),
        ("... of which applied to the model (events/s, until none pending)", lambda s: applied(s, "batch"), "eps",
         None, "", None),
        ("`/lineage` depth 20 from the last dataset (ms)", lambda s: read(s, "lineage_depth_20"), "ms",
         real["lineage_ms"], "<= 100 at 500, <= 1,000 at 10,000",
         lambda s, v: v <= (GOALS["lineage_ms_500"] if s["jobs"] <= 500 else GOALS["lineage_ms_10000"])),
        ("namespace job list page, limit 100 (ms)", lambda s: read(s, "jobs_page_100"), "ms", real["jobs_page_ms"],
         "<= 50", lambda s, v: v <= GOALS["jobs_page_ms"]),
        ("one job (ms)", lambda s: read(s, "one_job"), "ms", real["one_job_ms"], "", None),
    ]  # fmt: skip
    head = ["measure", *[f"{c:,} jobs" for c in cols], "real Marquez 0.51.1, 500 jobs", "vs real (500 jobs)", "goal",
            "met"]  # fmt: skip
    lines = [
        "# The built-in Marquez-compatible server vs the real Marquez 0.51.1",
        "",
        f"{report['date']}, {m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB RAM, PostgreSQL "
        f"{report['postgres']} on the same machine; server: {report['server']}"
        + (f" at {report['git_commit']}" if report.get("git_commit") else "")
        + (
            f" (changed to {report['git_commit_at_end']} during the run)"
            if report.get("git_commit_at_end") != report.get("git_commit")
            else ""
        )
        + (f", server environment {report['server_env']}" if report.get("server_env") else "")
        + ".",
        "",
        "Load: a layered graph of N jobs, job j reads the outputs of jobs j-1 and j-50 and writes one dataset "
        "with a 12-column schema facet; one run per job, START then COMPLETE (2N events). Every ingest runs "
        "on a fresh database and server process; the reads run on the 1-client store. Ingest: median of "
        + ", ".join(
            f"{s['ingest_repeats']} run{'s' if s['ingest_repeats'] > 1 else ''} at {s['jobs']:,} jobs" for s in sizes
        )
        + f"; reads: median of {report['config']['read_repeats']} calls after one cold call. Client: "
        f"{report['config']['http_client']}, on the same 2 cores as the server and Postgres.",
        "",
        "| " + " | ".join(head) + " |",
        "| --- | " + " | ".join("---:" for _ in head[1:-2]) + " | --- | --- |",
    ]
    for label, get, unit, ref, goal, ok in rows:
        values = [get(by[c]) for c in cols]
        v500 = get(by[500]) if 500 in by else None
        if ref is None or v500 is None:
            ratio = "no bulk endpoint" if ref is None and "batch endpoint" in label else "n/a"
        else:
            x = v500 / ref if unit == "eps" else ref / v500
            ratio = f"{x:,.0f}x faster" if x >= 10 else f"{x:.1f}x faster"
        met = ""
        if ok is not None:
            checks = {c: ok(by[c], get(by[c])) for c in cols if get(by[c]) is not None}
            if checks and len(set(checks.values())) == 1:
                met = "yes" if all(checks.values()) else "no"
            else:
                met = ", ".join(f"{'yes' if v else 'no'} at {c:,}" for c, v in checks.items())
        lines.append(f"| {label} | " + " | ".join(fmt(v, unit) for v in values)
                     + f" | {f'{ref:,}' if ref else '-'} | {ratio} | {goal} | {met} |")  # fmt: skip
    lines += ["", "Server memory (VmRSS of the server process tree, MiB, from /proc/<pid>/status):", ""]
    lines += ["| jobs | idle | after ingest | after reads | peak (VmHWM) | along the 1-client ingest |",
              "| ---: | ---: | ---: | ---: | ---: | --- |"]  # fmt: skip
    for s in sizes:
        r = s["server_rss"]
        if not r or not r.get("idle"):
            lines.append(f"| {s['jobs']:,} | n/a | n/a | n/a | n/a | |")
            continue
        curve = ", ".join(f"{p['rss_mib']:.0f}" for p in r["during_ingest"] if "rss_mib" in p)
        lines.append(f"| {s['jobs']:,} | {r['idle']['rss_mib']:.0f} | {r['after_ingest']['rss_mib']:.0f} | "
                     f"{r['after_reads']['rss_mib']:.0f} | {r['after_reads']['hwm_mib']:.0f} | {curve} |")  # fmt: skip
    lines += ["", "CPU per ingested event (median run; ms of CPU: the client, the server process, Postgres):", ""]
    lines += ["| jobs | ingest | client | server | Postgres |", "| ---: | --- | ---: | ---: | ---: |"]
    for s in sizes:
        for mode, v in s["ingest"].items():
            if not v:
                continue
            i = v["events_per_s"].index(sorted(v["events_per_s"])[len(v["events_per_s"]) // 2])

            def per_event(key, v=v, i=i):
                x = v[key][i]
                return "n/a" if x is None else f"{1000 * x / v['events']:.2f}"

            lines.append(f"| {s['jobs']:,} | {mode.replace('_', ' ')} | {per_event('client_cpu_s')} | "
                         f"{per_event('server_cpu_s')} | {per_event('postgres_cpu_s')} |")  # fmt: skip
    la = report["load_average_1_5_15"]
    lines += ["", f"Load average (1, 5, 15 min) before the run {la['before']}, after {la['after']}.",
              "Details per size (lineage graph size, all samples, CPU) are in the JSON file next to this one."]  # fmt: skip
    for s in sizes:
        if s["reads"]:
            lin = s["reads"]["lineage_depth_20"]
            lines.append(f"At {s['jobs']:,} jobs `/lineage` returned {lin['nodes']:,} nodes "
                         f"({', '.join(f'{v} {k}' for k, v in sorted(lin['node_types'].items()))}; "
                         f"the real Marquez returned {REAL_MARQUEZ['lineage_nodes']} at 500 jobs).")  # fmt: skip
    lines.append(f"Total wall time of the benchmark: {report['wall_s'] / 60:.1f} min.")
    return lines


if __name__ == "__main__":
    typer.run(main)

"""Store an OpenLineage event, and turn it into Marquez's model (all of it or none).

The rules follow what Marquez 0.51.1 does (see the conformance recordings), except where
`marquez.differences` says we do better:
- a job whose run carries a `parent` facet is filed as `<parent job>.<job>`, the parent being the
  job named in the facet (created as a placeholder if it never posted itself);
- every output of an event is a new dataset version; an input reuses the dataset's current
  version (or creates the first one);
- a terminal event (COMPLETE/FAIL/ABORT) fixes the job version from the run's inputs and outputs,
  makes it the job's current version and makes the run's outputs the datasets' current versions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from typing import Any

import orjson
from psycopg.types.json import Jsonb

from marquez.limits import MAX_NAME_BYTES, utf8_len
from marquez.model import subjects, versions
from marquez.model.events import DATASET_EVENT, JOB_EVENT, Event
from marquez.model.json import minutes, nominal_time_zoned
from marquez.storage.db import Connection

DEFAULT_SOURCE = "default"
# Stored events are announced on this channel; the projectors LISTEN to it.
CHANNEL = "marquez_events"
TERMINAL = {"COMPLETE": "COMPLETED", "FAIL": "FAILED", "ABORT": "ABORTED"}


def run_state(event_type: str | None) -> str | None:
    """Marquez's mapping: terminal types map to their state, anything else means RUNNING."""
    if event_type is None:
        return None
    return TERMINAL.get(event_type.upper(), "RUNNING")


def event_hash(raw: dict) -> str:
    """The identity of an event: its canonical form (see `canonical`), keys sorted."""
    return hashlib.sha256(orjson.dumps(canonical(raw), option=orjson.OPT_SORT_KEYS)).hexdigest()


def _canonical_uuid(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            return value
    return value


def _canonical_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            return value
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return value


def canonical(raw: dict) -> dict:
    """The same event however it is written: times in UTC with `Z`, run ids (the event's and its
    parent's) as lower-case UUIDs. Two events that differ only so are one event (stored once)."""
    doc = dict(raw)
    doc["eventTime"] = _canonical_time(raw.get("eventTime"))
    run = raw.get("run")
    if isinstance(run, dict):
        run = dict(run)
        run["runId"] = _canonical_uuid(run.get("runId"))
        facets = run.get("facets")
        parent = facets.get("parent") if isinstance(facets, dict) else None
        if isinstance(parent, dict) and isinstance(parent.get("run"), dict):
            parent_run = dict(parent["run"], runId=_canonical_uuid(parent["run"].get("runId")))
            run["facets"] = {**(facets or {}), "parent": dict(parent, run=parent_run)}
        doc["run"] = run
    return doc


def store_event(conn: Connection, event: Event) -> int | None:
    """Append the event to the log; its id, or None when the same event was stored before."""
    raw = event.raw
    job = raw.get("job") or {}
    run_id = (raw.get("run") or {}).get("runId")
    # Stored and the projectors told, in one statement (NOTIFY is delivered at commit).
    row = conn.execute(
        "WITH stored AS (INSERT INTO lineage_events (event_hash, event_type, event_time, run_uuid, job_namespace,"
        " job_name, producer, schema_url, kind, event, subjects) VALUES (%(hash)s, %(type)s, %(time)s, %(run)s,"
        " %(ns)s, %(name)s, %(producer)s, %(schema)s, %(kind)s, %(event)s,"
        # A run's later events can change what its earlier ones named (a COMPLETE makes the outputs
        # its START named current): each event also carries the keys of the run's events before it.
        "  array(SELECT unnest(%(subjects)s::text[]) UNION SELECT unnest(e.subjects) FROM"
        "   (SELECT subjects FROM lineage_events WHERE run_uuid = %(run)s ORDER BY id DESC LIMIT 1) e))"
        " ON CONFLICT (event_hash) DO NOTHING RETURNING id)"
        f" SELECT id, pg_notify('{CHANNEL}', '') FROM stored",
        {
            "hash": event_hash(raw),
            "type": raw.get("eventType"),
            "time": event.event_time,
            "run": versions.run_uuid(run_id) if run_id else None,
            "ns": job.get("namespace") or (raw.get("dataset") or {}).get("namespace", ""),
            "name": job.get("name") or (raw.get("dataset") or {}).get("name", ""),
            "producer": raw["producer"],
            "schema": raw.get("schemaURL"),
            "kind": event.kind,
            "event": Jsonb(raw),
            "subjects": subjects.of_event(raw),
        },
    ).fetchone()
    return row["id"] if row else None


class Seen:
    """Namespaces and sources already upserted in this transaction: no need to repeat it."""

    def __init__(self) -> None:
        self.namespaces: set[str] = set()
        self.sources: set[str] = set()
        # Dataset names looked up in dataset_symlinks for the whole batch at once (`prefetch_aliases`):
        # name -> the dataset it is an alias of, or None. A name an event of the batch links as a
        # symlink is dropped from it (looked up again).
        self.aliases: dict[tuple[str, str], tuple[str, str] | None] = {}
        # Per dataset, the fields last written in this transaction and the version they were mapped
        # to: the same fields for the same version again (a run's START then COMPLETE) change nothing.
        self.fields: dict[Any, tuple] = {}

    def forget(self) -> None:
        """After a rollback: what was upserted is gone."""
        self.namespaces.clear()
        self.sources.clear()
        self.fields.clear()

    def prefetch_aliases(self, conn: Connection, raws: list[dict]) -> None:
        """Look up, in one statement, which of the datasets the events name are another dataset's
        symlinks (instead of one lookup per dataset per event)."""
        names: set[tuple[str, str]] = set()
        for raw in raws:
            named = [*(raw.get("inputs") or []), *(raw.get("outputs") or []), raw.get("dataset")]
            for ds in named:
                if isinstance(ds, dict) and isinstance(ds.get("namespace"), str) and isinstance(ds.get("name"), str):
                    names.add((ds["namespace"], ds["name"]))
        if not names:
            return
        rows = conn.execute(
            "SELECT s.namespace_name AS alias_namespace, s.name AS alias_name, d.namespace_name, d.name"
            " FROM unnest(%s::text[], %s::text[]) AS u(ns, nm)"
            " JOIN dataset_symlinks s ON s.namespace_name = u.ns AND s.name = u.nm"
            " JOIN datasets d ON d.uuid = s.dataset_uuid",
            ([n[0] for n in names], [n[1] for n in names]),
        ).fetchall()
        self.aliases = dict.fromkeys(names)
        for r in rows:
            self.aliases[(r["alias_namespace"], r["alias_name"])] = (r["namespace_name"], r["name"])


class Ingest:
    """One event's writes on one connection; the caller owns the transaction."""

    def __init__(self, conn: Connection, event: Event, seen: Seen | None = None):
        self.conn = conn
        self.event = event
        self.raw = event.raw
        self.now = event.event_time
        seen = seen or Seen()
        self._seen = seen
        self._seen_namespaces = seen.namespaces
        self._seen_sources = seen.sources
        self._run_io: list[tuple] = []  # written in one statement once the datasets are known

    # -- entry point ---------------------------------------------------------------------------
    def apply(self) -> None:
        """Update the model from the (already stored) event."""
        if self.event.kind == DATASET_EVENT:
            self._dataset_event()
        elif self.event.kind == JOB_EVENT:
            self._job_event()
        else:
            self._run_event()

    # -- the three kinds of event ---------------------------------------------------------------
    def _run_event(self) -> None:
        raw = self.raw
        job_doc, run_doc = raw["job"], raw["run"]
        namespace = job_namespace(job_doc["namespace"])
        self._namespace(namespace)
        run_facets = run_doc.get("facets") or {}
        parent = run_facets.get("parent") if isinstance(run_facets.get("parent"), dict) else None
        state = run_state(raw.get("eventType"))
        parent_job = self._parent(namespace, parent, state) if parent else None
        run_id = versions.run_uuid(run_doc["runId"])
        # The run the job's /lineage node shows (JobDao.upsertJob's current_run_uuid): this run, or
        # for a child the parent's current run (OpenLineageDao.buildJobFromEvent).
        current_run = parent_job["current_run_uuid"] if parent_job else run_id
        job = self._job(namespace, job_doc, parent_job, current_run)
        self._run(run_id, run_doc["runId"], job, parent, run_facets, job_doc.get("facets") or {}, state)
        for ds in raw.get("inputs") or []:
            self._dataset(ds, run_id, is_input=True)
        for ds in raw.get("outputs") or []:
            self._dataset(ds, run_id, is_input=False)
        self._write_run_io()
        self._unlink_sides_not_named(job, _streaming(job_doc))
        if _streaming(job_doc):
            self._streaming_job_version(job, run_id)
        elif state in TERMINAL.values():
            self._job_version_for_run(job, run_id, outputs_current=state == "COMPLETED")

    def _job_event(self) -> None:
        raw = self.raw
        namespace = job_namespace(raw["job"]["namespace"])
        self._namespace(namespace)
        job = self._job(namespace, raw["job"], None)
        placeholder_run = uuid.uuid4()  # dataset versions of a static event belong to no run
        inputs = [self._dataset(ds, placeholder_run, is_input=True, record=False) for ds in raw.get("inputs") or []]
        outputs = [self._dataset(ds, placeholder_run, is_input=False, record=False) for ds in raw.get("outputs") or []]
        self._job_version(job, inputs, outputs, latest_run=None)

    def _dataset_event(self) -> None:
        ds = self.raw["dataset"]
        version = self._dataset(ds, uuid.uuid4(), is_input=False, record=False)
        self.conn.execute(
            "UPDATE datasets SET current_version_uuid = %s WHERE uuid = %s",
            (version["version_uuid"], version["dataset_uuid"]),
        )

    # -- namespaces, sources, jobs, runs --------------------------------------------------------
    def _namespace(self, name: str) -> None:
        if name in self._seen_namespaces:  # once per transaction is enough
            return
        self._seen_namespaces.add(name)
        self.conn.execute(
            "INSERT INTO namespaces (uuid, name, created_at, updated_at) VALUES (%s,%s,%s,%s)"
            " ON CONFLICT (name) DO UPDATE SET is_hidden = FALSE WHERE namespaces.is_hidden",
            (uuid.uuid4(), name, self.now, self.now),
        )

    def _source(self, ds: dict) -> str:
        source = (ds.get("facets") or {}).get("dataSource")
        if isinstance(source, dict) and isinstance(source.get("name"), str):
            name, url = source["name"], source.get("uri") or ""
        else:
            name, url = DEFAULT_SOURCE, ""
        if name in self._seen_sources:
            return name
        self._seen_sources.add(name)
        self.conn.execute(
            "INSERT INTO sources (uuid, type, name, connection_url, created_at, updated_at)"
            " VALUES (%s,'POSTGRESQL',%s,%s,%s,%s) ON CONFLICT (name) DO NOTHING",
            (uuid.uuid4(), name, url, self.now, self.now),
        )
        return name

    def _parent(self, namespace: str, parent: dict, state: str | None) -> dict:
        """The job named in the parent facet (created if unknown) and its run."""
        p_job = parent.get("job") or {}
        p_ns = job_namespace(p_job["namespace"]) if p_job.get("namespace") else namespace
        p_name = _parent_job_name(p_job["name"], self.raw["job"]["name"])
        self._namespace(p_ns)
        job = self.conn.execute(
            "SELECT uuid, name, current_run_uuid FROM jobs WHERE namespace_name = %s AND name = %s", (p_ns, p_name)
        ).fetchone()
        if job is None:
            job = self.conn.execute(
                "INSERT INTO jobs (uuid, namespace_name, name, simple_name, created_at, updated_at)"
                " VALUES (%s,%s,%s,%s,%s,%s) ON CONFLICT (namespace_name, name) DO UPDATE SET is_hidden = FALSE"
                " RETURNING uuid, name, current_run_uuid",
                (uuid.uuid4(), p_ns, p_name, p_name, self.now, self.now),
            ).fetchone()
            assert job is not None  # INSERT ... RETURNING always returns the row
        p_run_id = parent["run"]["runId"]
        run_uuid = versions.run_uuid(p_run_id)
        existing = self.conn.execute("SELECT job_uuid FROM runs WHERE uuid = %s", (run_uuid,)).fetchone()
        recorded = None
        if existing is None:
            # A parent that never posted: Marquez records its run once, from the first child event.
            self._insert_run(run_uuid, p_run_id, job["uuid"], None, state, {}, {}, {})
            recorded = run_uuid
        elif existing["job_uuid"] != job["uuid"]:
            # The run belongs to another job (the parent itself was filed under ITS parent):
            # Marquez keeps a placeholder run under the facet's job, following the child's state.
            recorded = versions.placeholder_parent_run(p_ns, p_name, p_run_id)
            self._upsert_run(recorded, p_run_id, job["uuid"], None, state, {}, {}, {})
        if recorded is not None:
            # The run recorded for the parent becomes its current one, and the parent takes the
            # child's type (createParentJobRunRecord upserts the parent job with job.type()).
            self.conn.execute(
                "UPDATE jobs SET current_run_uuid = %s, type = %s WHERE uuid = %s",
                (recorded, "STREAM" if _streaming(self.raw["job"]) else "BATCH", job["uuid"]),
            )
            job = {**job, "current_run_uuid": recorded}
        return job

    def _job(self, namespace: str, job_doc: dict, parent: dict | None, current_run: uuid.UUID | None = None) -> dict:
        facets = job_doc.get("facets") or {}
        description = _get(facets, "documentation", "description")
        location = _get(facets, "sourceCodeLocation", "url")
        simple = job_doc["name"]
        if parent is not None and simple.startswith(parent["name"] + "."):
            simple = simple[len(parent["name"]) + 1 :]
        full = f"{parent['name']}.{simple}" if parent is not None else simple
        inputs = [{"namespace": d["namespace"], "name": d["name"]} for d in self.raw.get("inputs") or []]
        row = self.conn.execute(
            "INSERT INTO jobs (uuid, namespace_name, name, simple_name, parent_job_uuid, parent_job_name,"
            " description, location, created_at, updated_at, current_inputs, facets, type, current_run_uuid)"
            " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
            " ON CONFLICT (namespace_name, name) DO UPDATE SET updated_at = GREATEST(jobs.updated_at, EXCLUDED.updated_at),"
            # The latest event's jobType says STREAM or BATCH (LineageEvent.Job.type(); the jobs
            # upsert sets type = EXCLUDED.type, R__Jobs_view_and_rewrite_function.sql).
            "  type = EXCLUDED.type,"
            "  description = COALESCE(EXCLUDED.description, jobs.description),"
            "  location = COALESCE(EXCLUDED.location, jobs.location),"
            "  parent_job_uuid = COALESCE(EXCLUDED.parent_job_uuid, jobs.parent_job_uuid),"
            "  parent_job_name = COALESCE(EXCLUDED.parent_job_name, jobs.parent_job_name),"
            "  current_inputs = EXCLUDED.current_inputs, facets = jobs.facets || EXCLUDED.facets, is_hidden = FALSE,"
            # A static job event (no run) leaves it: the node keeps showing the latest run.
            "  current_run_uuid = COALESCE(EXCLUDED.current_run_uuid, jobs.current_run_uuid)"
            " RETURNING uuid, name, namespace_name, location",
            (
                uuid.uuid4(), namespace, full, simple,
                parent["uuid"] if parent else None, parent["name"] if parent else None,
                description, location, self.now, self.now, Jsonb(inputs), Jsonb(facets),
                "STREAM" if _streaming(job_doc) else "BATCH", current_run,
            ),
        ).fetchone()  # fmt: skip
        assert row is not None  # INSERT ... RETURNING always returns the row
        return row

    def _insert_run(self, run_uuid, external_id, job_uuid, parent_uuid, state, args, facets, job_facets) -> None:
        self.conn.execute(
            "INSERT INTO runs (uuid, external_id, job_uuid, parent_run_uuid, created_at, updated_at, state, state_time,"
            " started_at, ended_at, args, facets, job_facets) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
            " ON CONFLICT (uuid) DO NOTHING",
            (
                run_uuid, external_id, job_uuid, parent_uuid, self.now, self.now, state,
                self.now if state else None,
                self.now if state == "RUNNING" else None,
                self.now if state in TERMINAL.values() else None,
                Jsonb(args), Jsonb(facets), Jsonb(job_facets),
            ),
        )  # fmt: skip

    def _upsert_run(self, run_uuid, external_id, job_uuid, parent_uuid, state, args, facets, job_facets,
                    nominal=(None, None)) -> None:  # fmt: skip
        starting = state == "RUNNING"
        done = state in TERMINAL.values()
        self.conn.execute(
            "INSERT INTO runs (uuid, external_id, job_uuid, parent_run_uuid, created_at, updated_at, state, state_time,"
            " started_at, ended_at, args, facets, job_facets, nominal_start, nominal_end)"
            " VALUES (%(uuid)s,%(ext)s,%(job)s,%(parent)s,%(now)s,%(now)s,%(state)s,%(state_time)s,%(started)s,"
            "  %(ended)s,%(args)s,%(facets)s,%(job_facets)s,%(ns)s,%(ne)s)"
            " ON CONFLICT (uuid) DO UPDATE SET"
            "  updated_at = EXCLUDED.updated_at,"
            "  job_uuid = EXCLUDED.job_uuid,"
            "  parent_run_uuid = COALESCE(EXCLUDED.parent_run_uuid, runs.parent_run_uuid),"
            # Better than Marquez (#2264): the state follows event time, not arrival order; at equal
            # times a terminal state wins.
            "  state = CASE WHEN EXCLUDED.state IS NULL THEN runs.state"
            "    WHEN runs.state_time IS NULL OR EXCLUDED.state_time > runs.state_time"
            "      OR (EXCLUDED.state_time = runs.state_time AND EXCLUDED.state <> 'RUNNING') THEN EXCLUDED.state"
            "    ELSE runs.state END,"
            "  state_time = CASE WHEN EXCLUDED.state IS NULL THEN runs.state_time"
            "    ELSE GREATEST(runs.state_time, EXCLUDED.state_time) END,"
            "  started_at = COALESCE(EXCLUDED.started_at, runs.started_at),"
            "  ended_at = COALESCE(EXCLUDED.ended_at, runs.ended_at),"
            # A run's args are its first event's: Marquez's run upsert leaves run_args_uuid alone (RunDao).
            "  args = runs.args,"
            "  facets = runs.facets || EXCLUDED.facets,"
            "  job_facets = runs.job_facets || EXCLUDED.job_facets,"
            "  nominal_start = COALESCE(EXCLUDED.nominal_start, runs.nominal_start),"
            "  nominal_end = COALESCE(EXCLUDED.nominal_end, runs.nominal_end)",
            {
                "uuid": run_uuid, "ext": external_id, "job": job_uuid, "parent": parent_uuid, "now": self.now,
                "state": state, "state_time": self.now if state else None,
                "started": self.now if starting else None, "ended": self.now if done else None,
                "args": Jsonb(args), "facets": Jsonb(facets), "job_facets": Jsonb(job_facets),
                "ns": nominal[0], "ne": nominal[1],
            },
        )  # fmt: skip

    def _run(self, run_uuid, run_id, job, parent, run_facets, job_facets, state) -> None:
        # Stored as Marquez stores them: the nominal times re-written in UTC (LineageEvent's model).
        run_facets = nominal_time_zoned(run_facets)
        nominal = run_facets.get("nominalTime") if isinstance(run_facets.get("nominalTime"), dict) else {}
        nominal_start = _time(nominal.get("nominalStartTime"))
        nominal_end = _time(nominal.get("nominalEndTime"))
        args: dict[str, str] = {}
        if nominal_start:
            args["nominal_start_time"] = _java_zoned(nominal["nominalStartTime"])
            if nominal_end:
                args["nominal_end_time"] = _java_zoned(nominal["nominalEndTime"])
        parent_uuid = None
        if parent:
            args.update(
                run_id=parent["run"]["runId"], name=parent["job"]["name"], namespace=parent["job"].get("namespace")
            )
            parent_uuid = versions.run_uuid(parent["run"]["runId"])
        self._upsert_run(run_uuid, run_id, job["uuid"], parent_uuid, state, args, run_facets, job_facets,
                         (nominal_start, nominal_end))  # fmt: skip

    # -- datasets ---------------------------------------------------------------------------------
    def _dataset(self, ds: dict, run_uuid: uuid.UUID, *, is_input: bool, record: bool = True) -> dict:
        namespace, name = ds["namespace"], ds["name"]
        facets = ds.get("facets") or {}
        self._namespace(namespace)
        # Marquez also makes the namespace's job-style name (OpenLineageDao.upsertLineageDataset
        # upserts both); the dataset stays under the name as written (datasets_view).
        self._namespace(job_namespace(namespace))
        source = self._source(ds)
        lifecycle = _get(facets, "lifecycleStateChange", "lifecycleStateChange") or ""
        description = _get(facets, "documentation", "description")
        # A name another dataset lists among its symlinks is that dataset (Marquez finds the name's
        # dataset_symlinks row first and upserts the dataset it points to: OpenLineageDao.upsertLineageDataset).
        if (namespace, name) in self._seen.aliases:
            key_namespace, key_name = self._seen.aliases[(namespace, name)] or (namespace, name)
        else:
            aliased = self.conn.execute(
                "SELECT d.namespace_name, d.name FROM dataset_symlinks s JOIN datasets d ON d.uuid = s.dataset_uuid"
                " WHERE s.namespace_name = %s AND s.name = %s",
                (namespace, name),
            ).fetchone()
            key_namespace, key_name = (aliased["namespace_name"], aliased["name"]) if aliased else (namespace, name)
        dataset = self.conn.execute(
            "INSERT INTO datasets (uuid, namespace_name, name, physical_name, source_name, description, created_at,"
            " updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)"
            " ON CONFLICT (namespace_name, name) DO UPDATE SET updated_at = EXCLUDED.updated_at,"
            "  description = COALESCE(EXCLUDED.description, datasets.description), is_hidden = FALSE"
            " RETURNING uuid, current_version_uuid",
            (uuid.uuid4(), key_namespace, key_name, key_name, source, description, self.now, self.now),
        ).fetchone()
        self._symlinks(dataset["uuid"], key_namespace, key_name, facets)
        fields = _get(facets, "schema", "fields")
        fields = [f for f in fields if isinstance(f, dict)] if isinstance(fields, list) else None
        # An input's inputFacets (data-quality metrics and assertions) are facets of the dataset
        # version it read, after its dataset facets: Marquez reads a dataset's and a version's
        # facets from its dataset_facets of type DATASET, UNKNOWN and INPUT (DatasetDao,
        # DatasetVersionDao; written by OpenLineageDao.insertInputDatasetFacets).
        input_facets = ds.get("inputFacets") if is_input else None
        version_facets = {**facets, **input_facets} if isinstance(input_facets, dict) else facets
        version_row = None
        if is_input and dataset["current_version_uuid"] is not None:
            version_row = {"uuid": dataset["current_version_uuid"]}
            if version_facets:
                self.conn.execute(
                    "UPDATE dataset_versions SET facets = facets || %s WHERE uuid = %s",
                    (Jsonb(version_facets), version_row["uuid"]),
                )
        if version_row is None:
            version = versions.dataset_version(namespace, source, name, name, fields, lifecycle, run_uuid)
            version_row = self.conn.execute(
                "INSERT INTO dataset_versions (uuid, dataset_uuid, version, created_at, run_uuid, fields,"
                " lifecycle_state, schema_version, facets, namespace_name, name)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
                " ON CONFLICT (version) DO UPDATE SET facets = dataset_versions.facets || EXCLUDED.facets"
                " RETURNING uuid",
                (
                    uuid.uuid4(), dataset["uuid"], version, self.now, None if is_input else run_uuid,
                    Jsonb(_version_fields(fields)), lifecycle, versions.schema_version(namespace, name, fields),
                    Jsonb(version_facets), namespace, name,  # the name written under (a symlink's too)
                ),
            ).fetchone()  # fmt: skip
        if fields:
            self._fields(dataset["uuid"], version_row["uuid"], fields)
        if record and self.event.kind not in (DATASET_EVENT, JOB_EVENT):
            io_facets = ds.get("inputFacets" if is_input else "outputFacets") or {}
            self._run_io.append((run_uuid, version_row["uuid"], is_input, io_facets))
        if is_input and dataset["current_version_uuid"] is None:
            self.conn.execute(
                "UPDATE datasets SET current_version_uuid = %s WHERE uuid = %s", (version_row["uuid"], dataset["uuid"])
            )
        return {
            "dataset_uuid": dataset["uuid"],
            "version_uuid": version_row["uuid"],
            "namespace": namespace,
            "name": name,
        }

    def _symlinks(self, dataset_uuid: uuid.UUID, namespace: str, name: str, facets: dict) -> None:
        """Each identifier of the dataset's `symlinks` facet becomes another name of it, listed and
        read as a dataset of its own, its namespace created (OpenLineageDao.upsertLineageDataset:
        a dataset_symlinks row, is_primary false, per identifier; datasets_view). A name that
        already is a dataset, or another dataset's alias, stays what it is (ON CONFLICT DO NOTHING)."""
        found = _get(facets, "symlinks", "identifiers")
        links: dict[tuple[str, str], str | None] = {}
        for ident in found if isinstance(found, list) else ():
            ns, nm = (ident.get("namespace"), ident.get("name")) if isinstance(ident, dict) else (None, None)
            if not (isinstance(ns, str) and isinstance(nm, str) and ns and nm) or (ns, nm) == (namespace, name):
                continue
            if max(utf8_len(ns), utf8_len(nm)) > MAX_NAME_BYTES:
                continue  # not an index key we can hold; the facet itself is kept on the version
            links[(ns, nm)] = ident["type"] if isinstance(ident.get("type"), str) else None
        if not links:
            return
        for key in links:
            self._seen.aliases.pop(key, None)  # it may be an alias from now on: look it up again
        for ns, _ in links:
            self._namespace(ns)
        self.conn.execute(
            "INSERT INTO dataset_symlinks (namespace_name, name, dataset_uuid, type, created_at)"
            " SELECT u.ns, u.nm, %(ds)s, u.t, %(now)s FROM unnest(%(ns)s::text[], %(nm)s::text[], %(t)s::text[]) AS u(ns, nm, t)"
            " WHERE NOT EXISTS (SELECT 1 FROM datasets d WHERE d.namespace_name = u.ns AND d.name = u.nm)"
            " ON CONFLICT DO NOTHING",
            {
                "ds": dataset_uuid,
                "now": self.now,
                "ns": [k[0] for k in links],
                "nm": [k[1] for k in links],
                "t": list(links.values()),
            },
        )

    def _write_run_io(self) -> None:
        if not self._run_io:
            return
        # A dataset named twice on one side of an event is one row (its facets merged): one
        # INSERT ... ON CONFLICT DO UPDATE cannot touch a row twice.
        merged: dict[tuple, dict] = {}
        for run_uuid, version_uuid, is_input, facets in self._run_io:
            merged.setdefault((run_uuid, version_uuid, is_input), {}).update(facets)
        self._run_io = [(*key, facets) for key, facets in merged.items()]
        self.conn.execute(
            "INSERT INTO run_io (run_uuid, dataset_version_uuid, is_input, facets)"
            " SELECT * FROM unnest(%s::uuid[], %s::uuid[], %s::bool[], %s::jsonb[])"
            " ON CONFLICT (run_uuid, dataset_version_uuid, is_input) DO UPDATE SET facets = run_io.facets || EXCLUDED.facets",
            (
                [r[0] for r in self._run_io],
                [r[1] for r in self._run_io],
                [r[2] for r in self._run_io],
                [Jsonb(r[3]) for r in self._run_io],
            ),
        )

    def _fields(self, dataset_uuid, version_uuid, fields: list[dict]) -> None:
        """Upsert the dataset's fields and map them to the version, in one statement."""
        unique = {f["name"]: f for f in fields}  # a repeated name keeps its last definition
        names = list(unique)
        written = (version_uuid, [(n, _str(unique[n].get("type")), unique[n].get("description")) for n in names])
        if self._seen.fields.get(dataset_uuid) == written:
            return  # the dataset's fields are these already, and mapped to this version
        self._seen.fields[dataset_uuid] = written
        self.conn.execute(
            "WITH incoming AS ("
            "  SELECT * FROM unnest(%(names)s::text[], %(types)s::text[], %(descs)s::text[], %(pos)s::int[])"
            "  AS t(name, type, description, position)),"
            " upserted AS ("
            "  INSERT INTO dataset_fields (uuid, dataset_uuid, name, type, description, position, created_at, updated_at)"
            "  SELECT gen_random_uuid(), %(ds)s, name, type, description, position, %(now)s, %(now)s FROM incoming"
            "  ON CONFLICT (dataset_uuid, name) DO UPDATE SET type = EXCLUDED.type,"
            "   description = COALESCE(EXCLUDED.description, dataset_fields.description), updated_at = EXCLUDED.updated_at"
            "  WHERE (dataset_fields.type, dataset_fields.description)"
            "   IS DISTINCT FROM (EXCLUDED.type, COALESCE(EXCLUDED.description, dataset_fields.description)))"
            " UPDATE dataset_versions SET mapped_fields = ("
            "  SELECT coalesce(jsonb_agg(DISTINCT x), '[]'::jsonb) FROM jsonb_array_elements_text(mapped_fields || %(json)s) AS x)"
            " WHERE uuid = %(version)s AND NOT mapped_fields @> %(json)s",
            {
                "names": names,
                "types": [_str(unique[n].get("type")) for n in names],
                "descs": [unique[n].get("description") for n in names],
                "pos": list(range(len(names))),
                "ds": dataset_uuid,
                "now": self.now,
                "json": Jsonb(names),
                "version": version_uuid,
            },
        )

    # -- job versions -------------------------------------------------------------------------------
    def _job_version_for_run(self, job: dict, run_uuid: uuid.UUID, *, outputs_current: bool = True) -> None:
        """The job version of a finished run. `outputs_current` (a COMPLETE): the run's outputs become
        the datasets' current versions. A FAIL or ABORT leaves them (and `updatedAt`, the event's time
        from the dataset's upsert) as they were: Marquez moves them only on COMPLETE
        (OpenLineageService.createAsync -> buildJobOutput; JobVersionDao.upsertJobVersionOnRunTransition
        links the job version for every finished run)."""
        inputs, outputs = self._run_datasets(run_uuid)
        self._job_version(job, inputs, outputs, latest_run=run_uuid)
        if not outputs_current:
            return
        self._outputs_current(run_uuid)

    def _run_datasets(self, run_uuid: uuid.UUID) -> tuple[list[dict], list[dict]]:
        """The datasets a run read and wrote so far: (inputs, outputs).

        Not prepared (`prepare=False`, planned at each call), like `_outputs_current`: a prepared
        join keeps the generic plan Postgres made while the tables were nearly empty (a fresh
        database: scans), until autovacuum analyses them, minutes later under load. Measured on a
        10,000-event backlog: each call went from 0.2 ms to 4.5 ms as the tables grew; planned at
        each call it stays at 0.05 ms, and the drain took 30-33 s instead of 43-48 s."""
        rows = self.conn.execute(
            "SELECT DISTINCT d.uuid AS dataset_uuid, d.namespace_name AS namespace, d.name, io.is_input"
            " FROM run_io io JOIN dataset_versions v ON v.uuid = io.dataset_version_uuid"
            " JOIN datasets d ON d.uuid = v.dataset_uuid WHERE io.run_uuid = %s",
            (run_uuid,),
            prepare=False,
        ).fetchall()
        inputs = [r for r in rows if r["is_input"]]
        outputs = [r for r in rows if not r["is_input"]]
        return inputs, outputs

    def _outputs_current(self, run_uuid: uuid.UUID) -> None:
        """The run's latest output versions become the datasets' current versions."""
        self.conn.execute(
            # updated_at is the server's clock here, as in Marquez (OpenLineageService.buildJobOutput;
            # search sorts by it).
            "UPDATE datasets d SET current_version_uuid = latest.uuid, updated_at = GREATEST(d.updated_at, now())"
            " FROM (SELECT DISTINCT ON (v.dataset_uuid) v.dataset_uuid, v.uuid FROM run_io io"
            "   JOIN dataset_versions v ON v.uuid = io.dataset_version_uuid"
            "   WHERE io.run_uuid = %s AND NOT io.is_input ORDER BY v.dataset_uuid, io.seq DESC) latest"
            " WHERE d.uuid = latest.dataset_uuid",
            (run_uuid,),
            prepare=False,
        )

    def _unlink_sides_not_named(self, job: dict, streaming: bool) -> None:
        """A run event naming no input (no output) takes the job's inputs (outputs) out of /lineage
        until a job version names them again: Marquez marks them no longer current
        (OpenLineageDao.updateBaseMarquezModel -> JobVersionDao.markInputOrOutputDatasetAsPreviousFor;
        LineageDao walks only current ones), except for a streaming job's COMPLETE or FAIL naming
        no dataset (LineageEvent.isTerminalEventForStreamingJobWithNoDatasets)."""
        raw = self.raw
        terminal = str(raw.get("eventType") or "").upper() in ("COMPLETE", "FAIL")
        if streaming and terminal and not raw.get("inputs") and not raw.get("outputs"):
            return
        sides = [is_input for is_input, key in ((True, "inputs"), (False, "outputs")) if not raw.get(key)]
        if sides:
            self.conn.execute("DELETE FROM job_io WHERE job_uuid = %s AND is_input = ANY(%s)", (job["uuid"], sides))

    def _streaming_job_version(self, job: dict, run_uuid: uuid.UUID) -> None:
        """A streaming job (jobType processingType STREAMING) as Marquez 0.51.1 applies its events
        (OpenLineageDao.updateMarquezOnStreamingJob): any event, START included, makes the job
        version of the run's inputs and outputs so far when that version does not exist yet (the
        job's current version, linked to the run); a COMPLETE or FAIL naming no dataset changes
        nothing. Every event with a type then makes the run's outputs the datasets' current
        versions, as a batch job's COMPLETE does (OpenLineageService.createAsync)."""
        raw = self.raw
        terminal = str(raw.get("eventType") or "").upper() in ("COMPLETE", "FAIL")
        if not (terminal and not raw.get("inputs") and not raw.get("outputs")):
            inputs, outputs = self._run_datasets(run_uuid)
            version = _version_of(job, inputs, outputs)
            if self.conn.execute("SELECT 1 FROM job_versions WHERE version = %s", (version,)).fetchone() is None:
                self._job_version(job, inputs, outputs, latest_run=run_uuid)
        if raw.get("eventType") is not None:
            self._outputs_current(run_uuid)

    def _job_version(self, job: dict, inputs: list[dict], outputs: list[dict], latest_run) -> None:
        """The job version of these datasets becomes the job's current one (and `latest_run`'s), its
        datasets the job's edges. One statement, whose answer nobody waits for: the projector's
        pipeline goes on."""
        edges = [(d, True) for d in {d["dataset_uuid"] for d in inputs}]
        edges += [(d, False) for d in {d["dataset_uuid"] for d in outputs}]
        ids = lambda ds: Jsonb(sorted({(d["namespace"], d["name"]) for d in ds}))  # noqa: E731
        self.conn.execute(
            "WITH version AS ("
            "  INSERT INTO job_versions (uuid, job_uuid, version, location, created_at, updated_at, latest_run_uuid,"
            "  inputs, outputs) VALUES (%(uuid)s, %(job)s, %(version)s, %(location)s, %(now)s, %(now)s, %(run)s,"
            "  %(inputs)s, %(outputs)s)"
            "  ON CONFLICT (version) DO UPDATE SET updated_at = EXCLUDED.updated_at,"
            "   latest_run_uuid = COALESCE(EXCLUDED.latest_run_uuid, job_versions.latest_run_uuid)"
            "  RETURNING uuid),"
            " current AS (UPDATE jobs SET current_version_uuid = (SELECT uuid FROM version) WHERE uuid = %(job)s),"
            " run AS (UPDATE runs SET job_version_uuid = (SELECT uuid FROM version) WHERE uuid = %(run)s),"
            " edges AS (SELECT * FROM unnest(%(ds)s::uuid[], %(side)s::bool[]) AS e(dataset_uuid, is_input)),"
            # The job's edges become the version's: the others go, the new ones come (the two sets
            # are disjoint, so one statement can do both).
            " gone AS (DELETE FROM job_io io WHERE io.job_uuid = %(job)s AND NOT EXISTS"
            "  (SELECT 1 FROM edges e WHERE e.dataset_uuid = io.dataset_uuid AND e.is_input = io.is_input))"
            " INSERT INTO job_io (job_uuid, dataset_uuid, is_input) SELECT %(job)s, * FROM edges ON CONFLICT DO NOTHING",
            {
                "uuid": uuid.uuid4(),
                "job": job["uuid"],
                "version": _version_of(job, inputs, outputs),
                "location": job["location"],
                "now": self.now,
                "run": latest_run,
                "inputs": ids(inputs),
                "outputs": ids(outputs),
                "ds": [e[0] for e in edges],
                "side": [e[1] for e in edges],
            },
        )


def _streaming(job_doc: dict) -> bool:
    """Marquez's LineageEvent.Job.isStreamingJob(): the jobType facet's processingType is STREAMING."""
    processing = _get(job_doc.get("facets") or {}, "jobType", "processingType")
    return isinstance(processing, str) and processing.upper() == "STREAMING"


_NOT_IN_NAMESPACE = re.compile(r"[^a-z:/A-Z0-9\-_.@+]")


def job_namespace(name: str) -> str:
    """The namespace a job is filed under: each character Marquez does not allow in one (anything but
    letters, digits and `:/-_.@+`) becomes `_` (OpenLineageDao.formatNamespaceName)."""
    return _NOT_IN_NAMESPACE.sub("_", name)


def _parent_job_name(named: str, job: str) -> str:
    """The parent job a parent facet means. A facet naming the job itself (`a.b` as the parent of
    `a.b`, as some schedulers write it) means the name up to its last dot (`a`): Marquez's
    OpenLineageDao.findParentJobRow with Utils.parseParentJobName."""
    return named.rsplit(".", 1)[0] if named == job else named


def _version_of(job: dict, inputs: list[dict], outputs: list[dict]) -> uuid.UUID:
    """The job version's identity: the job, its location and the datasets it read and wrote."""
    return versions.job_version(
        job["namespace_name"],
        job["name"],
        [(d["namespace"], d["name"]) for d in inputs],
        [(d["namespace"], d["name"]) for d in outputs],
        job["location"],
    )


def _get(facets: dict, facet: str, key: str) -> Any:
    value = facets.get(facet)
    return value.get(key) if isinstance(value, dict) else None


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


def _version_fields(fields: list[dict] | None) -> list[dict]:
    return [{"name": f["name"], "type": _str(f.get("type")), "description": f.get("description")} for f in fields or []]


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    from marquez.model.events import parse_time

    return parse_time(value, "nominalTime")


def _java_zoned(text: str) -> str:
    """The timestamp as Java's ZonedDateTime.toString() writes it (Marquez stores run args that way,
    OpenLineageDao.createRunArgs): in UTC (Marquez reads event times into its UTC context zone),
    seconds only when non-zero, the fraction in groups of three digits, 'Z'."""
    value = dt.datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    out = minutes(value)
    if value.second or value.microsecond:
        out += value.strftime(":%S")
        if value.microsecond:
            micros = value.microsecond
            out += f".{micros // 1000:03d}" if micros % 1000 == 0 else f".{micros:06d}"
    return out + "Z"

"""Search, the raw event log, statistics and tags."""

from __future__ import annotations

import datetime as dt

import psycopg

from marquez.api.call import Call
from marquez.api.routing import ApiError, Router, int_param
from marquez.model import json as js
from marquez.model.events import EventError, parse_time
from marquez.api.tagging import upsert_tag

SEARCH_FILTERS = {"DATASET", "JOB"}
SEARCH_SORTS = {"NAME": "name", "UPDATE_AT": "updated_at DESC"}


def _time_param(call: Call, name: str) -> dt.datetime | None:
    value = call.query.get(name)
    if not value:
        return None
    try:
        return parse_time(value, f"query param {name}")
    except EventError as exc:
        raise ApiError(400, exc.errors[0]) from None


def register(router: Router) -> None:
    @router.get("search")
    def search(call: Call):
        q = call.query.get("q")
        if not q:
            raise ApiError(400, ["query param q must not be null"])
        kind = (call.query.get("filter") or "").upper() or None
        if kind and kind not in SEARCH_FILTERS:
            raise ApiError(400, f"query param filter must be DATASET or JOB, got {kind!r}")
        sort = SEARCH_SORTS.get((call.query.get("sort") or "UPDATE_AT").upper())
        if sort is None:
            raise ApiError(400, "query param sort must be NAME or UPDATE_AT")
        limit = int_param(call.query, "limit", 10, 0, 1000)
        namespace = call.query.get("namespace")
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        parts, params = [], []
        if kind in (None, "DATASET"):
            parts.append(
                "SELECT 'DATASET' AS type, name, updated_at, namespace_name, 'DATASET' || ':' || namespace_name || ':' || name"
                " AS node FROM datasets WHERE NOT is_hidden AND name ILIKE %s" + (" AND namespace_name = %s" if namespace else "")
            )
            params += [pattern] + ([namespace] if namespace else [])
        if kind in (None, "JOB"):
            parts.append(
                "SELECT 'JOB' AS type, name, updated_at, namespace_name, 'JOB' || ':' || namespace_name || ':' || name"
                " AS node FROM jobs WHERE NOT is_hidden AND name ILIKE %s" + (" AND namespace_name = %s" if namespace else "")
            )
            params += [pattern] + ([namespace] if namespace else [])
        sql = " UNION ALL ".join(parts) + f" ORDER BY {sort} LIMIT %s"
        with call.read() as conn:
            rows = conn.execute(sql, (*params, limit)).fetchall()
        results = [
            {
                "type": r["type"],
                "name": r["name"],
                "updatedAt": js.instant(r["updated_at"]),
                "namespace": r["namespace_name"],
                "nodeId": f"{r['type'].lower()}:{r['namespace_name']}:{r['name']}",
            }
            for r in rows
        ]
        return {"totalCount": len(results), "results": results}

    @router.get("events/lineage")
    def events(call: Call):
        after, before = _time_param(call, "after"), _time_param(call, "before")
        direction = (call.query.get("sortDirection") or "desc").lower()
        if direction not in ("asc", "desc"):
            raise ApiError(400, "query param sortDirection must be asc or desc")
        limit = int_param(call.query, "limit", 100, 0, 10000)
        offset = int_param(call.query, "offset", 0, 0)
        where, params = ["TRUE"], []
        if after:
            where.append("event_time >= %s")
            params.append(after)
        if before:
            where.append("event_time <= %s")
            params.append(before)
        clause = " AND ".join(where)
        with call.read() as conn:
            rows = conn.execute(
                f"SELECT event, event_time FROM lineage_events WHERE {clause} ORDER BY event_time {direction}, id {direction}"
                " LIMIT %s OFFSET %s",
                (*params, limit, offset),
            ).fetchall()
            total = conn.execute(f"SELECT count(*) AS n FROM lineage_events WHERE {clause}", params).fetchone()["n"]
        return {"events": [js.lineage_event(r["event"], r["event_time"]) for r in rows], "totalCount": total}

    @router.get("stats/{kind}")
    def stats(call: Call):
        kind = call.params["kind"]
        period = (call.query.get("period") or "DAY").upper()
        if period not in ("DAY", "WEEK"):
            raise ApiError(400, "query param period must be DAY or WEEK")
        table = {"lineage-events": "lineage_events", "jobs": "jobs", "datasets": "datasets", "sources": "sources"}.get(kind)
        if table is None:
            raise ApiError(404, "HTTP 404 Not Found")
        tz = call.query.get("timezone") or "UTC"
        # DAY: the last 24 hours by hour; WEEK: the last 7 days by day (in the caller's time zone).
        step, count = ("hour", 24) if period == "DAY" else ("day", 7)
        buckets = (
            f"generate_series(date_trunc('{step}', now() AT TIME ZONE %(tz)s) - interval '{count - 1} {step}s',"
            f" date_trunc('{step}', now() AT TIME ZONE %(tz)s), interval '1 {step}') AS b"
        )
        if table == "lineage_events":
            # As Marquez: per interval, the events of each terminal/start type.
            counts = ", ".join(
                f"(SELECT count(*) FROM lineage_events e WHERE upper(e.event_type) = '{t}'"
                f" AND date_trunc('{step}', e.event_time AT TIME ZONE %(tz)s) = b) AS {t.lower()}"
                for t in ("FAIL", "START", "COMPLETE", "ABORT")
            )
        else:
            counts = f"(SELECT count(*) FROM {table} t WHERE (t.created_at AT TIME ZONE %(tz)s) < b + interval '1 {step}') AS count"
        with call.read() as conn:
            try:
                rows = conn.execute(f"SELECT b AS interval_start, b + interval '1 {step}' AS interval_end, {counts} FROM {buckets}", {"tz": tz}).fetchall()
            except psycopg.errors.InvalidParameterValue:
                raise ApiError(400, f"unknown time zone {tz!r}") from None
        out = []
        for r in rows:
            item = {"startInterval": js.instant(r.pop("interval_start").replace(tzinfo=dt.timezone.utc)),
                    "endInterval": js.instant(r.pop("interval_end").replace(tzinfo=dt.timezone.utc))}  # fmt: skip
            item.update(r)
            out.append(item)
        return out

    # -- tags ----------------------------------------------------------------------------------
    @router.get("tags")
    def tags(call: Call):
        limit, offset = int_param(call.query, "limit", 100, 0, 1000), int_param(call.query, "offset", 0, 0)
        with call.read() as conn:
            rows = conn.execute("SELECT * FROM tags ORDER BY name LIMIT %s OFFSET %s", (limit, offset)).fetchall()
        return {"tags": [{"name": r["name"], "description": r["description"]} for r in rows]}

    @router.put("tags/{tag}")
    def put_tag(call: Call):
        import orjson

        description = None
        if call.body.strip():
            try:
                description = (orjson.loads(call.body) or {}).get("description")
            except (orjson.JSONDecodeError, AttributeError):
                raise ApiError(400, "the body must be a JSON object like {\"description\": \"...\"}") from None
        with call.write() as conn:
            upsert_tag(conn, call.params["tag"], description)
        return {"name": call.params["tag"], "description": description}

"""The ASGI application: the Marquez v1 API under /api/v1, /healthcheck and /metrics."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import orjson
import psycopg
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import PoolTimeout
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from marquez import limits
from marquez.api import (
    datasets,
    events,
    graph,
    ingest,
    jobs,
    legacy,
    namespaces,
    projection_errors,
    runlineage,
    runs,
    search,
    sources,
    stats,
    tags,
)
from marquez.api.encoding import decoder_for
from marquez.api.errors import ApiError, from_service
from marquez.api.request import ApiRequest
from marquez.api.routing import Router
from marquez.backpressure import Backlog
from marquez.config import ServerConfig
from marquez.metrics import Metrics
from marquez.service.errors import ServiceError
from marquez.storage import projection_errors as stored_errors
from marquez.storage.db import open_pool
from marquez.storage.migrations import migrate
from marquez.storage.projector import ProjectorProcess, pending
from marquez.storage.session import READ_STATE, Store

API_PREFIX = "/api/v1"
log = logging.getLogger("marquez")


def build_router() -> Router:
    router = Router()
    # One module per resource; the order does not matter (a path matches one route per method).
    for module in (
        ingest,
        namespaces,
        sources,
        datasets,
        jobs,
        runs,
        graph,
        runlineage,
        search,
        events,
        stats,
        tags,
        projection_errors,
        legacy,
    ):
        module.register(router)
    return router


def _json(body, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


RETRY_AFTER_S = 1
UNAPPLIED_HEADER = "X-Marquez-Unapplied-Events"


def database_unavailable(exc: BaseException) -> bool:
    """The store cannot be reached now (down, restarting, connection lost, no connection free in
    time), as opposed to a statement that failed: the client should come back (503)."""
    if isinstance(exc, (PoolTimeout, psycopg.InterfaceError)):
        return True
    if isinstance(exc, psycopg.OperationalError):
        state = getattr(exc, "sqlstate", None)
        return state is None or state.startswith("08") or state.startswith("57P")
    return False


def unavailable_response(exc: BaseException) -> Response:
    body = {"code": 503, "message": f"the database is unavailable; retry in {RETRY_AFTER_S} s ({type(exc).__name__})"}
    return Response(
        orjson.dumps(body), status_code=503, media_type="application/json", headers={"Retry-After": str(RETRY_AFTER_S)}
    )


def check_text(params: dict[str, str], query) -> None:
    """No NUL character in a path segment or query parameter: Postgres cannot take one."""
    for name, value in params.items():
        if "\x00" in value:
            raise ApiError(400, f"the path's {name} contains a NUL character (%00)")
    for name, value in query.multi_items():
        if "\x00" in name or "\x00" in value:
            raise ApiError(400, f"query param {name.replace(chr(0), '%00')!r} contains a NUL character (%00)")


JSON_TYPES = ("application/json",)
WRITES = ("POST", "PUT", "DELETE")


def _host_name(value: str) -> str:
    """`Host` or an Origin's netloc without the port, lower-case (`[::1]:5555` -> `::1`)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))


class HostGuard:
    """Answer only requests whose Host is allowed (a DNS-rebinding page names its own host)."""

    def __init__(self, app, hosts: frozenset[str]):
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and "*" not in self.hosts:
            host = dict(scope.get("headers") or []).get(b"host")
            if host is not None and _host_name(host.decode("latin-1")) not in self.hosts:
                body = orjson.dumps(
                    {"code": 421, "message": "this server does not answer for that Host (MARQUEZ_ALLOWED_HOSTS)"}
                )
                await send(
                    {
                        "type": "http.response.start",
                        "status": 421,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def check_write(request: Request, hosts: frozenset[str]) -> None:
    """A write from a browser's reach: a foreign page may send a simple POST (text/plain, no
    preflight) with the user's network position; refuse any write a foreign Origin makes, and
    any POST/PUT whose body is not declared JSON (which a page cannot send without a preflight).
    A write without a body (tagging, as Marquez's own client sends it) needs no content type."""
    origin = request.headers.get("origin")
    if origin is not None and "*" not in hosts:
        name = _host_name(urlsplit(origin).netloc) if origin != "null" else "null"
        if name not in hosts:
            raise ApiError(403, f"writes from Origin {origin[:100]!r} are refused (MARQUEZ_ALLOWED_HOSTS)")
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise ApiError(403, "cross-site writes are refused")
    has_body = request.headers.get("content-length", "0").strip() != "0" or "transfer-encoding" in request.headers
    if request.method in ("POST", "PUT") and has_body and not is_json(request.headers.get("content-type", "")):
        raise ApiError(415, "writes need `Content-Type: application/json`")


def create_app(config: ServerConfig) -> HostGuard:
    router = build_router()
    hosts = config.hosts()
    metrics = Metrics()
    state: dict = {}

    @asynccontextmanager
    async def lifespan(app):
        await run_in_threadpool(migrate, config.db_url)
        state["pool"] = await run_in_threadpool(open_pool, config.db_url, config.pool_size, config.synchronous_commit)
        state["store"] = Store(state["pool"], config.read_wait_s)
        state["backlog"] = Backlog(state["pool"], config.max_pending_events, limits.BACKPRESSURE_MAX_WAIT_S)
        projector = ProjectorProcess(config.db_url) if config.run_projector else None
        if projector:
            projector.start()
        try:
            yield
        finally:
            if projector:
                await run_in_threadpool(projector.stop)
            state["pool"].close()

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > config.max_body_bytes:
            raise ApiError(413, f"request body over {config.max_body_bytes} bytes")
        # A gzip body (the OpenLineage clients' `compression: gzip`) is inflated as it arrives, the
        # cap applying to the decompressed size too; another encoding is refused (415).
        gzipped = decoder_for(request.headers.get("content-encoding"), config.max_body_bytes)
        chunks, size = [], 0
        try:
            async with asyncio.timeout(config.body_timeout_s):  # a stalled upload is dropped
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > config.max_body_bytes:
                        raise ApiError(413, f"request body over {config.max_body_bytes} bytes")
                    if gzipped is not None:
                        gzipped.feed(chunk)
                    else:
                        chunks.append(chunk)
        except TimeoutError:
            raise ApiError(408, f"the request body did not arrive within {config.body_timeout_s:g} s") from None
        body = gzipped.finish() if gzipped is not None else b"".join(chunks)
        metrics.bodies.labels("gzip" if gzipped is not None else "identity").inc()
        return body

    def authorised(request: Request) -> bool:
        if not config.api_key:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        # Bytes, not str: compare_digest refuses non-ASCII text (a TypeError, once a 500).
        expected = config.api_key.encode("utf-8")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode("utf-8", "surrogateescape"), expected
        )

    async def api(request: Request) -> Response:
        started = time.perf_counter()
        read_state: dict = {}
        try:
            if not authorised(request):
                raise ApiError(401, "missing or wrong API key: send `Authorization: Bearer <key>`")
            if request.method in WRITES:
                check_write(request, hosts)
            handler, params = router.resolve(request, API_PREFIX)
            check_text(params, request.query_params)
            body = await read_body(request) if request.method in ("POST", "PUT") else b""
            req = ApiRequest(
                params=params,
                query=request.query_params,
                body=body,
                store=state["store"],
                max_future_s=config.max_future_s,
            )
            token = READ_STATE.set(read_state)  # the handler's thread sees this dict
            try:
                result = await run_in_threadpool(handler, req)
            finally:
                READ_STATE.reset(token)
            response = result if isinstance(result, Response) else _json(result)
        except ApiError as exc:
            response = _json(exc.body(), exc.status)
        except ServiceError as exc:  # what the service layer refuses (not found, invalid), as HTTP
            error = from_service(exc)
            response = _json(error.body(), error.status)
        except ClientDisconnect:
            response = Response(status_code=499)
        except Exception as exc:  # an answer for the client, the traceback for the operator
            if database_unavailable(exc):
                log.warning("database unavailable answering %s %s: %s", request.method, request.url.path, exc)
                response = unavailable_response(exc)
            else:
                log.exception("error answering %s %s", request.method, request.url.path)
                response = _json({"code": 500, "message": "internal error; see the server log"}, 500)
        if read_state.get("unapplied"):
            # Answered (a 404 too) before all the events it waited for were applied (the wait ran out).
            response.headers[UNAPPLIED_HEADER] = str(read_state["unapplied"])
        path = request.url.path.rstrip("/")
        if request.method == "POST" and path.endswith(("/lineage", "/lineage/batch")) and response.status_code < 300:
            # Stored; acknowledged once the projector is not too far behind (marquez.backpressure).
            # A batch may have stored up to MAX_BATCH events: the backlog is counted then.
            held = await state["backlog"].hold(1 if path.endswith("/lineage") else limits.MAX_BATCH)
            if held:
                metrics.held.observe(held)
        if path.endswith("/lineage") and request.method == "POST":
            metrics.events.labels("accepted" if response.status_code < 300 else "rejected").inc()
        metrics.requests.labels(request.method, str(response.status_code)).inc()
        metrics.latency.labels(request.method).observe(time.perf_counter() - started)
        return response

    def projection_state() -> tuple[int, int]:
        """(events waiting for the projector, events it could not apply)."""
        with state["pool"].connection() as conn:
            return pending(conn), stored_errors.count(conn)

    async def healthcheck(request: Request) -> Response:
        try:
            waiting, failed = await run_in_threadpool(projection_state)
        except Exception as exc:  # the store is down: say so, do not pretend
            return JSONResponse(
                {"healthy": False, "message": f"database unreachable: {exc}"},
                status_code=503,
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
        body = {
            "healthy": not failed,
            "status": "degraded" if failed else "ok",
            "pendingEvents": waiting,
            "projectionErrors": failed,
        }
        if failed:
            # Still serving (200), but acknowledged events are missing from the model: say so.
            body["message"] = (
                f"{failed} acknowledged events could not be applied to the model: GET {API_PREFIX}/projection-errors"
            )
        return JSONResponse(body)

    async def prometheus(request: Request) -> Response:
        try:
            waiting, failed = await run_in_threadpool(projection_state)
            metrics.pending.set(waiting)
            metrics.projection_errors.set(failed)
        except Exception:  # the store is down: the request metrics still answer
            pass
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def http_error(request: Request, exc: Exception) -> Response:
        # Unknown routes and methods answer in Marquez's JSON error shape too.
        assert isinstance(exc, HTTPException)  # the only exception this handles
        return _json({"code": exc.status_code, "message": f"HTTP {exc.status_code} {exc.detail}"}, exc.status_code)

    methods = ["GET", "POST", "PUT", "DELETE"]
    return HostGuard(
        Starlette(
            exception_handlers={HTTPException: http_error},
            routes=[
                Route("/healthcheck", healthcheck, methods=["GET"]),
                Route("/metrics", prometheus, methods=["GET"]),
                Route(API_PREFIX + "/{rest:path}", api, methods=methods),
            ],
            lifespan=lifespan,
        ),
        hosts,
    )

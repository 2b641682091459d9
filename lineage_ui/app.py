"""The lineage UI's server: the built single-page app, `/api/v1/*` proxied same-origin to the
configured Marquez (read-only), and the last `lineage diff` report.

    GET /api/v1/...          -> <Marquez>/api/v1/... (path and query as sent; Bearer MARQUEZ_API_KEY added);
                                502 with what to run when no Marquez answers, 503 with what it usually means
                                when it answers 5xx (its database down)
    GET /lineage-ui/config   -> which Marquez, where the drift report is read from
    GET /lineage-ui/drift    -> the report (JSON, version 1), or 404 with what to run
    GET /healthz             -> 200 "ok"
    GET /anything/else       -> index.html (the app routes in the browser), assets from ui/dist
"""

from __future__ import annotations

import json

import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from lakehouse_core.marquez import MarquezHttp
from lineage_ui.config import UiConfig

# Headers of Marquez's answer worth passing on; hop-by-hop ones and lengths are recomputed.
_PASS_HEADERS = ("content-type", "cache-control", "etag", "last-modified")


def create_app(config: UiConfig) -> Starlette:
    http = MarquezHttp(config.marquez, user_agent="lakehouse-lineage-ui", timeout=(3, 120))
    dist = config.dist_dir
    index = dist / "index.html"

    def proxy(request: Request) -> Response:
        # The raw path keeps names' %2F and %3A encoded, as Marquez expects them.
        raw_path = request.scope.get("raw_path", request.url.path.encode()).decode("latin-1")
        query = request.url.query
        try:
            upstream = http.get(raw_path + (f"?{query}" if query else ""))
        except requests.RequestException as exc:
            return JSONResponse(
                {
                    "error": f"Marquez unreachable at {config.marquez.url} ({config.marquez.source}): {exc.__class__.__name__}",
                    "hint": "start it with `lakehouse up` (built-in server) or correct MARQUEZ_URL, then reload",
                },
                status_code=502,
            )
        if upstream.status_code >= 500:
            return _explain_server_error(config, upstream)
        headers = {k: v for k, v in upstream.headers.items() if k.lower() in _PASS_HEADERS}
        return Response(upstream.content, status_code=upstream.status_code, headers=headers)

    def ui_config(request: Request) -> Response:
        return JSONResponse(
            {
                "marquez": config.marquez.url,
                "marquezKind": config.marquez.kind,
                "driftReport": str(config.drift_report),
            }
        )

    def drift(request: Request) -> Response:
        path = config.drift_report
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return JSONResponse(
                {"error": f"no drift report yet at {path}", "hint": "run `lineage diff` to write one"},
                status_code=404,
            )
        except OSError as exc:
            return JSONResponse({"error": f"cannot read the drift report {path}: {exc}"}, status_code=500)
        try:
            report = json.loads(text)
        except ValueError as exc:
            return JSONResponse(
                {"error": f"the drift report {path} is not valid JSON ({exc})", "hint": "run `lineage diff` again"},
                status_code=500,
            )
        if not isinstance(report, dict) or report.get("version") != 1 or not isinstance(report.get("drifts"), list):
            return JSONResponse(
                {
                    "error": f"the drift report {path} is not a version 1 `lineage diff` JSON report",
                    "hint": "run `lineage diff` from this project again",
                },
                status_code=500,
            )
        return JSONResponse(report, headers={"Cache-Control": "no-store"})

    def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    def spa(request: Request) -> Response:
        if not index.exists():
            return PlainTextResponse(
                f"The lineage UI is not built ({index} is missing): run `make ui` (or `make demo`) in the repository.",
                status_code=503,
            )
        # The app shell is tiny and must follow a rebuild at once; the hashed assets are cached.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    routes: list[BaseRoute] = [
        Route("/api/v1/{rest:path}", proxy, methods=["GET"]),
        Route("/lineage-ui/config", ui_config, methods=["GET"]),
        Route("/lineage-ui/drift", drift, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
    ]
    # check_dir=False: a build made after the server started is served too.
    routes.append(Mount("/assets", app=_ImmutableStatic(directory=dist / "assets", check_dir=False), name="assets"))
    routes.append(Route("/{path:path}", spa, methods=["GET"]))
    return Starlette(routes=routes)


def _explain_server_error(config: UiConfig, upstream: requests.Response) -> Response:
    """Marquez answered 5xx: say what that usually means and what to run, keeping its own words."""
    said = upstream.text.strip()[:300] or upstream.reason or ""
    if config.marquez.kind == "builtin":
        hint = (
            "the built-in server is up but cannot answer: its database is probably down. Run `lakehouse up` "
            "(it starts Postgres and Marquez), or see data/logs/marquez.log"
        )
    else:
        hint = f"the Marquez at {config.marquez.url} (MARQUEZ_URL) is up but failing: check its database and its log"
    return JSONResponse(
        {"error": f"Marquez answered {upstream.status_code} ({said})", "hint": hint},
        status_code=503,
    )


class _ImmutableStatic(StaticFiles):
    """Vite names assets by content hash: a browser may keep them forever."""

    def file_response(self, *args, **kwargs) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response

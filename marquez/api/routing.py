"""Routing on the raw (still percent-encoded) path.

Marquez names contain '/' and ':' (`postgres://host:5432`, `landing/readings`), sent encoded as
%2F; a router that matches the decoded path would split them. So each route is a tuple of
segments, matched against the raw path split on '/', and each segment is decoded on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from starlette.requests import Request

from marquez.api.errors import ApiError


@dataclass(frozen=True)
class Route:
    method: str
    segments: tuple[str, ...]
    handler: Callable

    def match(self, method: str, parts: list[str]) -> dict | None:
        if method != self.method or len(parts) != len(self.segments):
            return None
        params = {}
        for pattern, part in zip(self.segments, parts):
            if pattern.startswith("{"):
                params[pattern[1:-1]] = unquote(part)
            elif pattern != part:
                return None
        return params


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, path: str, handler: Callable) -> None:
        self.routes.append(Route(method, tuple(path.strip("/").split("/")), handler))

    def _route(self, method: str, path: str) -> Callable[[Callable], Callable]:
        def register(fn: Callable) -> Callable:
            self.add(method, path, fn)
            return fn

        return register

    def get(self, path: str) -> Callable[[Callable], Callable]:
        return self._route("GET", path)

    def post(self, path: str) -> Callable[[Callable], Callable]:
        return self._route("POST", path)

    def put(self, path: str) -> Callable[[Callable], Callable]:
        return self._route("PUT", path)

    def delete(self, path: str) -> Callable[[Callable], Callable]:
        return self._route("DELETE", path)

    def resolve(self, request: Request, prefix: str) -> tuple[Callable, dict]:
        raw = request.scope.get("raw_path") or request.url.path.encode()
        path = raw.decode("latin-1").split("?", 1)[0]
        parts = path[len(prefix) :].strip("/").split("/")
        allowed = False
        for route in self.routes:
            params = route.match(request.method, parts)
            if params is not None:
                return route.handler, params
            if route.match(route.method, parts) is not None:
                allowed = True
        if allowed:
            raise ApiError(405, "HTTP 405 Method Not Allowed")
        raise ApiError(404, "HTTP 404 Not Found")

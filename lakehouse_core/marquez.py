"""Which Marquez the product talks to, and the one HTTP client every part of it uses to talk.

    MARQUEZ_URL set   -> that server ("external"). The project starts nothing.
    otherwise         -> the built-in server at http://127.0.0.1:${MARQUEZ_PORT:-5555} ("builtin").

Delivery, `lineage diff`, the lineage UI's proxy and the CLI all call `resolve()` and talk through
`MarquezHttp`: one place sets the API key, the timeouts, the connection pool, and the rule that a
Marquez on this machine is never reached through an HTTP proxy from the environment. None of them
needs to know which kind of Marquez it got.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from lakehouse_core.settings import Settings, get_settings

BUILTIN_HOST = "127.0.0.1"
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
# Short by default: delivery has a budget of seconds and its loop would rather retry.
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 10.0

Kind = Literal["external", "builtin"]


@dataclass(frozen=True)
class MarquezTarget:
    url: str  # base URL, without a trailing slash and without /api/v1
    kind: Kind
    # Sent as `Authorization: Bearer <key>` (MARQUEZ_API_KEY). Only servers that ask for it need it.
    api_key: str | None = field(default=None, repr=False)

    @property
    def port(self) -> int:
        parts = urlsplit(self.url)
        return parts.port or (443 if parts.scheme == "https" else 80)

    @property
    def source(self) -> str:
        """Where the choice came from, for messages."""
        return "MARQUEZ_URL" if self.kind == "external" else "built-in server"

    @property
    def is_local(self) -> bool:
        return urlsplit(self.url).hostname in LOOPBACK


def resolve(url: str | None = None, settings: Settings | None = None) -> MarquezTarget:
    """`url` (a --url flag), else MARQUEZ_URL, else the built-in server on 127.0.0.1:MARQUEZ_PORT.
    ValueError naming the variable when it is unusable."""
    settings = settings or get_settings()
    chosen = (url or settings.marquez_url or "").strip()
    if chosen:
        return MarquezTarget(_check_url(chosen), "external", settings.marquez_api_key)
    return MarquezTarget(f"http://{BUILTIN_HOST}:{settings.builtin_marquez_port}", "builtin", settings.marquez_api_key)


def _check_url(url: str) -> str:
    url = url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"MARQUEZ_URL must look like http://host:5000, got {url!r}")
    if parts.path.rstrip("/").endswith("/api/v1"):
        raise ValueError(f"MARQUEZ_URL is the server's base URL (http://host:5000), without /api/v1: got {url!r}")
    return url


class MarquezHttp:
    """One keep-alive session to one Marquez. Thread-safe for GETs (requests' pool); callers that
    post in order keep one per thread.

    `retries=0` by default: the delivery loop decides when to try again, and urllib3 must not
    retry behind its back. `user_agent` names the caller in the server's log.
    """

    def __init__(
        self,
        target: MarquezTarget,
        *,
        user_agent: str = "lakehouse",
        pool: int = 10,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.trust_env = not target.is_local
        self.session.headers.update({"Accept": "application/json", "User-Agent": user_agent})
        if target.api_key:
            self.session.headers["Authorization"] = f"Bearer {target.api_key}"

    def url(self, path: str) -> str:
        """`path` under the server's base URL; `path` starts with `/` and is sent as written
        (names keep their %2F / %3A encoding)."""
        return self.target.url + path

    def get(self, path: str, *, params: Any = None, timeout: tuple[float, float] | None = None) -> requests.Response:
        return self.session.get(self.url(path), params=params, timeout=timeout or self.timeout)

    def post(self, path: str, body: bytes, *, timeout: tuple[float, float] | None = None) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        return self.session.post(self.url(path), data=body, headers=headers, timeout=timeout or self.timeout)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> MarquezHttp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def answers(self, timeout_s: float = 2.0) -> bool:
        """True when a Marquez answers here.

        Tries `GET /healthcheck` first (the built-in server answers it on its API port). A real
        Marquez serves /healthcheck on its separate admin port, so when the API port does not
        answer it, `GET /api/v1/namespaces` answering 200 counts as healthy too.
        """
        status = self._status("/healthcheck", timeout_s)
        if status == 200:
            return True
        if status is None:  # nothing listens there (refused, timed out): no point asking again
            return False
        return self._status("/api/v1/namespaces", timeout_s) == 200

    def _status(self, path: str, timeout_s: float) -> int | None:
        try:
            return self.get(path, timeout=(timeout_s, timeout_s)).status_code
        except (requests.RequestException, ValueError):  # refused, reset, timeout; ValueError: unusable URL
            return None


def healthcheck(target: MarquezTarget, timeout_s: float = 2.0) -> bool:
    """True when a Marquez answers at `target` (see `MarquezHttp.answers`)."""
    with MarquezHttp(target, user_agent="lakehouse-healthcheck") as http:
        return http.answers(timeout_s)

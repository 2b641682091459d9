"""Which Marquez the product talks to. This is the only place that decides it.

    MARQUEZ_URL set   -> that server ("external"). The project starts nothing.
    otherwise         -> the built-in server at http://127.0.0.1:${MARQUEZ_PORT:-5555} ("builtin").

Whatever emits, reads or diffs lineage calls `resolve()` and uses `.url`. It never needs to
know which kind it got. `healthcheck(url)` tells whether a Marquez answers there.

This module imports nothing from `orchestration/`.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from marquez.config import DEFAULT_PORT

BUILTIN_HOST = "127.0.0.1"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}

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


def resolve(environ: Mapping[str, str] | None = None) -> MarquezTarget:
    """MARQUEZ_URL if set, else the built-in server on 127.0.0.1:MARQUEZ_PORT (default 5555)."""
    env = os.environ if environ is None else environ
    api_key = env.get("MARQUEZ_API_KEY") or None
    url = (env.get("MARQUEZ_URL") or "").strip()
    if url:
        return MarquezTarget(_check_url(url), "external", api_key)
    raw_port = env.get("MARQUEZ_PORT") or str(DEFAULT_PORT)
    try:
        port = int(raw_port)
    except ValueError:
        raise ValueError(f"MARQUEZ_PORT must be a port number, got {raw_port!r}") from None
    return MarquezTarget(f"http://{BUILTIN_HOST}:{port}", "builtin", api_key)


def _check_url(url: str) -> str:
    url = url.rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"MARQUEZ_URL must look like http://host:5000, got {url!r}")
    if parts.path.rstrip("/").endswith("/api/v1"):
        raise ValueError(f"MARQUEZ_URL is the server's base URL (http://host:5000), without /api/v1: got {url!r}")
    return url


def healthcheck(url: str, timeout: float = 2.0, api_key: str | None = None) -> bool:
    """True when a Marquez answers at `url`.

    Tries `GET /healthcheck` first (the built-in server answers it on its API port). A real
    Marquez serves /healthcheck on its separate admin port, so when the API port does not
    answer it, `GET /api/v1/namespaces` answering 200 counts as healthy too.
    """
    base = url.rstrip("/")
    status = _get_status(f"{base}/healthcheck", timeout, api_key)
    if status == 200:
        return True
    if status is None:  # nothing listens there (refused, timed out): no point asking again
        return False
    return _get_status(f"{base}/api/v1/namespaces", timeout, api_key) == 200


def _get_status(url: str, timeout: float, api_key: str | None) -> int | None:
    """HTTP status of GET url, or None when no HTTP server answered."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if api_key:
        request.add_header("Authorization", f"Bearer {api_key}")
    # A local server is never reached through an HTTP proxy from the environment.
    local = urlsplit(url).hostname in _LOOPBACK
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({})) if local else urllib.request.build_opener()
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):  # URLError, refused, reset, timeout; ValueError: unusable URL
        return None

"""The lineage UI for `lakehouse up / down / status`: `python -m lineage_ui serve` in the background.

It serves the built app (ui/dist, from `make ui`) on ${LINEAGE_UI_HOST:-127.0.0.1}:${LINEAGE_UI_PORT:-3002}, proxies
/api/v1 to the Marquez `marquez.choose.resolve()` picks, and serves the last `lineage diff` report.
Same pattern as the other services: its own process group, the pid in data/run/lineage-ui.pid,
the log in data/logs/lineage-ui.log. It inherits the environment (MARQUEZ_URL, MARQUEZ_API_KEY,
LAKEHOUSE_DATA_DIR, LINEAGE_DIFF_REPORT), so it shows the Marquez and report the rest of the project uses.
"""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from pathlib import Path

from lineage_ui.config import DIST_DIR, port_from_env
from orchestration.services.background import log_tail, spawn, stop_group
from orchestration.services.background import running_pid as background_running_pid
from orchestration.services.marquez import port_is_open
from orchestration.settings import Settings

COMMAND = [sys.executable, "-m", "lineage_ui", "serve"]


def host() -> str:
    """Where it listens (LINEAGE_UI_HOST, default 127.0.0.1), and so where to ask it."""
    listen = os.environ.get("LINEAGE_UI_HOST") or "127.0.0.1"
    return "127.0.0.1" if listen in ("0.0.0.0", "::", "localhost") else listen


def port() -> int:
    return port_from_env()


def url() -> str:
    return f"http://localhost:{port()}"


class NotBuilt(RuntimeError):
    """ui/dist is missing: `make ui` was not run (`make setup` / `make demo` run it)."""


def pid_file(settings: Settings) -> Path:
    return settings.data_dir / "run" / "lineage-ui.pid"


def log_file(settings: Settings) -> Path:
    return settings.log_dir / "lineage-ui.log"


def running_pid(settings: Settings) -> int | None:
    return background_running_pid(pid_file(settings), b"lineage_ui", b"serve")


def is_serving(timeout_s: float = 1) -> bool:
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
            f"http://{host()}:{port()}/healthz", timeout=timeout_s
        ) as response:
            return response.status == 200
    except OSError:
        return False


def start(settings: Settings, timeout_s: float = 30) -> tuple[int, bool]:
    """Start the UI server unless ours runs; returns (pid, started). Raises RuntimeError with what to do."""
    pid = running_pid(settings)
    if pid is not None:
        return pid, False
    if not (DIST_DIR / "index.html").exists():
        raise NotBuilt(f"the lineage UI is not built ({DIST_DIR} is empty): run `make ui` (or `make demo`)")
    listen = port()
    if port_is_open(host(), listen):
        raise RuntimeError(
            f"port {listen} on {host()} is taken by another process: stop it, or set LINEAGE_UI_PORT to a free port"
        )
    log_path, path = log_file(settings), pid_file(settings)
    command = [*COMMAND, "--port", str(listen)]
    proc, offset = spawn(command, {**os.environ, "PYTHONUNBUFFERED": "1"}, log_path, path, f"starting on {url()}")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            path.unlink(missing_ok=True)
            raise RuntimeError(
                f"the lineage UI exited with code {proc.returncode}; see {log_path}:{log_tail(log_path, offset)}"
            )
        if is_serving():
            return proc.pid, True
        time.sleep(0.1)
    stop(settings)
    raise RuntimeError(f"the lineage UI did not answer on {url()} within {timeout_s:.0f}s (stopped it); see {log_path}")


def stop(settings: Settings, timeout_s: float = 10) -> bool:
    """SIGTERM, then SIGKILL. False if it was not running."""
    return stop_group(running_pid(settings), pid_file(settings), timeout_s)

"""The lineage UI of `lakehouse up / down / status`: `python -m lineage_ui serve` in the background.

It serves the built app (ui/dist, from `make ui`) on LINEAGE_UI_HOST:LINEAGE_UI_PORT (default
127.0.0.1:3002), proxies /api/v1 to the Marquez `lakehouse_core.marquez.resolve()` picks, and
serves the last `lineage diff` report. It inherits the settings through its environment, so it
shows the Marquez and the report the rest of the project uses. Up when /healthz answers.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lakehouse_core.settings import UI_DIST_DIR, Settings, child_env
from orchestration.services import background


class NotBuilt(RuntimeError):
    """ui/dist is missing: `make ui` was not run (`make setup` / `make demo` run it)."""


def _probe_host(settings: Settings) -> str:
    """Where to ask it: the interface it listens on, or loopback when it listens on all."""
    listen = settings.lineage_ui_host
    return "127.0.0.1" if listen in ("0.0.0.0", "::", "localhost") else listen


def url(settings: Settings) -> str:
    return f"http://localhost:{settings.ui_port}"


def declare(settings: Settings) -> background.Service:
    host, port = _probe_host(settings), settings.ui_port  # ValueError naming LINEAGE_UI_PORT
    return background.Service(
        label="the lineage UI",
        command=(sys.executable, "-m", "lineage_ui", "serve", "--port", str(port)),
        env=child_env(PYTHONUNBUFFERED="1"),
        pid_file=settings.run_dir / "lineage-ui.pid",
        log_file=settings.log_dir / "lineage-ui.log",
        marks=(b"lineage_ui", b"serve"),
        url=url(settings),
        host=host,
        port=port,
        port_setting="LINEAGE_UI_PORT",
        ready=lambda: background.http_ok(f"http://{host}:{port}/healthz"),
        start_timeout_s=30,
        stop_timeout_s=10,
        banner=f"starting on {url(settings)}",
    )


def start(settings: Settings) -> tuple[int, bool]:
    """(pid, started). NotBuilt without ui/dist; ServiceFailed (a RuntimeError) saying what to do."""
    service = declare(settings)
    if background.running_pid(service) is None and not (UI_DIST_DIR / "index.html").exists():
        raise NotBuilt(f"the lineage UI is not built ({UI_DIST_DIR} is empty): run `make ui` (or `make demo`)")
    return background.start(service)


def stop(settings: Settings) -> bool:
    return background.stop(declare(settings))


def status(settings: Settings) -> background.Status:
    return background.status(declare(settings))


def log_file(settings: Settings) -> Path:
    return declare(settings).log_file

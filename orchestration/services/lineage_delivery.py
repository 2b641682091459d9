"""The lineage delivery loop of `lakehouse up / down / status`: `lineage deliver --follow` in the background.

It delivers the outbox (<data dir>/lineage/outbox.sqlite3) to the Marquez
`lakehouse_core.marquez.resolve()` picks, whichever kind it is, so events reach Marquez while the
services run without anyone running a command. It inherits the settings through its environment,
so it reads the same outbox and talks to the same Marquez as the rest of the project. Stopping it
never loses an event: an event is marked delivered only after Marquez acknowledged it (SIGTERM
lets it finish the request in flight).
"""

from __future__ import annotations

import sys
from pathlib import Path

from lakehouse_core.settings import Settings, child_env
from orchestration.services import background

COMMAND = (sys.executable, "-m", "lineage.cli", "deliver", "--follow")


def declare(settings: Settings) -> background.Service:
    return background.Service(
        label="the lineage delivery loop",
        command=COMMAND,
        env=child_env(PYTHONUNBUFFERED="1"),
        pid_file=settings.run_dir / "lineage-delivery.pid",
        log_file=settings.log_dir / "lineage-delivery.log",
        marks=(b"lineage.cli", b"deliver", b"--follow"),
        # No readiness check: a bad MARQUEZ_URL or an unreadable outbox ends it within a second,
        # a healthy loop never exits.
        start_timeout_s=1.0,
        stop_timeout_s=15,
        banner=f"starting: {' '.join(COMMAND[1:])}",
    )


def start(settings: Settings) -> tuple[int, bool]:
    """(pid, started); ServiceFailed (a RuntimeError) if it dies at once."""
    return background.start(declare(settings))


def stop(settings: Settings) -> bool:
    return background.stop(declare(settings))


def running_pid(settings: Settings) -> int | None:
    return background.running_pid(declare(settings))


def log_file(settings: Settings) -> Path:
    return declare(settings).log_file

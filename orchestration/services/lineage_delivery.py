"""The lineage delivery loop for `lakehouse up / down / status`: `lineage deliver --follow` in the background.

It delivers the outbox (<data dir>/lineage/outbox.sqlite3) to the Marquez `marquez.choose.resolve()`
picks, whichever kind it is, so events reach Marquez while the services run without anyone
running a command. Same pattern as the Marquez service: its own process group, the pid in
data/run/lineage-delivery.pid, the log in data/logs/lineage-delivery.log. It inherits the
environment (MARQUEZ_URL, MARQUEZ_API_KEY, LAKEHOUSE_DATA_DIR), so it reads the same outbox and
talks to the same Marquez as the rest of the project.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from orchestration.services.background import log_tail, spawn, stop_group
from orchestration.services.background import running_pid as background_running_pid
from orchestration.settings import Settings

COMMAND = [sys.executable, "-m", "lineage.cli", "deliver", "--follow"]


def pid_file(settings: Settings) -> Path:
    return settings.data_dir / "run" / "lineage-delivery.pid"


def log_file(settings: Settings) -> Path:
    return settings.log_dir / "lineage-delivery.log"


def running_pid(settings: Settings) -> int | None:
    return background_running_pid(pid_file(settings), b"lineage.cli", b"deliver", b"--follow")


def start(settings: Settings, settle_s: float = 1.0) -> tuple[int, bool]:
    """Start the loop unless it runs; returns (pid, started). Raises RuntimeError if it dies at once."""
    pid = running_pid(settings)
    if pid is not None:
        return pid, False
    log_path, path = log_file(settings), pid_file(settings)
    proc, offset = spawn(
        COMMAND, {**os.environ, "PYTHONUNBUFFERED": "1"}, log_path, path, f"starting: {' '.join(COMMAND[1:])}"
    )
    # A bad MARQUEZ_URL or an unreadable outbox ends it within this; a healthy loop never exits.
    deadline = time.monotonic() + settle_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            path.unlink(missing_ok=True)
            raise RuntimeError(
                f"the lineage delivery loop exited with code {proc.returncode}; see {log_path}:{log_tail(log_path, offset)}"
            )
        time.sleep(0.05)
    return proc.pid, True



def stop(settings: Settings, timeout_s: float = 15) -> bool:
    """SIGTERM (it finishes the request in flight), then SIGKILL. False if it was not running.

    Killing it never loses an event: an event is marked delivered only after Marquez acknowledged it.
    """
    return stop_group(running_pid(settings), pid_file(settings), timeout_s)

"""`dagster dev` (webserver + daemon) in the background, for `make demo` / `make down`."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import time
import urllib.request
from pathlib import Path

from orchestration.services.background import spawn
from orchestration.services.dagster_storage import configure_postgres_storage
from orchestration.settings import REPO_ROOT, Settings

DAGSTER_PORT = int(os.environ.get("DAGSTER_PORT", "3000"))
_TEMPLATE = REPO_ROOT / "orchestration" / "dagster.yaml"


def prepare_dagster_home(settings: Settings) -> Path:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(_TEMPLATE, home / "dagster.yaml")
    configure_postgres_storage(settings, home)  # runs and events in Postgres, not SQLite
    return home


def _pid_file(settings: Settings) -> Path:
    return settings.data_dir / "run" / "dagster-dev.pid"


def is_serving(port: int = DAGSTER_PORT) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start(settings: Settings, timeout_s: float = 180) -> int:
    """Start `dagster dev` in its own process group; return its pid once the UI answers."""
    if is_serving():
        raise RuntimeError(f"something already answers on :{DAGSTER_PORT}; run `make down` first or free the port")
    env = {**os.environ, "DAGSTER_HOME": str(prepare_dagster_home(settings)), **settings.dbt_env()}
    dagster = Path(sys.executable).parent / "dagster"
    command = [str(dagster), "dev", "-m", "orchestration.definitions", "-h", "0.0.0.0", "-p", str(DAGSTER_PORT)]
    proc, _ = spawn(command, env, settings.log_dir / "dagster-dev.log", _pid_file(settings))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dagster dev exited with code {proc.returncode}; see {settings.log_dir / 'dagster-dev.log'}")
        if is_serving():
            return proc.pid
        time.sleep(1)
    raise RuntimeError(f"dagster dev did not answer on :{DAGSTER_PORT} within {timeout_s:.0f}s")


def stop(settings: Settings, timeout_s: float = 30) -> bool:
    pid_file = _pid_file(settings)
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink()
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.5)
    else:
        os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True

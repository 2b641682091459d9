"""Superset's own virtualenv: created with uv from the pinned bi/requirements.txt, once.

Superset 6.1 pins Flask, SQLAlchemy 1.4, pandas 2.1 and more that Dagster and dbt do not share,
so it never goes into the project's .venv. `ensure()` creates the venv (default
<repo>/.venv-superset, LAKEHOUSE_SUPERSET_VENV) and syncs it to the lock file; a stamp holding the
lock file's sha256 makes every later call a no-op until bi/requirements.txt changes. The first
install downloads about 250 MB and takes a minute or two; uv's cache makes a reinstall fast.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from lakehouse_core.settings import Settings

BI_DIR = Path(__file__).resolve().parent
REQUIREMENTS = BI_DIR / "requirements.txt"
PYTHON_VERSION = "3.11"  # Superset 6.1 supports 3.10-3.12; the project's own
STAMP = ".lakehouse-requirements.sha256"


class InstallFailed(RuntimeError):
    """uv could not create or sync Superset's venv; the message has its output."""


def python(venv: Path) -> Path:
    return venv / "bin" / "python"


def executable(venv: Path, name: str) -> Path:
    return venv / "bin" / name


def _lock_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def is_installed(settings: Settings) -> bool:
    """The venv exists and was synced to the current bi/requirements.txt."""
    stamp = settings.superset_venv / STAMP
    return python(settings.superset_venv).exists() and stamp.exists() and stamp.read_text().strip() == _lock_digest()


def uv_command() -> list[str]:
    """`uv` from PATH, else `python3 -m uv` (what `make setup` installs), else this Python's."""
    found = shutil.which("uv")
    if found:
        return [found]
    for candidate in (shutil.which("python3"), sys.executable):
        if candidate and subprocess.run([candidate, "-m", "uv", "--version"], capture_output=True).returncode == 0:
            return [candidate, "-m", "uv"]
    raise InstallFailed("uv is needed to install Superset's environment: `python3 -m pip install uv` (make setup does)")


def ensure(settings: Settings, say: Callable[[str], None] = print) -> Path:
    """Superset's venv, created and synced to bi/requirements.txt if it is not already; its path."""
    venv = settings.superset_venv
    if is_installed(settings):
        return venv
    uv = uv_command()
    if not python(venv).exists():
        say(f"creating Superset's environment in {venv} (Python {PYTHON_VERSION})")
        _run([*uv, "venv", "--quiet", "--python", PYTHON_VERSION, str(venv)])
    say(
        f"installing Superset 6.1 into {venv} from {REQUIREMENTS.relative_to(BI_DIR.parent)} (first time: a few minutes)"
    )
    _run([*uv, "pip", "sync", "--quiet", "--python", str(python(venv)), "--require-hashes", str(REQUIREMENTS)])
    (venv / STAMP).write_text(_lock_digest() + "\n")
    return venv


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise InstallFailed(
            f"`{' '.join(command)}` failed ({done.returncode}):\n{(done.stderr or done.stdout)[-4000:]}"
        )

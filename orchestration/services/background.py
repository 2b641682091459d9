"""What the background services of `lakehouse up` (Marquez, the lineage delivery loop, `dagster
dev`) share: starting and stopping a process group, and the new lines of a log."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from orchestration.settings import REPO_ROOT


def spawn(command: list[str], env: dict[str, str], log_path: Path, pid_file: Path, banner: str | None = None):
    """Start `command` in a process group of its own (so `stop_group` takes its children too),
    output appended to `log_path`, pid in `pid_file`. Returns (process, log offset before it)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    offset = log_path.stat().st_size if log_path.exists() else 0
    with open(log_path, "ab") as log:
        if banner:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {banner}\n".encode())
            log.flush()
        proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(str(proc.pid))
    return proc, offset


def running_pid(pid_file: Path, *marks: bytes) -> int | None:
    """The pid in `pid_file` if that process is alive and its command line holds every one of
    `marks` (e.g. b"marquez", b"serve"): a stale pid file never names a stranger."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):  # gone, or alive but another user's
        return None
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.parent.exists():  # no /proc (macOS): trust the pid file
        return pid
    try:
        args = cmdline.read_bytes().split(b"\0")
    except OSError:
        return None
    return pid if all(mark in args for mark in marks) else None  # a zombie has an empty cmdline


def group_gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it if this process started it, or it lingers as a zombie
    except ChildProcessError:
        pass
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def stop_group(pid: int | None, pid_file: Path, timeout_s: float) -> bool:
    """SIGTERM the group, then SIGKILL after `timeout_s`; forget the pid file. False if nothing ran."""
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout_s
    while not group_gone(pid):
        if time.monotonic() > deadline:
            os.killpg(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while not group_gone(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            break
        time.sleep(0.05)
    pid_file.unlink(missing_ok=True)
    return True


def log_tail(path: Path, offset: int, lines: int = 15) -> str:
    """The last `lines` lines written to `path` after `offset`, indented, for an error message."""
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return ""
    tail = text.strip().splitlines()[-lines:]
    return ("\n  " + "\n  ".join(tail)) if tail else ""

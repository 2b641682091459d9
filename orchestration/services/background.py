"""Runs a declared background service: start, stop and status, written once for all of them.

A `Service` says what to run and how to know it is up; the modules beside this one declare
Marquez (built-in server), the lineage delivery loop, the lineage UI and `dagster dev`. Every
one runs in a process group of its own (so `stop` takes its children too), appends its output
to its log file, and keeps its pid in its pid file. A pid file only names a running service
when that process's command line holds the declared marks: a stale pid never names a stranger.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from lakehouse_core.settings import REPO_ROOT

POLL_S = 0.1


class ServiceFailed(RuntimeError):
    """A service could not be started; the message says why and where its log is."""


@dataclass(frozen=True)
class Service:
    label: str  # in messages: "the lineage UI"
    command: tuple[str, ...]
    env: Mapping[str, str]  # the child's whole environment (`child_env(...)`)
    pid_file: Path
    log_file: Path
    marks: tuple[bytes, ...]  # arguments its command line holds: how `running_pid` recognises it
    url: str | None = None  # where it answers, for messages
    port: int | None = None  # refused when another process listens there
    host: str = "127.0.0.1"
    port_setting: str = ""  # the variable that moves it, named when the port is taken
    port_advice: str = ""  # appended to that message
    ready: Callable[[], bool] | None = None  # None: up once it has lived `start_timeout_s`
    start_timeout_s: float = 30
    stop_timeout_s: float = 10
    banner: str | None = None  # written to the log before it starts


class Status(NamedTuple):
    pid: int | None  # ours, running
    answers: bool  # its readiness check passes (for a service without one: it runs)


def running_pid(service: Service) -> int | None:
    """The pid in the pid file if that process is alive and its command line holds every mark."""
    try:
        pid = int(service.pid_file.read_text().strip())
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
    return pid if all(mark in args for mark in service.marks) else None  # a zombie has an empty cmdline


def status(service: Service) -> Status:
    pid = running_pid(service)
    return Status(pid, service.ready() if service.ready else pid is not None)


def start(service: Service) -> tuple[int, bool]:
    """Start the service unless ours runs; returns (pid, started) once it is up. ServiceFailed
    when the port is taken, or the process exits or does not answer in time (then it is stopped)."""
    pid = running_pid(service)
    if pid is not None:  # ours, running or still starting: wait for it instead of starting a second one
        if service.ready:
            _wait_until_up(service, pid, lambda: running_pid(service) == pid, 0)
        return pid, False
    if service.port is not None and port_is_open(service.host, service.port):
        raise ServiceFailed(
            f"port {service.port} on {service.host} is taken by another process: stop it, or set "
            f"{service.port_setting} to a free port{service.port_advice}"
        )
    proc, offset = _spawn(service)
    _wait_until_up(service, proc.pid, lambda: proc.poll() is None, offset, proc)
    return proc.pid, True


def stop(service: Service) -> bool:
    """SIGTERM the group, SIGKILL after `stop_timeout_s`; forget the pid file. False if it was not running."""
    pid = running_pid(service)
    service.pid_file.unlink(missing_ok=True)
    if pid is None:
        return False
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    if not _wait_gone(pid, service.stop_timeout_s):
        os.killpg(pid, signal.SIGKILL)
        _wait_gone(pid, 5)
    return True


def _spawn(service: Service) -> tuple[subprocess.Popen, int]:
    service.log_file.parent.mkdir(parents=True, exist_ok=True)
    offset = service.log_file.stat().st_size if service.log_file.exists() else 0
    with open(service.log_file, "ab") as log:
        if service.banner:
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {service.banner}\n".encode())
            log.flush()
        proc = subprocess.Popen(
            list(service.command),
            cwd=REPO_ROOT,
            env=dict(service.env),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    service.pid_file.parent.mkdir(parents=True, exist_ok=True)
    service.pid_file.write_text(str(proc.pid))
    return proc, offset


def _wait_until_up(service: Service, pid: int, alive: Callable[[], bool], offset: int, proc=None) -> None:
    log = service.log_file
    deadline = time.monotonic() + service.start_timeout_s
    while time.monotonic() < deadline:
        if not alive():
            service.pid_file.unlink(missing_ok=True)
            code = f"exit code {proc.returncode}" if proc is not None else "gone"
            what = f"exited before answering on {service.url} ({code})" if service.ready else f"exited ({code})"
            raise ServiceFailed(f"{service.label} {what}; see {log}:{log_tail(log, offset)}")
        if service.ready and service.ready():
            return
        time.sleep(POLL_S)
    if service.ready is None:  # lived through its settling time
        return
    stop(service)
    raise ServiceFailed(
        f"{service.label} did not answer on {service.url} within {service.start_timeout_s:.0f}s "
        f"(stopped it); see {log}:{log_tail(log, offset)}"
    )


def _wait_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(ChildProcessError):  # reap it if this process started it (else a zombie lingers)
            os.waitpid(pid, os.WNOHANG)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


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


def port_is_open(host: str, port: int) -> bool:
    """Something accepts TCP connections on host:port (IPv4 or IPv6)."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def http_ok(url: str, timeout_s: float = 1) -> bool:
    """GET `url` answers 200, asked directly (never through a proxy from the environment)."""
    try:
        with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(url, timeout=timeout_s) as response:
            return response.status == 200
    except OSError:
        return False

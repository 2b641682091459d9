"""The warm run worker of `lakehouse up`: Dagster runs start in ~0.3 s instead of ~3.5 s.

Dagster's default launcher asks the code server to start each run in a new Python process
(`multiprocessing` spawn), which imports Dagster, dagster-dbt and dbt and loads the code location
before the run's first step: ~3.5 s of every run on 2 cores (bench/results/freshness.md). This
process does that once: it imports the code location (`orchestration.definitions`, its jobs
resolved) and then waits on a Unix socket in the run dir. The project's run launcher
(`orchestration.run_workers.HealthCheckedRunLauncher`, dagster.yaml) sends it the run's
`ExecuteRunArgs` (the job's origin, the run id, the instance); it forks a child that runs
`dagster api execute_run` with them (the command Dagster's container launchers start) through
Dagster's CLI entry point, and answers the child's pid. Each run still has a
process of its own (a fork), stamped on the run as usual, so run monitoring, `lakehouse heal` and
termination work as before.

Forking is safe here because the process does nothing but import and wait: no Python thread, no
open connection or file handle is inherited (each run opens its own instance and connections);
the only other threads are native ones of Arrow (its jemalloc purger and an idle pool), which
both handle fork. The server ignores SIGCHLD (children are reaped by the kernel); each child
restores default signal handling first, so a run and dbt wait on their own children as usual.

It never serves stale code: each request first compares the project's sources (the Python
packages, the dbt project and manifests) with what it loaded; when they differ it answers
`stale` (the launcher falls back to the code server, which loads the new code) and starts itself
again. When it is not running (a `dagster dev` started by hand, compose), every run goes the
default way.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path

from lakehouse_core.settings import DBT_PROJECT_DIR, REPO_ROOT, Settings, child_env, export, replace_environment
from orchestration.services import background

SOCKET_NAME = "run-worker.sock"
_PACKAGES = ("orchestration", "lineage", "lakehouse_core")
_DBT_SOURCES = ("models", "macros", "seeds", "tests", "target/duckdb/manifest.json", "target/postgres/manifest.json",
                "dbt_project.yml", "profiles.yml")  # fmt: skip


def socket_path(settings: Settings) -> Path:
    return settings.run_dir / SOCKET_NAME


def declare(settings: Settings) -> background.Service:
    # The environment `dagster dev` gives its code server, so a run sees the same one either way.
    command = (sys.executable, "-m", "orchestration.services.run_worker", "serve", str(socket_path(settings)))
    return background.Service(
        label="the warm run worker",
        command=command,
        env=child_env(DAGSTER_HOME=str(settings.dagster_home), PYTHONUNBUFFERED="1", **settings.dagster_cli_env()),
        pid_file=settings.run_dir / "run-worker.pid",
        log_file=settings.log_dir / "run-worker.log",
        marks=(b"orchestration.services.run_worker", b"serve"),
        # No readiness check: runs use the code server until it has loaded (a few seconds).
        start_timeout_s=1.0,
        stop_timeout_s=15,
        banner="starting: the warm run worker (runs start from a loaded code location)",
    )


def start(settings: Settings) -> tuple[int, bool]:
    return background.start(declare(settings))


def stop(settings: Settings) -> bool:
    stopped = background.stop(declare(settings))
    socket_path(settings).unlink(missing_ok=True)
    return stopped


def running_pid(settings: Settings) -> int | None:
    return background.running_pid(declare(settings))


def fingerprint() -> str:
    """What the loaded code depends on: path, size and mtime of every source (a few ms)."""
    digest = hashlib.sha256()
    roots = [REPO_ROOT / p for p in _PACKAGES] + [DBT_PROJECT_DIR / p for p in _DBT_SOURCES]
    for root in roots:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for path in files:
            if path.suffix == ".pyc" or "__pycache__" in path.parts:
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file():
                digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


# --- the client side (the run launcher, in the daemon) -------------------------------------------


def request_run(path: Path, run_id: str, execute_run_args: str, timeout_s: float = 10.0) -> dict:
    """Ask the worker at `path` to start `run_id` (`execute_run_args`: Dagster's serialized
    ExecuteRunArgs): {"pid": n}, or {"stale"|"error": why}. OSError when no worker listens there."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout_s)
        conn.connect(str(path))
        conn.sendall(json.dumps({"run_id": run_id, "execute_run_args": execute_run_args}).encode() + b"\n")
        answer = b""
        while not answer.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    return json.loads(answer or b'{"error": "the run worker closed the connection"}')


# --- the server side ------------------------------------------------------------------------------


def _preload() -> None:
    """Import and load everything a run needs before its first step."""
    import dagster as dg
    from dagster._cli import api  # noqa: F401  (`dagster api execute_run`)
    from dagster._core.definitions.reconstruct import ReconstructableRepository  # noqa: F401

    import orchestration.definitions as code_location
    from orchestration.dagster_storage import pooled  # noqa: F401  (the instance's storages)

    definitions = code_location._load()
    repository = definitions.get_repository_def()
    repository.get_all_jobs()  # every job's asset graph resolved once
    # Modules the assets import at run time rather than at load.
    # What each dbt step's dbt and dbt-ol would import (~2.5 s a step): see `_exec_program`.
    import dbt.adapters.duckdb
    import dbt.adapters.postgres
    import dbt.cli.main  # noqa: F401
    import duckdb  # noqa: F401
    import openlineage.dbt  # noqa: F401
    import psycopg  # noqa: F401
    from dagster_dbt.core import dbt_cli_invocation  # noqa: F401

    import lineage.delivery  # noqa: F401
    import orchestration.publish.postgres  # noqa: F401

    del dg
    gc.collect()
    gc.freeze()  # what was loaded stays out of the collector's (and copy-on-write's) way in children


def _execute(execute_run_args: str) -> int:
    """In the forked child: `dagster api execute_run <ExecuteRunArgs>`, the command Dagster's
    container run launchers start, through Dagster's own CLI entry point."""
    from dagster._cli import main

    sys.argv = ["dagster", "api", "execute_run", execute_run_args]
    try:
        main()
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return 0


def _fork_run(request: dict, listener: socket.socket, conn: socket.socket) -> int:
    pid = os.fork()
    if pid:
        return pid
    # The child: a run worker. Default signal handling (the server ignores SIGCHLD to reap its
    # children; a run must wait on its own, dbt's, or their exit codes are lost).
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Dagster maps SIGTERM onto it
        listener.close()
        conn.close()
        code = _execute(request["execute_run_args"])
    except BaseException:  # the run's own failure is in its event log already
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def serve(path: Path) -> None:
    loaded = fingerprint()
    started = time.monotonic()
    _preload()
    print(f"loaded the code location in {time.monotonic() - started:.1f}s; listening on {path}", flush=True)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    export(LAKEHOUSE_RUN_WORKER_SOCKET=str(path))  # a run's dbt steps start warm (bin/warm/exec.py)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        os.chmod(path, 0o600)
        listener.listen(8)
        listener.settimeout(1.0)
        try:
            while True:
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                with conn:
                    answer = _answer(conn, listener, loaded)
                    if answer is not None:
                        conn.sendall(json.dumps(answer).encode() + b"\n")
                if answer is not None and "stale" in answer:
                    break
        finally:
            path.unlink(missing_ok=True)
    # The sources changed: load them again, in a new interpreter.
    print("sources changed: starting again", flush=True)
    os.execv(sys.executable, [sys.executable, "-m", "orchestration.services.run_worker", "serve", str(path)])


def _answer(conn: socket.socket, listener: socket.socket, loaded: str) -> dict | None:
    """A run (`run_id`) or a program (`exec`: dbt, dbt-ol, with the caller's stdio passed along).
    None when the answer was already sent (an `exec`'s pid, then its exit code from the child)."""
    conn.settimeout(10)
    data, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    try:
        while not data.endswith(b"\n"):
            chunk = conn.recv(1 << 20)
            if not chunk:
                break
            data += chunk
        request = json.loads(data)
        if fingerprint() != loaded:
            return {"stale": "the project's sources changed since the run worker loaded them"}
        if "exec" in request:
            if request["exec"] not in _PROGRAMS or len(fds) != 3:
                return {"error": "bad request"}
            _exec_program(request, fds, conn, listener)
            return None
        run_id, _ = str(request["run_id"]), str(request["execute_run_args"])
    except (ValueError, KeyError, TypeError):
        return {"error": "bad request"}
    finally:
        for fd in fds:
            os.close(fd)
    pid = _fork_run(request, listener, conn)
    print(f"run {run_id}: pid {pid}", flush=True)
    return {"pid": pid}


# --- dbt and dbt-ol, warm ---------------------------------------------------------------------
# A dbt step starts dbt-ol, which starts dbt: two interpreters importing dbt-core, the adapters
# and openlineage (~2.5 s a step here, 3 steps a run). orchestration/bin/warm/exec.py, the
# executable dagster-dbt is given, passes its stdin/stdout/stderr, arguments, directory and
# environment to this process instead, which forks a child that runs the program as its console
# script would (`dbt.cli.main:cli`, `openlineage.dbt:main`), already imported. dagster-dbt reads
# the same output and exit code; dbt-ol starts `dbt` from PATH, which leads to the same shim.
_PROGRAMS = ("dbt", "dbt-ol")
WARM_BIN = Path(__file__).resolve().parent.parent / "bin" / "warm"


def _exec_program(request: dict, fds: list[int], conn: socket.socket, listener: socket.socket) -> None:
    ready_r, ready_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        os.close(ready_r)
        try:
            conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        finally:
            os.close(ready_w)  # the child starts once its pid is sent (its exit code comes after it)
        return
    code = 1
    try:
        os.close(ready_w)
        os.read(ready_r, 1)
        os.close(ready_r)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        listener.close()
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        env = dict(request["env"])
        if request["exec"] == "dbt-ol":  # its `dbt` child: warm too
            env["PATH"] = f"{WARM_BIN}{os.pathsep}{env.get('PATH', '')}"
        replace_environment(env)
        code = _run_program(request["exec"], list(request["argv"]))
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
            conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
        finally:
            os._exit(code)


def _run_program(program: str, argv: list[str]) -> int:
    sys.argv = [program, *argv]
    try:
        if program == "dbt":
            from dbt.cli.main import cli

            cli()
            return 0
        from openlineage.dbt import main

        return int(main() or 0)
    except SystemExit as exit_:
        if exit_.code is None or isinstance(exit_.code, int):
            return exit_.code or 0
        print(exit_.code, file=sys.stderr)
        return 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(Path(sys.argv[2]))
    else:
        sys.exit("usage: python -m orchestration.services.run_worker serve SOCKET")

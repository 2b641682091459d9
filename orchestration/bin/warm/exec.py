"""dbt or dbt-ol, started warm when the warm run worker runs (orchestration/services/run_worker.py).

    python -I -S exec.py dbt|dbt-ol ARGS...

Started by `orchestration/bin/dbt-lineage` (the dbt executable of the Dagster steps) and by
`orchestration/bin/warm/dbt` (what dbt-ol starts). In a run the warm run worker started
(LAKEHOUSE_RUN_WORKER_SOCKET set), it hands its stdin/stdout/stderr, arguments, directory and
environment to that worker, which runs the program in a child forked with dbt, its adapters and
dbt-ol already imported; this process relays signals to it and exits with its exit code.
Anywhere else (or if the worker does not take it) it becomes the venv's own program (exec).
Standard library only, no site-packages: it starts in ~20 ms.
"""

import json
import os
import signal
import socket
import sys


def main() -> None:
    program, args = sys.argv[1], sys.argv[2:]
    own = os.path.join(os.path.dirname(sys.executable), program)  # the venv's dbt / dbt-ol
    path = os.environ.get("LAKEHOUSE_RUN_WORKER_SOCKET")
    if path and os.path.exists(path):
        code = _warm(path, program, args)
        if code is not None:
            sys.exit(code)
    os.execv(own, [own, *args])


def _warm(path: str, program: str, args: list[str]) -> int | None:
    """The program's exit code, or None when the worker did not take it (start it here)."""
    request = {"exec": program, "argv": args, "cwd": os.getcwd(), "env": dict(os.environ)}
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.settimeout(10)
        conn.connect(path)
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        answers = conn.makefile("rb")
        first = json.loads(answers.readline() or b"{}")
    except (OSError, ValueError):
        return None
    if "pid" not in first:
        return None
    pid = int(first["pid"])
    for sig in (signal.SIGINT, signal.SIGTERM):  # dagster-dbt interrupts dbt this way
        signal.signal(sig, lambda signum, _frame: os.kill(pid, signum))
    conn.settimeout(None)
    while True:
        try:
            line = answers.readline()
            break
        except InterruptedError:
            continue
    try:
        return int(json.loads(line)["exit"])
    except (ValueError, KeyError, TypeError):
        print(f"{program} (pid {pid}) ended without an exit code", file=sys.stderr)
        return 1


if __name__ == "__main__":
    main()

"""Which process runs a Dagster run, whether it is still alive, and what to do when it is not.

Every run's worker stamps itself on the run when it starts (`lakehouse/worker`: host and pid,
written by the event-log storage at RUN_START, in the worker's own process, however the run was
launched: the webserver, the daemon, `dagster asset materialize`, `materialize()`). That makes
a dead worker detectable:

- `HealthCheckedRunLauncher` is Dagster's default launcher that can answer Dagster's run
  monitoring (`run_monitoring` in dagster.yaml, run by the daemon): a STARTED run whose worker
  on this host is gone is failed, its FAIL reaches Marquez through the storage, and its pool
  slots are freed (`free_slots_after_run_end_seconds`, and at once by the storage).
- `stuck_runs()` finds the same runs without a daemon, for `lakehouse status`, and `heal()`
  fails them (`lakehouse heal`).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher

WORKER_TAG = "lakehouse/worker"
_HOST = socket.gethostname()


def worker_stamp() -> str:
    """`<host>:<pid>` of this process."""
    return f"{_HOST}:{os.getpid()}"


def worker_alive(stamp: str | None) -> bool | None:
    """True/False for a worker on this host; None when it runs elsewhere or never stamped."""
    if not stamp or ":" not in stamp:
        return None
    host, _, pid = stamp.rpartition(":")
    if host != _HOST or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    stat = f"/proc/{pid}/stat"
    try:
        with open(stat) as handle:
            return handle.read().split(") ", 1)[1][:1] != "Z"  # a zombie has exited
    except (FileNotFoundError, IndexError):
        return os.path.exists(f"/proc/{pid}") or not os.path.isdir("/proc")


class HealthCheckedRunLauncher(DefaultRunLauncher):
    """Dagster's default launcher, plus the health check Dagster's run monitoring asks for."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: dg.DagsterRun) -> CheckRunHealthResult:
        alive = worker_alive(run.tags.get(WORKER_TAG))
        if alive is False:
            return CheckRunHealthResult(WorkerStatus.FAILED, f"run worker {run.tags[WORKER_TAG]} is gone")
        return CheckRunHealthResult(WorkerStatus.RUNNING if alive else WorkerStatus.UNKNOWN)


@dataclass(frozen=True)
class StuckRun:
    run_id: str
    job_name: str
    worker: str
    pools: tuple[str, ...]  # pools whose slots it holds


def stuck_runs(instance: dg.DagsterInstance) -> list[StuckRun]:
    """STARTED runs whose worker on this host has died, with the pool slots they hold."""
    records = instance.get_run_records(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]), limit=200)
    held = _held_slots(instance)
    return [
        StuckRun(
            r.dagster_run.run_id,
            r.dagster_run.job_name,
            r.dagster_run.tags[WORKER_TAG],
            held.get(r.dagster_run.run_id, ()),
        )
        for r in records
        if worker_alive(r.dagster_run.tags.get(WORKER_TAG)) is False
    ]


def _held_slots(instance: dg.DagsterInstance) -> dict[str, tuple[str, ...]]:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    held: dict[str, list[str]] = {}
    for key in storage.get_concurrency_keys():
        for slot in storage.get_concurrency_info(key).claimed_slots:
            held.setdefault(slot.run_id, []).append(key)
    return {run_id: tuple(sorted(keys)) for run_id, keys in held.items()}


def heal(instance: dg.DagsterInstance) -> list[StuckRun]:
    """Fail every stuck run (its FAIL reaches Marquez; its pool slots are freed); returns them."""
    stuck = stuck_runs(instance)
    for run in stuck:
        dagster_run = instance.get_run_by_id(run.run_id)
        if dagster_run is not None and dagster_run.status == dg.DagsterRunStatus.STARTED:
            instance.report_run_failed(dagster_run, f"run worker {run.worker} is gone (lakehouse heal)")
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    return stuck

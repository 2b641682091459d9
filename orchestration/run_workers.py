"""Which process runs a Dagster run, whether it is still alive, and what to do when it is not.

Every run's worker stamps itself on the run when it starts (`lakehouse/worker`: host and pid,
written by the event-log storage at RUN_START, in the worker's own process, however the run was
launched: the webserver, the daemon, `dagster asset materialize`, `materialize()`). That makes
a dead worker detectable:

- `HealthCheckedRunLauncher` is Dagster's default launcher that can answer Dagster's run
  monitoring (`run_monitoring` in dagster.yaml, run by the daemon): a STARTED run whose worker
  on this host is gone is failed, its FAIL reaches Marquez through the storage, and its pool
  slots are freed (`free_slots_after_run_end_seconds`, and at once by the storage). When the
  warm run worker of `lakehouse up` runs (orchestration/services/run_worker.py), it starts the
  run there, forked from a process that has the code location loaded (~0.3 s instead of ~3.5 s);
  otherwise, or when that fails, the default way (the code server's new process).
- `stuck_runs()` finds the same runs without a daemon, for `lakehouse status`, and `heal()`
  fails them (`lakehouse heal`).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from dataclasses import dataclass

import dagster as dg
from dagster._core.launcher import CheckRunHealthResult, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher

WORKER_TAG = "lakehouse/worker"
# Set on runs the warm run worker started (how `terminate` reaches them).
WARM_TAG = "lakehouse/warm_worker"
_HOST = socket.gethostname()
log = logging.getLogger(__name__)


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
    """Dagster's default launcher, plus the health check Dagster's run monitoring asks for, and
    the warm run worker when `lakehouse up` runs one."""

    def launch_run(self, context) -> None:
        run = context.dagster_run
        if self._launch_warm(run):
            return
        super().launch_run(context)

    def _launch_warm(self, run: dg.DagsterRun) -> bool:
        from dagster._grpc.types import ExecuteRunArgs
        from dagster._serdes import serialize_value

        from lakehouse_core.settings import get_settings
        from orchestration.services.run_worker import request_run, socket_path

        path = socket_path(get_settings())
        if not path.exists() or run.job_code_origin is None:
            return False
        args = ExecuteRunArgs(job_origin=run.job_code_origin, run_id=run.run_id, instance_ref=self._instance.get_ref())
        try:
            answer = request_run(path, run.run_id, serialize_value(args))
        except (OSError, ValueError) as exc:
            log.warning("the warm run worker did not take run %s (%s): starting it the default way", run.run_id, exc)
            return False
        if "pid" not in answer:
            log.info("the warm run worker did not take run %s (%s): starting it the default way", run.run_id, answer)
            return False
        # Stamped now (the worker stamps it again at RUN_START): a worker that dies before its
        # first event is seen by run monitoring too.
        self._instance.add_run_tags(run.run_id, {WORKER_TAG: f"{_HOST}:{answer['pid']}", WARM_TAG: "true"})
        self._instance.report_engine_event(
            f"Started in the warm run worker (pid {answer['pid']}).", run, cls=self.__class__
        )
        return True

    def terminate(self, run_id: str) -> bool:
        run = self._instance.get_run_by_id(run_id)
        if run is None or run.tags.get(WARM_TAG) != "true":
            return super().terminate(run_id)
        if run.is_finished:
            return False
        self._instance.report_run_canceling(run)
        stamp = run.tags.get(WORKER_TAG, "")
        host, _, pid = stamp.rpartition(":")
        if host != _HOST or not pid.isdigit() or not worker_alive(stamp):
            return False
        # As Dagster's container launchers stop theirs: the run worker takes the signal as an
        # interrupt and ends the run CANCELED.
        os.kill(int(pid), signal.SIGTERM)
        return True

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

"""Measuring a command: wall time and peak RSS of its whole process tree, and the machine."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass

import psutil


@dataclass
class Measurement:
    wall_s: float
    peak_rss_bytes: int


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def run_measured(command: list[str], env: dict[str, str], cwd: str, log_path: str) -> Measurement:
    """Run `command`; sample the RSS of it and all its children every 100 ms (summed)."""
    peak = 0
    with open(log_path, "w") as log:
        start = time.perf_counter()
        proc = subprocess.Popen(command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
        handle = psutil.Process(proc.pid)
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                try:
                    peak = max(peak, _tree_rss(handle))
                except psutil.Error:
                    pass
                time.sleep(0.1)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = proc.wait()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    if code != 0:
        raise RuntimeError(f"{command[0]} exited {code}; see {log_path}")
    return Measurement(wall, peak)


def median(values: list[float]) -> float:
    return statistics.median(values)


def machine() -> dict:
    return {
        "cpu": platform.processor() or platform.machine(),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"

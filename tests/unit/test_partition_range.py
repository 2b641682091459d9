"""A day or range outside the daily partitions is refused before anything starts, naming where
the partitions start and end (it was a Dagster traceback, then "the run's logs are in the
Dagster UI" though no run was made)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.partitions import check_range

LAKEHOUSE = Path(sys.executable).parent / "lakehouse"


def test_a_range_inside_the_partitions_is_kept(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_PARTITIONS_START", "2025-01-01")
    assert check_range("2025-01-01", "2025-01-31") == ("2025-01-01", "2025-01-31")


@pytest.mark.parametrize(
    "first, last, message",
    [
        (
            "2024-12-31",
            "2025-01-03",
            "2024-12-31 has no partition: the daily partitions run from 2025-01-01 (LAKEHOUSE_PARTITIONS_START) to ",
        ),
        ("2025-01-01", "2999-01-01", "2999-01-01 has no partition"),
        ("2025-01-05", "2025-01-01", "the range 2025-01-05..2025-01-01 is empty"),
        ("2025-1-5", "2025-01-06", "days must be YYYY-MM-DD"),
    ],
)
def test_a_range_outside_is_refused_clearly(monkeypatch, first, last, message):
    monkeypatch.setenv("LAKEHOUSE_PARTITIONS_START", "2025-01-01")
    with pytest.raises(ValueError) as refused:
        check_range(first, last)
    assert message in str(refused.value)


def test_the_backfill_command_says_where_partitions_start(tmp_path):
    done = subprocess.run(
        [str(LAKEHOUSE), "backfill", "2023-01-01", "2023-01-05"],
        env={"PATH": "/usr/bin:/bin", "LAKEHOUSE_DATA_DIR": str(tmp_path), "LAKEHOUSE_PARTITIONS_START": "2024-01-01",
             "COLUMNS": "200"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    today = dt.datetime.now(dt.UTC).date()
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2023-01-01 has no partition: the daily partitions run from 2024-01-01" in done.stdout, done.stdout
    assert str(today) in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "postgres").exists()  # refused before anything started

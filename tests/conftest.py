"""Test environment: an isolated data directory and a real Postgres for the whole session.

The environment is set in `pytest_configure`, before any project module is imported,
because the dbt profile variables are read when the code location loads.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

# The one Marquez fixture (marquez_url, marquez_kind, fresh_marquez, ...): see tests/marquez_fixture.py.
pytest_plugins = ["tests.marquez_fixture"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pytest_configure(config: pytest.Config) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="lakehouse-test-"))
    config._lakehouse_data_dir = data_dir  # type: ignore[attr-defined]
    os.environ["LAKEHOUSE_DATA_DIR"] = str(data_dir)
    os.environ.pop("LAKEHOUSE_DUCKDB_PATH", None)
    os.environ.pop("LAKEHOUSE_RAW_DIR", None)
    os.environ["DAGSTER_HOME"] = str(data_dir / "dagster_home")
    (data_dir / "dagster_home").mkdir(parents=True)
    if not os.environ.get("LAKEHOUSE_PG_URL"):
        os.environ["LAKEHOUSE_PG_PORT"] = str(_free_port())
    if not os.environ.get("MARQUEZ_URL"):
        # Where the product's default Marquez would be: a free port, never :5555, so a run's
        # end-of-run flush in a test cannot reach the Marquez of a `make demo` on this machine.
        os.environ["MARQUEZ_PORT"] = str(_free_port())


@pytest.fixture(scope="session", autouse=True)
def dbt_manifests() -> None:
    """The dbt manifests exist (built when missing or stale, as loading the code location does):
    lineage/naming.py names the dbt models' datasets from them, also in tests that never load it."""
    import orchestration.dbt_projects  # noqa: F401


def pytest_unconfigure(config: pytest.Config) -> None:
    data_dir = getattr(config, "_lakehouse_data_dir", None)
    if data_dir is None:
        return
    from lakehouse_core.settings import get_settings
    from orchestration.services.postgres import embedded_server

    settings = get_settings()
    if not settings.external_pg_url:
        embedded_server(settings).stop()
    shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def settings():
    from lakehouse_core.settings import get_settings

    return get_settings()


@pytest.fixture(scope="session")
def postgres(settings):
    """A running Postgres (embedded, or LAKEHOUSE_PG_URL). Failing to start it is an error, never a skip."""
    from orchestration.services.postgres import ensure_postgres

    return ensure_postgres(settings)

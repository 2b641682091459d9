"""Server settings: command-line flags win over the environment, which wins over defaults.

The environment is read by the project's one settings module (`lakehouse_core.settings`, the
ground floor every package may import); this server imports nothing else of the project.
"""

from __future__ import annotations

from dataclasses import dataclass

from lakehouse_core.settings import MARQUEZ_DEFAULT_PORT, get_settings
from marquez import limits

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = MARQUEZ_DEFAULT_PORT
# Marquez itself accepts large events; 16 MiB covers dbt's biggest (full SQL + column lineage).
DEFAULT_MAX_BODY_BYTES = limits.MAX_BODY_BYTES


@dataclass(frozen=True)
class ServerConfig:
    db_url: str
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # Optional: when set, every /api/v1 request must carry `Authorization: Bearer <key>`.
    api_key: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    pool_size: int = 8
    # Durable by default: an acknowledged event is on disk. `off` lets Postgres acknowledge
    # before its WAL flush (up to ~0.6 s of acknowledged events lost if POSTGRES crashes; a
    # crash of this server loses nothing) for about 2x single-client ingest on slow disks.
    synchronous_commit: bool = True
    # How long a read waits for events stored before it to be applied to the model.
    read_wait_s: float = 10.0
    # Start the projector process beside the web server (off: run `python -m marquez project`).
    run_projector: bool = True

    @classmethod
    def from_env(cls, **overrides) -> "ServerConfig":
        settings = get_settings()
        values = {
            "db_url": settings.marquez_db_url,
            "host": settings.marquez_host,
            "port": settings.builtin_marquez_port,
            "api_key": settings.marquez_api_key,
            "max_body_bytes": settings.marquez_max_body_bytes,
            "synchronous_commit": settings.marquez_synchronous_commit,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values["db_url"]:
            raise ValueError("no database: pass --db-url or set MARQUEZ_DB_URL (postgresql://user@host:port/db)")
        return cls(**values)

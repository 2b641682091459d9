"""Server settings: command-line flags win over the environment, which wins over defaults.

The environment is read by the project's one settings module (`lakehouse_core.settings`, the
ground floor every package may import); this server imports nothing else of the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    # From the environment only (never the command line, where `ps` shows it); never in a repr.
    api_key: str | None = field(default=None, repr=False)
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
    # Host names answered (DNS rebinding guard) and Origins allowed to write; None: the loopback
    # names and `host`; ("*",): any.
    allowed_hosts: tuple[str, ...] | None = None
    # Events further in the future than this are refused; past times are welcome.
    max_future_s: float = limits.DEFAULT_MAX_FUTURE_SECONDS
    # A request body must arrive within this (408 otherwise).
    body_timeout_s: float = limits.BODY_READ_TIMEOUT_S
    # Acknowledgements are held while more events than this wait for the projector (0: never).
    max_pending_events: int = limits.DEFAULT_MAX_PENDING_EVENTS

    def hosts(self) -> frozenset[str]:
        """The Host names answered, lower-case, without port."""
        if self.allowed_hosts is not None:
            return frozenset(h.strip().lower().strip("[]") for h in self.allowed_hosts if h.strip())
        names = {"localhost", "127.0.0.1", "::1"}
        if self.host not in ("0.0.0.0", "::", ""):
            names.add(self.host.lower().strip("[]"))
        return frozenset(names)

    @classmethod
    def from_env(cls, **overrides) -> ServerConfig:
        settings = get_settings()
        values: dict[str, Any] = {
            "db_url": settings.marquez_db_url,
            "host": settings.marquez_host,
            "port": settings.builtin_marquez_port,
            "api_key": settings.marquez_api_key,
            "max_body_bytes": settings.marquez_max_body_bytes,
            "synchronous_commit": settings.marquez_synchronous_commit,
            "allowed_hosts": tuple(settings.marquez_allowed_hosts.split(","))
            if settings.marquez_allowed_hosts
            else None,
            "max_future_s": settings.marquez_max_future_seconds,
            "body_timeout_s": settings.marquez_body_timeout_seconds,
            "max_pending_events": settings.marquez_max_pending_events,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values["db_url"]:
            raise ValueError("no database: pass --db-url or set MARQUEZ_DB_URL (postgresql://user@host:port/db)")
        return cls(**values)

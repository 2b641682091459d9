"""Runtime configuration: one place that turns environment variables into paths and URLs.

Every path the project writes lives under the data directory (git-ignored). Values come
from the environment (see `.env.example`) with defaults that work on a fresh clone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt"


@dataclass(frozen=True)
class PostgresConnection:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_url(cls, url: str) -> "PostgresConnection":
        parts = urlsplit(url)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ValueError(f"LAKEHOUSE_PG_URL must start with postgresql://, got {url.split('://')[0]!r}")
        if not parts.hostname or not parts.path.strip("/"):
            raise ValueError("LAKEHOUSE_PG_URL must name a host and a database: postgresql://user:pw@host:port/db")
        return cls(
            host=parts.hostname,
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=parts.path.strip("/"),
        )

    @property
    def url(self) -> str:
        auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.dbname}"

    def with_db(self, dbname: str) -> "PostgresConnection":
        return PostgresConnection(self.host, self.port, self.user, self.password, dbname)


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    duckdb_path: Path
    external_pg_url: str | None
    embedded_pg_port: int

    @classmethod
    def from_env(cls) -> "Settings":
        data_dir = Path(os.environ.get("LAKEHOUSE_DATA_DIR", REPO_ROOT / "data")).resolve()
        duckdb_path = Path(os.environ.get("LAKEHOUSE_DUCKDB_PATH", data_dir / "lakehouse.duckdb")).resolve()
        return cls(
            data_dir=data_dir,
            duckdb_path=duckdb_path,
            external_pg_url=os.environ.get("LAKEHOUSE_PG_URL") or None,
            embedded_pg_port=int(os.environ.get("LAKEHOUSE_PG_PORT", "5433")),
        )

    @property
    def lineage_enabled(self) -> bool:
        """LAKEHOUSE_LINEAGE=off runs the pipeline without OpenLineage (plain dbt, no events):
        for measuring what lineage costs, or a deployment that does not want it."""
        return os.environ.get("LAKEHOUSE_LINEAGE", "on").strip().lower() not in ("off", "false", "0", "no")

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def raw_dir(self) -> Path:
        return Path(os.environ.get("LAKEHOUSE_RAW_DIR", self.lake_dir / "raw" / "bioreactor")).resolve()

    @property
    def quarantine_dir(self) -> Path:
        return self.lake_dir / "quarantine" / "bioreactor"

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def dagster_home(self) -> Path:
        return Path(os.environ.get("DAGSTER_HOME", self.data_dir / "dagster_home")).resolve()

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @cached_property
    def pg(self) -> PostgresConnection:
        if self.external_pg_url:
            return PostgresConnection.from_url(self.external_pg_url)
        return PostgresConnection("127.0.0.1", self.embedded_pg_port, "postgres", "", "lakehouse")

    def dbt_env(self) -> dict[str, str]:
        """Variables the dbt profiles read (dbt/profiles.yml)."""
        return {
            "LAKEHOUSE_DUCKDB_PATH": str(self.duckdb_path),
            "LAKEHOUSE_PG_HOST": self.pg.host,
            "LAKEHOUSE_PG_PORT": str(self.pg.port),
            "LAKEHOUSE_PG_USER": self.pg.user,
            "LAKEHOUSE_PG_PASSWORD": self.pg.password,
            "LAKEHOUSE_PG_DB": self.pg.dbname,
        }

    def export_dbt_env(self) -> None:
        """Put the dbt profile variables into this process's environment (dbt runs as a child)."""
        os.environ.update(self.dbt_env())


def get_settings() -> Settings:
    return Settings.from_env()

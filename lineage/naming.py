"""The naming authority: the only place that turns tables, lake paths and Dagster assets into
OpenLineage `(namespace, name)` pairs and job names.

Dataset identities follow the OpenLineage naming spec (via `openlineage.client.naming` where it
has a helper) and must equal what `dbt-ol` emits for the same relations, because Marquez joins
the Dagster side and the dbt side only on these strings:

| system    | namespace                           | name                         |
| --------- | ----------------------------------- | ---------------------------- |
| DuckDB    | `duckdb://<path as in the profile>` | `<file stem>.<schema>.<tbl>` |
| Postgres  | `postgres://<host>:<port>`          | `<db>.<schema>.<tbl>`        |
| lake dir  | `file`                              | `<absolute directory path>`  |

dbt-ol copies the DuckDB `path` and the Postgres `host`/`port` of the dbt profile verbatim into
the namespace, and the profile gets them from `Settings.dbt_env()`. So this module reads the
same settings and rewrites nothing (no DNS lookups, no `localhost` -> `127.0.0.1`): one host
string, the one the profile receives, is the canonical one.

Which relation an asset materializes is not written here: it is derived from the dbt manifests
(dbt models, seeds and snapshots, and the dbt sources that name the non-dbt asset they read
through `meta.dagster.asset_key`), so a new dbt model needs no entry (see `_asset_relations`).

Jobs live in one namespace (`OPENLINEAGE_NAMESPACE`, default `lakehouse`; dbt-ol reads the same
variable).

Stable identity. Marquez files a job whose run has a `parent` facet as `<parent job>.<job>`,
the parent named as the facet names it. If the parent were the Dagster job (`ingest_raw_data`,
`partition_pipeline`, an ad hoc run...), one asset would become one Marquez job per Dagster job
that ever ran it. So every Dagster run is a run of ONE Marquez job, `dagster` (which Dagster job
it was travels in the run's `tags` facet), and everything nests under that constant name:

- `dagster`: the Dagster run, parent of everything it starts;
- `dagster.asset.<asset key path joined with .>`: one asset materialization. Marquez files it
  under `dagster` with the very same name (it starts with `dagster.`), simple name
  `asset.<key>`: reading it back by its emitted name works;
- `dagster.dbt-run-<project>`: dbt-ol's wrapper run for one `dbt build` (its job name is set
  through `OPENLINEAGE_DBT_JOB_NAME`, so it is filed under `dagster` unchanged too), parent of
- `dagster.dbt-run-<project>.<db>.<schema>.<project>.<model>.build.run` (and `.build.test`): one
  dbt node, as dbt-ol names it, filed under its wrapper.

No dbt-ol job name and no asset name can collide: assets carry the `asset.` infix.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple, Protocol

from openlineage.client.naming.dataset import LocalFileSystem, Postgres

from lakehouse_core.settings import DBT_PROJECT_DIR, get_settings


class _HasPath(Protocol):
    @property
    def path(self) -> Sequence[str]: ...


# "a/b", ["a", "b"] or a Dagster AssetKey (anything with `.path`), without importing Dagster.
AssetKeyLike = str | Sequence[str] | _HasPath


class DatasetId(NamedTuple):
    namespace: str
    name: str


def job_namespace() -> str:
    return get_settings().openlineage_namespace


DAGSTER_RUN_JOB = "dagster"


def dagster_run_job_name() -> str:
    """The Marquez job of every Dagster run (see "Stable identity" above)."""
    return DAGSTER_RUN_JOB


def asset_job_name(asset_key: AssetKeyLike) -> str:
    return f"{DAGSTER_RUN_JOB}.asset." + ".".join(_key_path(asset_key))


def dbt_wrapper_job_name(project: str) -> str:
    """The job of dbt-ol's wrapper run for `dbt build` in `project` (OPENLINEAGE_DBT_JOB_NAME)."""
    return f"{DAGSTER_RUN_JOB}.dbt-run-{project}"


def dbt_node_job_name(project: str, node_job: str) -> str:
    """A dbt node's job as Marquez files it: under the wrapper, with dbt-ol's own name."""
    return f"{dbt_wrapper_job_name(project)}.{node_job}"


def duckdb_dataset(schema: str, table: str) -> DatasetId:
    # No DuckDB helper in openlineage.client.naming; this is dbt-ol's rule: dbt-duckdb names the
    # catalog after the file stem, and the namespace carries the profile's path as written.
    path = get_settings().duckdb_path
    return DatasetId(f"duckdb://{path}", f"{path.stem}.{schema}.{table}")


def postgres_dataset(schema: str, table: str) -> DatasetId:
    pg = get_settings().pg
    naming = Postgres(host=pg.host, port=str(pg.port), database=pg.dbname, schema=schema, table=table)
    return DatasetId(naming.get_namespace(), naming.get_name())


def lake_dataset(path: Path | str | None = None) -> DatasetId:
    """A lake directory (default: the raw bioreactor lake) as one dataset: the directory, not each
    file or `date=` folder, so every partition's run reads and writes the same dataset."""
    directory = Path(path).resolve() if path is not None else get_settings().raw_dir
    naming = LocalFileSystem(path=str(directory))
    return DatasetId(naming.get_namespace(), naming.get_name())


# Asset key -> (system, schema, table) of the relation the asset materializes, derived from the
# dbt manifests (one per target, `dbt/target/<target>/manifest.json`, which the code location
# prepares when it loads: orchestration/dbt_projects.py), nothing written by hand:
# - every dbt model, seed and snapshot: the relation dbt builds (its schema and alias), under
#   dagster-dbt's asset key (`meta.dagster.asset_key`, else the node's name);
# - every dbt source declaring `meta.dagster.asset_key`: the relation the source reads, which that
#   (non-dbt) asset materializes: `raw_bioreactor_data` is the view raw.bioreactor_readings
#   (dbt/models/staging/_sources.yml), `postgres/<table>` the publish copies the Postgres source
#   `curated` reads (dbt/models/marts/_sources.yml).
# The system is the manifest's adapter (`duckdb`, `postgres`). Every node is enabled for exactly
# one target (dbt_project.yml), so no asset appears in two manifests.
_RAW_ASSET = ("raw_bioreactor_data",)
DBT_TARGETS = ("duckdb", "postgres")


def dbt_manifest_paths() -> list[Path]:
    """Where each dbt target's manifest is (`--target-path target/<target>`)."""
    return [DBT_PROJECT_DIR / "target" / target / "manifest.json" for target in DBT_TARGETS]


def _asset_relations() -> dict[tuple[str, ...], tuple[str, str, str]]:
    stamps: list[tuple[str, int | None]] = []
    for path in dbt_manifest_paths():
        try:
            stamps.append((str(path), path.stat().st_mtime_ns))
        except FileNotFoundError:
            stamps.append((str(path), None))
    return _relations_of(tuple(stamps))


@lru_cache(maxsize=4)
def _relations_of(stamps: tuple[tuple[str, int | None], ...]) -> dict[tuple[str, ...], tuple[str, str, str]]:
    relations: dict[tuple[str, ...], tuple[str, str, str]] = {}
    for path, mtime in stamps:
        if mtime is not None:
            relations.update(relations_from_manifest(json.loads(Path(path).read_text())))
    return relations


def relations_from_manifest(manifest: Mapping) -> dict[tuple[str, ...], tuple[str, str, str]]:
    """Asset key -> (system, schema, table) of one dbt manifest (see above)."""
    system = manifest["metadata"]["adapter_type"]
    out: dict[tuple[str, ...], tuple[str, str, str]] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in ("model", "seed", "snapshot"):
            continue
        key = _dbt_asset_key(node)
        if key is None:
            name = node["name"] + (f"_v{node['version']}" if node.get("version") is not None else "")
            key = (name,)
        out[key] = (system, node["schema"], node.get("alias") or node["name"])
    for source in manifest.get("sources", {}).values():
        key = _dbt_asset_key(source)
        if key is not None:  # a source without an asset key is read, never materialized, by our assets
            out[key] = (system, source["schema"], source.get("identifier") or source["name"])
    return out


def _dbt_asset_key(node: Mapping) -> tuple[str, ...] | None:
    for meta in ((node.get("config") or {}).get("meta") or {}, node.get("meta") or {}):
        key = (meta.get("dagster") or {}).get("asset_key")
        if key:
            return tuple(key) if not isinstance(key, str) else tuple(key.split("/"))
    return None


_DATASET_BUILDERS = {"duckdb": duckdb_dataset, "postgres": postgres_dataset}


class UnknownAsset(LookupError):
    pass


def known_assets() -> list[tuple[str, ...]]:
    return list(_asset_relations())


def dataset_for_asset(asset_key: AssetKeyLike) -> DatasetId:
    """The dataset an asset materializes (its output, and the input of its downstream assets)."""
    key = _key_path(asset_key)
    try:
        system, schema, table = _asset_relations()[key]
    except KeyError:
        absent = [str(p) for p in dbt_manifest_paths() if not p.is_file()]
        why = (
            f"the dbt manifest {', '.join(absent)} is missing (loading the code location prepares it)"
            if absent
            else "it is neither a dbt model/seed/snapshot nor a dbt source with `meta.dagster.asset_key` in the dbt manifests"
        )
        raise UnknownAsset(f"no dataset is defined for asset {'/'.join(key)}: {why}") from None
    return _DATASET_BUILDERS[system](schema, table)


def external_inputs(asset_key: AssetKeyLike) -> list[DatasetId]:
    """Inputs of an asset that no Dagster asset produces: only the raw asset reads from outside
    the graph (the lake), and this edge is what connects the files to dbt-ol's graph."""
    return [lake_dataset()] if _key_path(asset_key) == _RAW_ASSET else []


def _key_path(asset_key: AssetKeyLike) -> tuple[str, ...]:
    path = getattr(asset_key, "path", asset_key)
    if isinstance(path, str):
        return tuple(path.split("/"))
    return tuple(str(part) for part in path)  # type: ignore[union-attr]  # a sequence of key parts


# --- Superset (bi/): the end of the graph -----------------------------------------------------
# Superset emits no OpenLineage of its own, so the project's provisioning (bi/provision.py) says
# what it built: one run of the job `superset.provision`, reading the mart and writing the
# Superset dataset and the dashboard, both named in the Superset instance's namespace
# `superset://<host>:<port>` (the loopback interface written `localhost`, as a browser reaches it).
# The job lives in that namespace too, not in OPENLINEAGE_NAMESPACE: no Dagster asset owns it, and
# `lineage diff` (which reads that namespace's jobs) would report it as an orphan. Marquez's graph
# crosses namespaces, so the raw files still reach the dashboard.
SUPERSET_PROVISION_JOB = "superset.provision"
_LOOPBACK = ("127.0.0.1", "0.0.0.0", "::", "::1", "localhost")


def superset_namespace(host: str | None = None, port: int | None = None) -> str:
    """`superset://localhost:8088` for the Superset on LAKEHOUSE_SUPERSET_HOST:LAKEHOUSE_SUPERSET_PORT."""
    settings = get_settings()
    host = host or settings.superset_host
    port = port or settings.superset_port_number
    return f"superset://{'localhost' if host in _LOOPBACK else host}:{port}"


def superset_dataset(name: str, namespace: str | None = None) -> DatasetId:
    """A Superset dataset (what its charts query) as an OpenLineage dataset: `dataset.<name>`."""
    return DatasetId(namespace or superset_namespace(), f"dataset.{name}")


def superset_dashboard(slug: str, namespace: str | None = None) -> DatasetId:
    """A Superset dashboard as an OpenLineage dataset: `dashboard.<slug>`."""
    return DatasetId(namespace or superset_namespace(), f"dashboard.{slug}")


def superset_job(namespace: str | None = None) -> tuple[str, str]:
    """(namespace, name) of the job that provisions or refreshes the Superset dataset and dashboard."""
    return namespace or superset_namespace(), SUPERSET_PROVISION_JOB

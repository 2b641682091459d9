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

from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple, Protocol

from openlineage.client.naming.dataset import LocalFileSystem, Postgres

from lakehouse_core.settings import get_settings



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


# Asset key -> (system, schema, table) of the relation the asset materializes. The dbt entries
# are the relations dbt builds (dbt/models, dbt/seeds; schemas from dbt_project.yml), the raw one
# is the view orchestration/ingest/duckdb_raw.py creates, the postgres/* ones are the publish
# copies that the dbt-postgres source `curated` reads.
_RAW_ASSET = ("raw_bioreactor_data",)
_ASSET_RELATIONS: dict[tuple[str, ...], tuple[str, str, str]] = {
    _RAW_ASSET: ("duckdb", "raw", "bioreactor_readings"),
    ("tag_specs",): ("duckdb", "staging", "tag_specs"),
    ("stg_bioreactor",): ("duckdb", "staging", "stg_bioreactor"),
    ("int_bioreactor_downsample_5m",): ("duckdb", "intermediate", "int_bioreactor_downsample_5m"),
    ("int_bioreactor_batch_tag_daily",): ("duckdb", "intermediate", "int_bioreactor_batch_tag_daily"),
    ("dim_batch",): ("duckdb", "curated", "dim_batch"),
    ("fact_bioreactor_batch_stats",): ("duckdb", "curated", "fact_bioreactor_batch_stats"),
    ("postgres", "dim_batch"): ("postgres", "curated", "dim_batch"),
    ("postgres", "fact_bioreactor_batch_stats"): ("postgres", "curated", "fact_bioreactor_batch_stats"),
    ("mart_bioreactor_overview",): ("postgres", "marts", "mart_bioreactor_overview"),
}

_DATASET_BUILDERS = {"duckdb": duckdb_dataset, "postgres": postgres_dataset}


class UnknownAsset(LookupError):
    pass


def known_assets() -> list[tuple[str, ...]]:
    return list(_ASSET_RELATIONS)


def dataset_for_asset(asset_key: AssetKeyLike) -> DatasetId:
    """The dataset an asset materializes (its output, and the input of its downstream assets)."""
    key = _key_path(asset_key)
    try:
        system, schema, table = _ASSET_RELATIONS[key]
    except KeyError:
        raise UnknownAsset(f"no dataset is defined for asset {'/'.join(key)}: add it to lineage/naming.py") from None
    return _DATASET_BUILDERS[system](schema, table)


def external_inputs(asset_key: AssetKeyLike) -> list[DatasetId]:
    """Inputs of an asset that no Dagster asset produces: only the raw asset reads from outside
    the graph (the lake), and this edge is what connects the files to dbt-ol's graph."""
    return [lake_dataset()] if _key_path(asset_key) == _RAW_ASSET else []


def _key_path(asset_key: AssetKeyLike) -> tuple[str, ...]:
    path = getattr(asset_key, "path", asset_key)
    if isinstance(path, str):
        return tuple(path.split("/"))
    return tuple(path)

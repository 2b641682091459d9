"""The expected lineage graph: a Dagster code location's asset graph, mapped through the naming
authority (`lineage/naming.py`) onto the OpenLineage datasets and Marquez jobs it should produce.

    graph = expected_graph(load_definitions("orchestration.definitions"))

For every materializable asset:
- its dataset: `naming.dataset_for_asset(key)` (or the `dataset_of` given);
- its Marquez job, as Marquez files it (namespace `naming.job_namespace()`):
  - a dbt model or snapshot (dagster-dbt metadata `dagster_dbt/unique_id`): the dbt node job
    under the dbt-ol wrapper, `naming.dbt_node_job_name(project, "<db>.<schema>.<project>.<model>.build.run")`,
    `<db>.<schema>` taken from the asset's `dagster/table_name` (= `<db>.<schema>.<table>`,
    dagster-dbt's metadata, equal to dbt-ol's dataset name). dbt seeds get no job from dbt-ol,
    so none is expected for them;
  - any other asset: `naming.asset_job_name(key)`;
- its upstream datasets: the datasets of its asset dependencies, plus the inputs no asset
  produces (`naming.external_inputs(key)`, e.g. the lake for the raw asset);
- its expected columns where known: the asset's `dagster/column_schema` metadata (dagster-dbt
  fills it from the dbt manifest's columns: only the documented ones, so for dbt assets a
  column Marquez has beyond them is not drift), else unknown (no schema check).

The jobs of the job namespace that are ours (`ExpectedGraph.owned_jobs`; any other is an orphan
job): `dagster` (the Dagster runs), `naming.asset_job_name(key)` of every asset, the jobs the
assets map to, and for each dbt manifest (`naming.dbt_manifest_paths()`, or the `dbt_manifests`
given) its project's wrapper `naming.dbt_wrapper_job_name(project)` and the node jobs dbt-ol
names for what the manifest holds now: `.build.run` of each model, `.build.snapshot` of each
snapshot, `.build.test` of each model or source a test reads, and each test's own job (named
by its unique id: dbt-ol gives one to each singular test) (`dbt_owned_jobs`).

An asset the naming authority does not know is not an error here: it is listed in
`ExpectedGraph.problems` (a configuration problem, which `lineage diff` reports with exit 2).

A code location other than the project's may name its datasets itself: pass `dataset_of`
(and `external_inputs_of`), or, through `lineage diff -m module`, define
`lineage_dataset_of(asset_key) -> DatasetId` (and optionally `lineage_external_inputs(asset_key)`)
in that module. Raising `naming.UnknownAsset` there marks an asset as unmapped.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lineage import naming
from lineage.diff.materializations import DagsterRuns, Materialized
from lineage.diff.tables import RealTables
from lineage.naming import DatasetId

TABLE_NAME_KEY = "dagster/table_name"
COLUMN_SCHEMA_KEY = "dagster/column_schema"
DBT_UNIQUE_ID_KEY = "dagster_dbt/unique_id"

DatasetOf = Callable[[Any], DatasetId]
ExternalInputsOf = Callable[[Any], Iterable[DatasetId]]


class ConfigurationError(Exception):
    """The code location cannot be loaded or mapped (exit 2 in `lineage diff`)."""


@dataclass(frozen=True)
class ExpectedAsset:
    key: str  # the asset key, path joined with "/"
    dataset: DatasetId
    job: str | None  # the Marquez job that writes `dataset`; None when nothing emits one (dbt seeds)
    upstream: tuple[DatasetId, ...]  # datasets the job should read
    columns: Mapping[str, str | None] | None = None  # name -> type (None: type unknown); None: unknown
    # False when `columns` may be a subset (dbt documents only some columns): then a column
    # Marquez has beyond them is not drift.
    columns_complete: bool = True


@dataclass
class ExpectedGraph:
    job_namespace: str
    assets: dict[str, ExpectedAsset] = field(default_factory=dict)
    external: set[DatasetId] = field(default_factory=set)  # inputs no asset produces (the lake)
    problems: list[str] = field(default_factory=list)  # configuration problems, one line each
    location: str = ""
    # asset key -> its last materialization in the Dagster instance (materializations.py);
    # None: no instance was read, so stale lineage is not checked.
    materialized: dict[str, Materialized] | None = None
    # The real tables' columns (tables.py); None: not read, so only declared columns are checked.
    tables: RealTables | None = None
    # Jobs of the job namespace that are ours (see the module's docstring); any other is an orphan job.
    owned_jobs: set[str] = field(default_factory=set)
    # The Dagster runs an open Marquez run is compared with (materializations.py); None: no
    # instance was read, so only the open-run threshold applies.
    dagster_runs: DagsterRuns | None = None

    def by_dataset(self) -> dict[DatasetId, ExpectedAsset]:
        return {asset.dataset: asset for asset in self.assets.values()}

    def dataset_namespaces(self) -> set[str]:
        """The namespaces our assets write: ours to reconcile. Namespaces that only hold external
        inputs (`file`, shared by everyone reading files) are not: their other datasets belong to
        others, so no orphan is looked for there."""
        return {a.dataset.namespace for a in self.assets.values()}


def load_definitions(module_or_name):
    """The `Definitions` of a code location module (a module, or its name), found as `dagster -m`
    does: a `Definitions` (or repository) object at module level, or a `@dg.definitions`
    function. A module named by a file path (`path/to/defs.py`) is imported from that file."""
    import dagster as dg

    module = import_location(module_or_name) if isinstance(module_or_name, str) else module_or_name
    module_name = module.__name__
    found = []
    for attr in dir(module):
        value = getattr(module, attr)
        if isinstance(value, dg.Definitions | dg.RepositoryDefinition) or _is_lazy_definitions(value):
            found.append((attr, value))
    if not found:
        raise ConfigurationError(f"no Dagster Definitions found in module {module_name}")
    if len(found) > 1:
        named = [v for a, v in found if a == "defs"]
        if len(named) != 1:
            raise ConfigurationError(
                f"module {module_name} holds several Definitions ({', '.join(a for a, _ in found)}): keep one, or name it `defs`"
            )
        value = named[0]
    else:
        value = found[0][1]
    try:
        return value() if _is_lazy_definitions(value) else value
    except Exception as exc:  # a code location that fails to load is a configuration problem
        raise ConfigurationError(
            f"loading the Definitions of {module_name} failed: {type(exc).__name__}: {exc}"
        ) from exc


def import_location(module_name: str):
    try:
        if module_name.endswith(".py"):
            path = Path(module_name).resolve()
            name = f"_lineage_diff_location_{path.stem}"  # never shadows an importable module
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
            return module
        return importlib.import_module(module_name)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"cannot import code location {module_name}: {type(exc).__name__}: {exc}") from exc


def _is_lazy_definitions(value: Any) -> bool:
    from dagster.components.definitions import LazyDefinitions

    return isinstance(value, LazyDefinitions)


def expected_graph(
    defs,
    *,
    dataset_of: DatasetOf | None = None,
    external_inputs_of: ExternalInputsOf | None = None,
    location: str = "",
    dbt_manifests: Iterable[Mapping] | None = None,
) -> ExpectedGraph:
    """Walk the asset graph of `defs` (a Definitions or RepositoryDefinition). `dbt_manifests`:
    the dbt manifests whose jobs are ours (default: the project's, `naming.dbt_manifest_paths()`)."""
    dataset_of = dataset_of or naming.dataset_for_asset
    external_inputs_of = external_inputs_of or naming.external_inputs
    asset_graph = defs.resolve_asset_graph() if hasattr(defs, "resolve_asset_graph") else defs.asset_graph
    graph = ExpectedGraph(job_namespace=naming.job_namespace(), location=location)
    graph.owned_jobs.add(naming.dagster_run_job_name())
    for manifest in _manifests() if dbt_manifests is None else dbt_manifests:
        graph.owned_jobs |= dbt_owned_jobs(manifest)

    datasets: dict[Any, DatasetId] = {}
    unmapped: set[Any] = set()
    for node in asset_graph.asset_nodes:
        try:
            datasets[node.key] = dataset_of(node.key)
        except naming.UnknownAsset as exc:
            unmapped.add(node.key)
            if node.is_materializable:
                graph.problems.append(f"asset {node.key.to_user_string()}: {exc}")

    for node in asset_graph.asset_nodes:
        if node.is_materializable:
            graph.owned_jobs.add(naming.asset_job_name(node.key))
        if not node.is_materializable or node.key in unmapped:
            continue
        key = node.key.to_user_string()
        upstream: list[DatasetId] = []
        for parent in sorted(node.parent_keys, key=lambda k: k.to_user_string()):
            if parent in datasets:
                upstream.append(datasets[parent])
            elif parent not in unmapped:  # a dependency on a key no definition declares
                graph.problems.append(f"asset {key} depends on {parent.to_user_string()}, which has no dataset")
        externals = list(external_inputs_of(node.key))
        graph.external.update(externals)
        upstream.extend(externals)
        metadata = node.metadata or {}
        try:
            job = _job_name(node.key, metadata)
        except ValueError as exc:
            graph.problems.append(f"asset {key}: {exc}")
            continue
        if job is not None:
            graph.owned_jobs.add(job)
        graph.assets[key] = ExpectedAsset(
            key=key,
            dataset=datasets[node.key],
            job=job,
            upstream=tuple(dict.fromkeys(upstream)),
            columns=_columns(metadata),
            columns_complete=not _plain(metadata.get(DBT_UNIQUE_ID_KEY)),
        )
    return graph


def _manifests() -> list[Mapping]:
    """The project's dbt manifests that exist (the code location writes them when it loads)."""
    manifests = []
    for path in naming.dbt_manifest_paths():
        try:
            manifests.append(json.loads(path.read_text()))
        except (FileNotFoundError, ValueError):
            continue  # no manifest (not built yet) or a half-written one: no dbt job is known from it
    return manifests


def dbt_owned_jobs(manifest: Mapping) -> set[str]:
    """The Marquez jobs dbt-ol gives what one dbt manifest holds, as Marquez files them (under
    the project's wrapper): the wrapper, `<db>.<schema>.<project>.<name>.build.run` of each model
    (`.build.snapshot` of each snapshot), `.build.test` of each model or source a test reads
    (dbt-ol files a node's generic tests as one job per tested node) and `<test unique id>` of
    each test (dbt-ol's job of a singular test)."""
    nodes = manifest.get("nodes") or {}
    sources = manifest.get("sources") or {}
    project = (manifest.get("metadata") or {}).get("project_name") or next(
        (n.get("package_name") for n in nodes.values() if n.get("package_name")), None
    )
    if not project:
        return set()
    jobs = {naming.dbt_wrapper_job_name(project)}

    def node_job(node: Mapping, suffix: str) -> str:
        unique_id = str(node["unique_id"])
        name = unique_id.removeprefix("model.").removeprefix("snapshot.")
        parts = [p for p in (node.get("database"), node.get("schema"), name) if p]
        return naming.dbt_node_job_name(project, ".".join(parts) + suffix)

    parent_map = manifest.get("parent_map") or {}
    for unique_id, node in nodes.items():
        kind = node.get("resource_type")
        if kind == "model":
            jobs.add(node_job(node, ".build.run"))
        elif kind == "snapshot":
            jobs.add(node_job(node, ".build.snapshot"))
        elif kind == "test":
            jobs.add(naming.dbt_node_job_name(project, str(unique_id)))
            parents = parent_map.get(unique_id) or (node.get("depends_on") or {}).get("nodes") or []
            for parent in parents:
                tested = nodes.get(parent) or sources.get(parent)
                if tested is not None and str(parent).startswith(("model.", "source.")):
                    jobs.add(node_job(tested, ".build.test"))
    return jobs


def _job_name(asset_key, metadata: Mapping[str, Any]) -> str | None:
    unique_id = _plain(metadata.get(DBT_UNIQUE_ID_KEY))
    if not unique_id:
        return naming.asset_job_name(asset_key)
    kind, _, rest = str(unique_id).partition(".")
    if kind not in ("model", "snapshot"):
        return None  # dbt-ol emits runs for models and snapshots only (seeds are inputs, not jobs)
    table_name = _plain(metadata.get(TABLE_NAME_KEY))
    parts = str(table_name or "").split(".")
    if len(parts) != 3:
        raise ValueError(f"dbt node {unique_id} has no `{TABLE_NAME_KEY}` of the form <db>.<schema>.<table>")
    project = rest.split(".")[0]
    suffix = ".build.run" if kind == "model" else ".build.snapshot"
    return naming.dbt_node_job_name(project, f"{parts[0]}.{parts[1]}.{rest}{suffix}")


def _plain(value: Any) -> Any:
    """A metadata entry's raw value (Dagster wraps some: TextMetadataValue and friends)."""
    return getattr(value, "value", value) if value is not None and not isinstance(value, str) else value


def _columns(metadata: Mapping[str, Any]) -> dict[str, str | None] | None:
    schema = _plain(metadata.get(COLUMN_SCHEMA_KEY))
    columns = getattr(schema, "columns", None)
    if not columns:
        return None
    return {c.name: (c.type if c.type and c.type != "?" else None) for c in columns}

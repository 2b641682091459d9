"""A synthetic code location for `bench/lineage_diff.py`: BENCH_DIFF_ASSETS assets (default 1,000),
t0 ... t{n-1}, where t{j} depends on t{j-1} and t{j-50} (the layered shape of the Marquez server
bench), each a DuckDB table of 12 declared columns. One multi-asset holds them all, so building
the location costs what Dagster's asset graph costs, not 10,000 Python functions."""

from __future__ import annotations

import os

import dagster as dg

from lineage import naming

N = int(os.environ.get("BENCH_DIFF_ASSETS", "1000"))
NAMESPACE = "duckdb:///bench/lineage_diff.duckdb"
COLUMNS = {f"c{i}": ("VARCHAR" if i % 3 == 0 else "DOUBLE") for i in range(12)}


def name(j: int) -> str:
    return f"t{j}"


def upstream(j: int) -> list[int]:
    return [u for u in (j - 1, j - 50) if u >= 0]


def lineage_dataset_of(asset_key) -> naming.DatasetId:
    (key,) = asset_key.path
    return naming.DatasetId(NAMESPACE, f"lineage_diff.main.{key}")


def lineage_external_inputs(asset_key) -> list[naming.DatasetId]:
    return []


_SCHEMA = dg.TableSchema(columns=[dg.TableColumn(c, t) for c, t in COLUMNS.items()])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(name(j), deps=[name(u) for u in upstream(j)], metadata={"dagster/column_schema": _SCHEMA})
        for j in range(N)
    ],
    can_subset=True,
)
def tables(context):
    for key in context.selected_asset_keys:
        yield dg.MaterializeResult(asset_key=key)


defs = dg.Definitions(assets=[tables])

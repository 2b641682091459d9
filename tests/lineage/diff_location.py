"""A small code location for the `lineage diff` tests: three plain assets, a -> b -> c.

`a` and `b` are DuckDB tables, `c` a Postgres table, all named through the naming authority's
own helpers; `a` reads a lake directory no asset produces. The module names its datasets itself
(`lineage_dataset_of`, `lineage_external_inputs`), the hooks `lineage diff -m` looks for, because
lineage/naming.py knows only the project's assets.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from lineage import naming

LAKE = Path(__file__).resolve().parent / "diff-lake"  # never read: only its name matters

# asset name -> (system, schema); the table is named after the asset
TABLES = {"a": ("duckdb", "main"), "b": ("duckdb", "main"), "b_v2": ("duckdb", "main"), "c": ("postgres", "marts")}
COLUMNS = {
    "a": {"batch_id": "VARCHAR", "ts": "TIMESTAMP", "tag": "VARCHAR", "value": "DOUBLE"},
    "b": {"batch_id": "VARCHAR", "ts": "TIMESTAMP", "value": "DOUBLE"},
    "c": {"batch_id": "text", "mean_value": "double precision"},
}


def _schema(name: str) -> dg.TableSchema:
    columns = COLUMNS["b" if name == "b_v2" else name]
    return dg.TableSchema(columns=[dg.TableColumn(n, t) for n, t in columns.items()])


def make_defs(b_name: str = "b", extra: tuple[str, ...] = ()) -> dg.Definitions:
    """The location; `b_name` renames the middle asset, `extra` adds plain assets downstream of c."""

    @dg.asset(name="a", metadata={"dagster/column_schema": _schema("a")})
    def a() -> None: ...

    @dg.asset(name=b_name, deps=["a"], metadata={"dagster/column_schema": _schema(b_name)})
    def b() -> None: ...

    @dg.asset(name="c", deps=[b_name], metadata={"dagster/column_schema": _schema("c")})
    def c() -> None: ...

    extras = []
    for name in extra:

        @dg.asset(name=name, deps=["c"])
        def _extra() -> None: ...

        extras.append(_extra)
    return dg.Definitions(assets=[a, b, c, *extras])


defs = make_defs()


def lineage_dataset_of(asset_key) -> naming.DatasetId:
    name = "/".join(asset_key.path)
    if name not in TABLES:
        raise naming.UnknownAsset(f"no dataset is defined for asset {name} in {__name__}")
    system, schema = TABLES[name]
    builder = naming.duckdb_dataset if system == "duckdb" else naming.postgres_dataset
    return builder(schema, name)


def lineage_external_inputs(asset_key) -> list[naming.DatasetId]:
    return [naming.lake_dataset(LAKE)] if list(asset_key.path) == ["a"] else []

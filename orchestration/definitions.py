"""The Dagster code location: everything under `orchestration/defs/` is loaded automatically."""

from functools import cache
from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    return _load()


@cache
def _load() -> dg.Definitions:
    # Built once per process: `dagster asset materialize` asks for the definitions six times
    # before its run starts (~0.4 s each after the first).
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    # One process per run: the DuckDB file takes a single writer, and step processes
    # would add start-up time to every asset.
    return dg.Definitions.merge(loaded, dg.Definitions(executor=dg.in_process_executor))

"""The Dagster code location: everything under `orchestration/defs/` is loaded automatically."""

from pathlib import Path

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    # One process per run: the DuckDB file takes a single writer, and step processes
    # would add start-up time to every asset.
    return dg.Definitions.merge(loaded, dg.Definitions(executor=dg.in_process_executor))

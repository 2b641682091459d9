"""The Dagster code location: everything under `orchestration/defs/` is loaded automatically."""

import gc
from functools import cache
from pathlib import Path

import dagster as dg

from orchestration.defs.selection import quiet_selection_beta_warning

# Here, at import, not while the defs/ folder loads: Dagster restores its warning filters after that.
quiet_selection_beta_warning()


@dg.definitions
def defs() -> dg.Definitions:
    return _load()


@cache
def _load() -> dg.Definitions:
    # Built once per process: `dagster asset materialize` asks for the definitions six times
    # before its run starts (~0.4 s each after the first).
    # Loading allocates millions of long-lived objects (dagster-dbt, dbt-core, both manifests):
    # the cyclic collector is paused meanwhile (it kept walking them: 0.3 s of a 1.8 s load), and
    # what was loaded is then frozen out of its sight (gc.freeze), so no full collection walks it
    # during the run nor at interpreter exit (a run's process took 1.1 s to exit, now 0.1 s).
    gc.disable()
    try:
        loaded = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
        # One process per run: the DuckDB file takes a single writer, and step processes
        # would add start-up time to every asset.
        merged = dg.Definitions.merge(loaded, dg.Definitions(executor=dg.in_process_executor))
        gc.freeze()
    finally:
        gc.enable()
    return merged

"""Asset selections as users write them: Dagster's own forms, plus the seed's names.

The seed named its dbt asset definitions `dbt_staging_models`, `dbt_curated_models` and
`dbt_postgres_marts`, and selected with them (`--select dbt_staging_models`,
`--select +dbt_postgres_marts`). They are the names of multi-assets (one Dagster asset per dbt
model, so Dagster's graph maps one-to-one onto Marquez datasets), not asset keys, so plain
`dagster asset materialize --select dbt_staging_models` selects nothing. Here each name means
every model of its multi-asset, which is exactly its group (`group:dbt_staging`, ...; a test
keeps the two equal), with Dagster's operators around it: `+name` that and everything
upstream, `name+` downstream, `N+name` N layers, and `*name` / `name*` as `+`. Everything else
(keys, `group:`, `tag:`, `key:`, `+`, `and`/`or`, commas) is Dagster's syntax, untouched.

`to_dagster()` rewrites a selection into what the plain `dagster` CLI accepts (the README's
table shows the same forms); `lakehouse materialize` / `lakehouse backfill` pass every
selection through it, and `materialize()` below is the Python equivalent of the seed's
`materialize([dbt_staging_models, dbt_curated_models])`, public Dagster API only.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dagster_shared.utils.warnings import BetaWarning

if TYPE_CHECKING:
    import dagster as dg

# The seed's name of each dbt multi-asset -> the group that holds exactly its models.
SEED_NAMES = {
    "dbt_staging_models": "dbt_staging",
    "dbt_curated_models": "dbt_curated",
    "dbt_postgres_marts": "dbt_postgres_marts",
}

# A seed name as a whole word (not part of a key, a `group:`/`key:` value or a path), with
# Dagster's traversal operators on either side.
_NAME = re.compile(
    r"(?<![\w:/\"'.-])(?P<up>\*|\d*\+)?(?P<name>" + "|".join(SEED_NAMES) + r")(?P<down>\*|\+\d*)?(?![\w/\"'.-])"
)


def quiet_selection_beta_warning() -> None:
    """Dagster's own selection parser passes its beta parameter `include_sources` to
    `AssetSelection.all` / `.groups` / ... for `*`, `group:...` (every such `--select`), and warns
    about it on every call: a warning about Dagster's internals that a user cannot act on. Only
    that message, raised from that parser, is silenced. Called when `orchestration.definitions`
    is imported: Dagster loads the `defs/` folder with its warnings switched off and its filters
    restored afterwards, so a filter set while this module loads there would not last."""
    warnings.filterwarnings(
        "ignore",
        message=r"Parameter `include_sources` of function `AssetSelection\.\w+` is currently in beta",
        category=BetaWarning,
        module=r"dagster\._core\.definitions\.antlr_asset_selection",
    )


quiet_selection_beta_warning()


def to_dagster(selection: str) -> str:
    """`selection` with the seed's names written as the groups they stand for, in Dagster's syntax:
    `dbt_staging_models` -> `group:dbt_staging`, `+dbt_postgres_marts` -> `+group:dbt_postgres_marts`,
    `*dbt_postgres_marts` -> `+group:dbt_postgres_marts`, `2+dbt_curated_models` -> `2+group:dbt_curated`."""

    def rewrite(match: re.Match[str]) -> str:
        up = match["up"] or ""
        down = match["down"] or ""
        up = "+" if up == "*" else up
        down = "+" if down == "*" else down
        return f"{up}group:{SEED_NAMES[match['name']]}{down}"

    return ",".join(_NAME.sub(rewrite, part.strip()) for part in selection.split(","))


def asset_selection(selection: str) -> dg.AssetSelection:
    """The `dg.AssetSelection` a selection string means (as `dagster asset materialize --select` reads it)."""
    import dagster as dg

    return dg.AssetSelection.from_coercible(to_dagster(selection).split(","))


def selected_keys(selection: str) -> list[str]:
    """The asset keys (`a/b` strings) a selection picks in the code location; ValueError if none
    or if the selection does not parse."""
    from orchestration.definitions import defs

    try:
        keys = asset_selection(selection).resolve(defs().resolve_asset_graph())
    except Exception as exc:  # Dagster's DagsterInvalidAssetSelectionError, CheckError, ...
        raise ValueError(f"the selection {selection!r} does not parse: {str(exc).splitlines()[0]}") from None
    if not keys:
        raise ValueError(f"the selection {selection!r} selects no asset")
    return sorted(key.to_user_string() for key in keys)


def materialize(
    selection: str | Sequence[dg.AssetsDefinition],
    day: str,
    last_day: str | None = None,
    *,
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize a selection for a day, or a range of days as ONE run, in this process, with
    the code location's resources (the seed's `materialize([dbt_staging_models, dbt_curated_models])`):

        from orchestration.defs.dbt_models import dbt_curated_models, dbt_staging_models
        from orchestration.defs.selection import materialize
        materialize([dbt_staging_models, dbt_curated_models], "2025-01-03")
        materialize("dbt_staging_models, dbt_curated_models", "2025-01-01", "2025-01-08")

    The run is recorded in the instance at DAGSTER_HOME (so it shows in the UI); upstream
    assets outside the selection are read as they are (materialize them first, e.g. `+name`).
    Built from public Dagster API only: `dg.materialize(assets, selection=..., resources=...,
    partition_key=...)` over the code location's assets."""
    import dagster as dg

    from orchestration.definitions import defs

    location = defs()
    if isinstance(selection, str):
        chosen: dg.AssetSelection = asset_selection(selection)
    else:
        chosen = dg.AssetSelection.assets(*selection)
    tags: dict[str, str] = {}
    partition_key: str | None = day
    if last_day is not None and last_day != day:
        partition_key = None
        tags = {"dagster/asset_partition_range_start": day, "dagster/asset_partition_range_end": last_day}
    assets = [
        a
        for a in [*(location.assets or []), *(location.asset_checks or [])]
        if isinstance(a, dg.AssetsDefinition | dg.AssetSpec | dg.SourceAsset)
    ]
    return dg.materialize(
        assets,
        selection=chosen,
        partition_key=partition_key,
        tags=tags,
        resources=dict(location.resources or {}),
        instance=instance or dg.DagsterInstance.get(),
    )

"""What a reader of the seed types works: its names of the dbt asset definitions in a selection,
`dagster job execute` of a partitioned job without a partition, dbt by hand from dbt/, and the
first look at the Dagster UI (partitions from the data's first day, no pop-up, no warnings)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

import dagster as dg
import pytest
import yaml

from lakehouse_core.settings import DBT_PROJECT_DIR, REPO_ROOT, VENV_BIN, Settings
from orchestration.defs.selection import SEED_NAMES, asset_selection, selected_keys, to_dagster


@pytest.mark.parametrize(
    ("seed", "dagster"),
    [
        ("dbt_staging_models", "group:dbt_staging"),
        ("dbt_curated_models", "group:dbt_curated"),
        ("dbt_postgres_marts", "group:dbt_postgres_marts"),
        ("+dbt_postgres_marts", "+group:dbt_postgres_marts"),
        ("*dbt_postgres_marts", "+group:dbt_postgres_marts"),
        ("dbt_curated_models+", "group:dbt_curated+"),
        ("dbt_curated_models*", "group:dbt_curated+"),
        ("2+dbt_curated_models", "2+group:dbt_curated"),
        ("dbt_staging_models,dbt_curated_models", "group:dbt_staging,group:dbt_curated"),
        ("dbt_staging_models, +dbt_postgres_marts", "group:dbt_staging,+group:dbt_postgres_marts"),
        ("dbt_staging_models or raw_bioreactor_data", "group:dbt_staging or raw_bioreactor_data"),
        # Dagster's own forms pass untouched, a seed name inside another name or value too.
        ("*", "*"),
        ("group:dbt_curated", "group:dbt_curated"),
        ("raw_bioreactor_data+", "raw_bioreactor_data+"),
        ("key:dbt_staging_models", "key:dbt_staging_models"),
        ("postgres/dim_batch", "postgres/dim_batch"),
        ("my_dbt_staging_models_x", "my_dbt_staging_models_x"),
    ],
)
def test_seed_names_are_written_as_dagster_forms(seed, dagster):
    assert to_dagster(seed) == dagster


def _keys(selection) -> set[str]:
    from orchestration.definitions import defs

    return {k.to_user_string() for k in selection.resolve(defs().resolve_asset_graph())}


def test_each_seed_name_selects_exactly_the_models_of_its_multi_asset():
    from orchestration.defs import dbt_models

    for name, group in SEED_NAMES.items():
        multi_asset = getattr(dbt_models, name)
        assert multi_asset.op.name == name
        models = {k.to_user_string() for k in multi_asset.keys}
        assert len(models) >= 1
        assert _keys(asset_selection(name)) == models, name
        assert _keys(dg.AssetSelection.groups(group)) == models, name  # the README's plain-dagster form
    # `+name`: the marts and everything upstream, back to the raw asset.
    upstream = set(selected_keys("+dbt_postgres_marts"))
    assert {
        "mart_bioreactor_overview",
        "postgres/dim_batch",
        "dim_batch",
        "stg_bioreactor",
        "raw_bioreactor_data",
    } <= upstream
    assert "int_bioreactor_downsample_5m" not in upstream  # not upstream of the mart
    with pytest.raises(ValueError, match="selects no asset"):
        selected_keys("key:dbt_staging_models")


def test_jobs_without_a_partition_run_the_latest_day_with_data(tmp_path, monkeypatch):
    """`dagster job execute -j transform_dbt_models` names no partition: the run is for the
    latest day in the lake (within the partitions), the last partition when the lake is empty."""
    from orchestration.defs.jobs import ingest_raw_data, partition_pipeline, transform_dbt_models
    from orchestration.partitions import default_day, first_and_last_day

    monkeypatch.setenv("LAKEHOUSE_RAW_DIR", str(tmp_path))
    assert default_day() == first_and_last_day()[1].isoformat()
    for day in ("2025-01-02", "2025-01-09", "2099-01-01", "2019-05-05"):
        (tmp_path / f"date={day}").mkdir()
    assert default_day() == "2025-01-09"
    for job in (ingest_raw_data, transform_dbt_models, partition_pipeline):
        assert set(job.run_tags) == {"dagster/partition"}, job.name


def test_partitions_start_where_the_demo_data_starts():
    import inspect

    from orchestration.datagen import generate_bioreactor_data

    demo_start = inspect.signature(generate_bioreactor_data).parameters["start_date"].default
    assert Settings.model_fields["partitions_start"].default == dt.date.fromisoformat(demo_start)


def test_the_ui_has_no_onboarding_pop_up(tmp_path):
    """The webserver asks `shouldShowNux` (instance.nux_enabled and not seen) before it opens
    Dagster's "join the community" dialog over the page: off in the instance the template makes."""
    import shutil

    config = yaml.safe_load((REPO_ROOT / "orchestration" / "dagster.yaml").read_text())
    assert config["nux"] == {"enabled": False}
    assert config["telemetry"] == {"enabled": False}
    shutil.copy(REPO_ROOT / "orchestration" / "dagster.yaml", tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.nux_enabled is False
    # A home made from an older template (before `nux`) gets the section when it is next prepared.
    from orchestration.services.dagster_dev import _add_new_template_sections

    older = tmp_path / "older"
    older.mkdir()
    (older / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    _add_new_template_sections(older / "dagster.yaml")
    _add_new_template_sections(older / "dagster.yaml")  # idempotent
    merged = yaml.safe_load((older / "dagster.yaml").read_text())
    assert merged["nux"] == {"enabled": False}
    assert merged["telemetry"] == {"enabled": True}  # what the home set is kept
    assert (older / "dagster.yaml").read_text().count("nux:") == 1
    with dg.DagsterInstance.from_config(str(older)) as instance:
        assert instance.nux_enabled is False


def test_dbt_children_print_no_colour_codes(settings):
    env = settings.dbt_env()
    assert env["DBT_USE_COLORS"] == "false"
    assert env["DBT_USE_COLORS_FILE"] == "false"


def test_dagster_cli_children_skip_only_the_supersession_notices(settings, monkeypatch):
    monkeypatch.setenv("PYTHONWARNINGS", "error::ResourceWarning")
    filters = Settings.from_env().dagster_cli_env()["PYTHONWARNINGS"].split(",")
    assert filters[0] == "error::ResourceWarning"  # the user's own are kept
    assert filters[1:] == [
        "ignore:Function `asset_materialize_command` is superseded:FutureWarning",
        "ignore:Function `job_execute_command` is superseded:FutureWarning",
        "ignore:Function `dev_command` is superseded:FutureWarning",
    ]


def test_selection_parsing_raises_no_beta_warning():
    """Dagster's parser warns about its own beta `include_sources` for `*` and `group:` on every
    `--select`; the code location filters exactly that message (orchestration/defs/selection.py)."""
    parse = (
        "import dagster as dg; [dg.AssetSelection.from_coercible([s]) for s in ('*', 'group:dbt_curated', '+group:x')]"
    )

    def stderr(code: str) -> str:
        return subprocess.run(
            [str(VENV_BIN / "python"), "-W", "default", "-c", code], capture_output=True, text=True, timeout=120
        ).stderr

    assert "BetaWarning" in stderr(parse)  # Dagster's own behaviour, which the filter answers
    # As the `dagster` CLI does it: the code location loads, then Dagster parses `--select`.
    quiet = stderr("from orchestration.definitions import defs; defs(); " + parse)
    assert "BetaWarning" not in quiet, quiet
    assert "Warning" not in quiet, quiet


def test_dbt_by_hand_from_dbt_needs_no_variables(tmp_path):
    """The seed's `cd dbt && dbt run --select tag:stg`: the profile renders with no LAKEHOUSE_*
    variable set, and points at the project's DuckDB file relative to dbt/."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAKEHOUSE_")}
    env.update(DBT_SEND_ANONYMOUS_USAGE_STATS="false", DBT_TARGET_PATH=str(tmp_path / "target"),
               DBT_LOG_PATH=str(tmp_path / "logs"))  # fmt: skip
    done = subprocess.run(
        [str(VENV_BIN / "dbt"), "ls", "--select", "tag:stg", "--resource-type", "model"],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "stg_bioreactor" in done.stdout
    profile = (DBT_PROJECT_DIR / "profiles.yml").read_text()
    assert "env_var('LAKEHOUSE_DUCKDB_PATH', env_var('LAKEHOUSE_DATA_DIR', '../data') ~ '/lakehouse.duckdb')" in profile
    assert (DBT_PROJECT_DIR / ".." / "data").resolve() == Path(REPO_ROOT / "data").resolve()

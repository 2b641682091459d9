"""The naming authority: every project asset's (namespace, name), from configuration only."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from lineage import naming
from lineage.naming import DatasetId
from lakehouse_core.settings import get_settings

DUCK = "duckdb"
PG = "postgres"
# asset key -> (system, dataset name): names as dbt-duckdb / dbt-postgres name the relations.
EXPECTED = {
    ("raw_bioreactor_data",): (DUCK, "lakehouse.raw.bioreactor_readings"),
    ("tag_specs",): (DUCK, "lakehouse.staging.tag_specs"),
    ("stg_bioreactor",): (DUCK, "lakehouse.staging.stg_bioreactor"),
    ("int_bioreactor_downsample_5m",): (DUCK, "lakehouse.intermediate.int_bioreactor_downsample_5m"),
    ("int_bioreactor_batch_tag_daily",): (DUCK, "lakehouse.intermediate.int_bioreactor_batch_tag_daily"),
    ("dim_batch",): (DUCK, "lakehouse.curated.dim_batch"),
    ("fact_bioreactor_batch_stats",): (DUCK, "lakehouse.curated.fact_bioreactor_batch_stats"),
    ("postgres", "dim_batch"): (PG, "lakehouse.curated.dim_batch"),
    ("postgres", "fact_bioreactor_batch_stats"): (PG, "lakehouse.curated.fact_bioreactor_batch_stats"),
    ("mart_bioreactor_overview",): (PG, "lakehouse.marts.mart_bioreactor_overview"),
}


@pytest.fixture
def default_pg(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_PG_URL", raising=False)
    monkeypatch.setenv("LAKEHOUSE_PG_PORT", "5433")


def test_every_project_asset_is_named(data_dir: Path, default_pg):
    namespaces = {DUCK: f"duckdb://{data_dir}/lakehouse.duckdb", PG: "postgres://127.0.0.1:5433"}
    assert set(naming.known_assets()) == set(EXPECTED)
    for key, (system, name) in EXPECTED.items():
        assert naming.dataset_for_asset(key) == DatasetId(namespaces[system], name), key


def test_asset_key_forms_agree():
    expected = naming.dataset_for_asset(("postgres", "dim_batch"))
    assert naming.dataset_for_asset("postgres/dim_batch") == expected
    assert naming.dataset_for_asset(["postgres", "dim_batch"]) == expected
    assert naming.dataset_for_asset(dg.AssetKey(["postgres", "dim_batch"])) == expected


def test_unknown_asset_is_an_error():
    with pytest.raises(naming.UnknownAsset, match="no_such_asset"):
        naming.dataset_for_asset("no_such_asset")


def test_raw_asset_reads_the_lake_directory(data_dir: Path, monkeypatch):
    lake = DatasetId("file", str(data_dir / "lake" / "raw" / "bioreactor"))
    assert naming.external_inputs("raw_bioreactor_data") == [lake]
    assert naming.lake_dataset() == lake
    assert naming.external_inputs("stg_bioreactor") == []
    # LAKEHOUSE_RAW_DIR moves the lake, and the dataset with it; relative paths are made absolute.
    monkeypatch.chdir(data_dir.parent)
    monkeypatch.setenv("LAKEHOUSE_RAW_DIR", "elsewhere/raw")
    moved = DatasetId("file", str(data_dir.parent / "elsewhere" / "raw"))
    assert naming.external_inputs("raw_bioreactor_data") == [moved]
    assert naming.lake_dataset("elsewhere/raw") == naming.lake_dataset()


def test_duckdb_identity_follows_the_profile_path(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_DUCKDB_PATH", str(tmp_path / "wh" / "warehouse.db"))
    dataset = naming.dataset_for_asset("dim_batch")
    assert dataset == DatasetId(f"duckdb://{tmp_path}/wh/warehouse.db", "warehouse.curated.dim_batch")
    # dbt-ol writes `duckdb://` + the profile's `path`, which is LAKEHOUSE_DUCKDB_PATH from dbt_env().
    assert dataset.namespace == "duckdb://" + get_settings().dbt_env()["LAKEHOUSE_DUCKDB_PATH"]


@pytest.mark.parametrize(
    ("url", "namespace", "name"),
    [
        # Host names are case-insensitive: lower-cased once, in settings, for dbt and for us alike.
        ("postgresql://etl:s3cret@DB.Example.COM:6543/analytics", "postgres://db.example.com:6543", "analytics"),
        ("postgres://etl@10.0.0.5/warehouse", "postgres://10.0.0.5:5432", "warehouse"),
        ("postgresql://etl@localhost:5433/lakehouse", "postgres://localhost:5433", "lakehouse"),
    ],
)
def test_postgres_host_is_the_one_the_profile_gets(monkeypatch, url, namespace, name):
    monkeypatch.setenv("LAKEHOUSE_PG_URL", url)
    dataset = naming.postgres_dataset("curated", "dim_batch")
    assert dataset == DatasetId(namespace, f"{name}.curated.dim_batch")
    assert "s3cret" not in dataset.namespace and "etl" not in dataset.namespace
    # The string dbt-ol builds from the profile (host/port from Settings.dbt_env()).
    env = get_settings().dbt_env()
    assert dataset.namespace == f"postgres://{env['LAKEHOUSE_PG_HOST']}:{env['LAKEHOUSE_PG_PORT']}"


def test_embedded_postgres_is_127_0_0_1(default_pg, monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_PG_PORT", "5440")
    assert naming.dataset_for_asset("mart_bioreactor_overview") == DatasetId(
        "postgres://127.0.0.1:5440", "lakehouse.marts.mart_bioreactor_overview"
    )


def test_job_names(monkeypatch):
    assert naming.job_namespace() == "lakehouse"
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "lakehouse_dev")
    assert naming.job_namespace() == "lakehouse_dev"
    assert naming.asset_job_name("raw_bioreactor_data") == "dagster.asset.raw_bioreactor_data"
    assert naming.asset_job_name(dg.AssetKey(["postgres", "dim_batch"])) == "dagster.asset.postgres.dim_batch"
    # Stable identity: one Marquez job for every Dagster run, whatever Dagster job it was.
    assert naming.dagster_run_job_name() == "dagster"
    assert naming.dbt_wrapper_job_name("bioreactor") == "dagster.dbt-run-bioreactor"
    node = "lakehouse.staging.bioreactor.stg_bioreactor.build.run"
    assert naming.dbt_node_job_name("bioreactor", node) == f"dagster.dbt-run-bioreactor.{node}"

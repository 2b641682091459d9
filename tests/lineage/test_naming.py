"""The naming authority: every project asset's (namespace, name), from configuration and the
dbt manifests only."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from lakehouse_core.settings import get_settings
from lineage import naming
from lineage.naming import DatasetId

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


# lineage/naming.py's hand-written table before the mapping was derived from the dbt manifests:
# the derived one must give exactly these relations, so every name stays byte-identical.
HAND_WRITTEN = {
    ("raw_bioreactor_data",): ("duckdb", "raw", "bioreactor_readings"),
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


@pytest.fixture(autouse=True, scope="module")
def dbt_manifests():
    """The manifests the mapping is derived from, as the code location prepares them (dbt parse
    when missing or older than the dbt sources)."""
    import orchestration.dbt_projects  # noqa: F401


@pytest.fixture
def default_pg(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_PG_URL", raising=False)
    monkeypatch.setenv("LAKEHOUSE_PG_PORT", "5433")


def test_every_project_asset_is_named(data_dir: Path, default_pg):
    namespaces = {DUCK: f"duckdb://{data_dir}/lakehouse.duckdb", PG: "postgres://127.0.0.1:5433"}
    assert set(naming.known_assets()) == set(EXPECTED)
    for key, (system, name) in EXPECTED.items():
        assert naming.dataset_for_asset(key) == DatasetId(namespaces[system], name), key


def test_derived_mapping_equals_the_hand_written_one(data_dir: Path, default_pg):
    assert naming._asset_relations() == HAND_WRITTEN
    for key, (system, schema, table) in HAND_WRITTEN.items():
        builder = naming.duckdb_dataset if system == DUCK else naming.postgres_dataset
        assert naming.dataset_for_asset(key) == builder(schema, table), key


def test_every_materializable_asset_of_the_code_location_is_named():
    from lineage.diff import expected_graph, load_definitions

    graph = expected_graph(load_definitions("orchestration.definitions"))
    assert graph.problems == []
    assert {tuple(key.split("/")) for key in graph.assets} == set(HAND_WRITTEN)


def test_a_new_dbt_model_needs_no_naming_entry():
    """A model, a seed, a versioned model and a source declaring its asset, as dbt writes them in a
    manifest: each gets its relation; a source without an asset key is nobody's output."""
    manifest = {
        "metadata": {"adapter_type": "duckdb"},
        "nodes": {
            "model.p.new_model": {"resource_type": "model", "name": "new_model", "schema": "curated", "alias": "new_model"},
            "model.p.aliased": {"resource_type": "model", "name": "aliased", "schema": "marts", "alias": "table_x",
                                "config": {"meta": {"dagster": {"asset_key": ["team", "aliased"]}}}},
            "model.p.v": {"resource_type": "model", "name": "v", "version": 2, "schema": "s", "alias": "v_v2"},
            "seed.p.codes": {"resource_type": "seed", "name": "codes", "schema": "staging", "alias": "codes"},
            "test.p.not_null": {"resource_type": "test", "name": "not_null", "schema": "s", "alias": "t"},
        },
        "sources": {
            "source.p.raw.readings": {"name": "readings", "identifier": "readings_v", "schema": "raw",
                                      "meta": {"dagster": {"asset_key": ["raw_asset"]}}},
            "source.p.raw.other": {"name": "other", "schema": "raw"},
        },
    }  # fmt: skip
    assert naming.relations_from_manifest(manifest) == {
        ("new_model",): ("duckdb", "curated", "new_model"),
        ("team", "aliased"): ("duckdb", "marts", "table_x"),
        ("v_v2",): ("duckdb", "s", "v_v2"),
        ("codes",): ("duckdb", "staging", "codes"),
        ("raw_asset",): ("duckdb", "raw", "readings_v"),
    }


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

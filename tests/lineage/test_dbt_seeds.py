"""The seed bridge on its own: a dbt-ol node event gains the seeds its node depends on."""

from __future__ import annotations

import json

from lineage import naming
from lineage.dbt_seeds import add_seed_inputs

MANIFEST = {
    "nodes": {
        "seed.proj.tag_specs": {
            "resource_type": "seed",
            "name": "tag_specs",
            "schema": "staging",
            "alias": "tag_specs",
        },
        "model.proj.stg": {
            "resource_type": "model",
            "depends_on": {"nodes": ["seed.proj.tag_specs", "source.proj.raw"]},
        },
        "model.proj.mart": {"resource_type": "model", "depends_on": {"nodes": ["model.proj.stg"]}},
    }
}


def _event(unique_id: str, output) -> dict:
    return {
        "job": {"name": "x", "namespace": "lakehouse", "facets": {"dbt_node": {"unique_id": unique_id}}},
        "inputs": [],
        "outputs": [{"namespace": output.namespace, "name": output.name}],
    }


def test_seed_parents_become_inputs_named_by_the_authority(tmp_path, monkeypatch):
    (tmp_path / "manifest.json").write_text(json.dumps(MANIFEST))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path))
    stg = naming.duckdb_dataset("staging", "stg")
    enriched = add_seed_inputs(_event("model.proj.stg", stg))
    assert [(i["namespace"], i["name"]) for i in enriched["inputs"]] == [
        tuple(naming.duckdb_dataset("staging", "tag_specs"))
    ]
    # Twice is once; nodes without seed parents and non-dbt events pass unchanged.
    assert add_seed_inputs(enriched)["inputs"] == enriched["inputs"]
    mart = _event("model.proj.mart", stg)
    assert add_seed_inputs(mart) == mart
    plain = {"job": {"name": "dagster", "facets": {}}, "inputs": [], "outputs": []}
    assert add_seed_inputs(plain) == plain


def test_no_manifest_no_change(tmp_path, monkeypatch):
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "missing"))
    event = _event("model.proj.stg", naming.duckdb_dataset("staging", "stg"))
    assert add_seed_inputs(event) == event

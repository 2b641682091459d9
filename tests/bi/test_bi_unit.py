"""bi/ without a running Superset: its floors, its lineage event, its names and its config."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from openlineage.client.serde import Serde

from bi import dashboard, instance, provision
from bi.lineage import ProvisionRun
from lineage import naming
from tests.openlineage_spec import validator

BI = Path(__file__).resolve().parents[2] / "bi"
PROJECT_PACKAGES = ("lakehouse_core", "orchestration", "lineage", "lineage_ui", "marquez", "bi")


def _project_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found += [f"{path.name} imports {n}" for n in names if n.split(".")[0] in PROJECT_PACKAGES]
    return found


def test_bi_imports_only_the_ground_floor_and_lineage():
    climbing = [
        line
        for path in sorted(BI.glob("*.py"))
        for line in _project_imports(path)
        if line.split(" imports ")[1].split(".")[0] not in ("lakehouse_core", "lineage", "bi")
    ]
    assert climbing == []


def test_bi_never_reads_the_environment():
    readers = []
    for path in sorted(BI.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
                readers.append(f"{path.name}:{node.lineno}")
    assert readers == []


def test_the_provision_event_is_valid_openlineage_from_the_mart_to_the_dashboard():
    run = ProvisionRun(naming.superset_namespace(port=8088))
    check = validator()
    mart = naming.dataset_for_asset("mart_bioreactor_overview")
    for event in (run.start(), run.complete([("batch_id", "TEXT")], {"dashboard": "http://x", "dataset": "http://y"}),
                  run.fail(RuntimeError("boom"))):  # fmt: skip
        body = json.loads(Serde.to_json(event))
        check(body)
        assert (body["job"]["namespace"], body["job"]["name"]) == ("superset://localhost:8088", "superset.provision")
        assert [(d["namespace"], d["name"]) for d in body["inputs"]] == [tuple(mart)]
        assert [(d["namespace"], d["name"]) for d in body["outputs"]] == [
            ("superset://localhost:8088", "dataset.marts.mart_bioreactor_overview"),
            ("superset://localhost:8088", "dashboard.bioreactor-overview"),
        ]
        assert {body["run"]["runId"]} == {run.run_id}


def test_superset_names():
    assert naming.superset_namespace("0.0.0.0", 8088) == "superset://localhost:8088"
    assert naming.superset_namespace("bi.plant.internal", 443) == "superset://bi.plant.internal:443"
    assert naming.superset_dashboard("x", "superset://h:1") == ("superset://h:1", "dashboard.x")


def test_the_layout_places_every_chart_once():
    ids = {chart.key: number for number, chart in enumerate(dashboard.CHARTS, start=1)}
    layout = dashboard.position_json(ids)
    placed = [v["meta"]["chartId"] for v in layout.values() if isinstance(v, dict) and v.get("type") == "CHART"]
    assert sorted(placed) == sorted(ids.values())


def test_secrets_are_generated_once_into_the_data_dir_and_never_rendered(settings, tmp_path, monkeypatch):
    from lakehouse_core.settings import get_settings

    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LAKEHOUSE_SUPERSET_ADMIN_PASSWORD", raising=False)
    monkeypatch.delenv("LAKEHOUSE_BI_PASSWORD", raising=False)
    current = get_settings()
    first = instance.admin_password(current)
    assert first == instance.admin_password(current) and len(first) >= 12
    assert (tmp_path / "superset" / "admin_password").stat().st_mode & 0o777 == 0o600
    assert instance.bi_password(current) != first
    config = instance.write_config(current).read_text()
    secret = instance.secret_key_path(current).read_text().strip()
    assert secret not in config and first not in config
    assert (tmp_path / "superset" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_the_connection_uri_quotes_the_password(settings):
    uri = provision.sqlalchemy_uri(settings.pg, "bi_reader", "p@ss:w/rd")
    assert "p%40ss%3Aw%2Frd@" in uri and uri.startswith("postgresql+psycopg2://bi_reader:")

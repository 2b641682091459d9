"""`lineage diff` on the real pipeline: the project's own code location (orchestration.definitions,
the production naming path) against the Marquez that test_lineage_e2e's run delivered to (one
day end to end, then the raw asset again through `ingest_raw_data`).

Known gap, found by this very diff: dbt-ol 1.54 emits a model's `model.` and `source.` parents as
inputs but never its `seed.` parents (openlineage/common/provider/dbt/processor.py,
parse_execution), and no event writes a seed, so the seed `tag_specs` never reaches Marquez and
the edges tag_specs -> stg_bioreactor / int_bioreactor_batch_tag_daily /
fact_bioreactor_batch_stats are missing from its graph. Until the project bridges seeds itself
(as it does for the lake files), that is the one drift a full run shows, and nothing else.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from lineage import naming
from lineage.cli import app
from lineage.diff.drift import dataset_node
from tests.integration.test_lineage_e2e import lineage_run  # noqa: F401  (the module fixture)

pytestmark = pytest.mark.integration


def test_diff_after_a_full_run_reports_only_the_seed_gap(lineage_run):  # noqa: F811
    result = CliRunner().invoke(app, ["diff", "--url", lineage_run["url"], "--format", "json", "--fail-on", "info"])
    assert result.stdout.startswith("{"), result.output
    report = json.loads(result.stdout)
    assert report["summary"]["assets"] == 10
    drifts = [(d["kind"], d["subject"]) for d in report["drifts"]]
    seed = naming.dataset_for_asset("tag_specs")
    assert drifts == [("missing_dataset", dataset_node(seed))], json.dumps(report["drifts"], indent=2)
    assert result.exit_code == 1

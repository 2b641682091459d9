"""Where the lineage UI listens, which Marquez it proxies, and where the last drift report is.

Read from the environment only (this package imports nothing from `orchestration/`):
    LINEAGE_UI_PORT       port (default 3002)
    LINEAGE_UI_HOST       interface (default 127.0.0.1)
    LINEAGE_DIFF_REPORT   the `lineage diff` report file; else $LAKEHOUSE_DATA_DIR/lineage/diff/last.json
    LAKEHOUSE_DATA_DIR    default <repo>/data
    MARQUEZ_URL / MARQUEZ_PORT / MARQUEZ_API_KEY: through `marquez.choose.resolve()`, as everywhere
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from marquez.choose import MarquezTarget, resolve

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 3002
DIST_DIR = REPO_ROOT / "ui" / "dist"


def drift_report_path(environ: Mapping[str, str] | None = None) -> Path:
    """The file `lineage diff` writes its last report to (the contract both sides keep)."""
    env = os.environ if environ is None else environ
    if env.get("LINEAGE_DIFF_REPORT"):
        return Path(env["LINEAGE_DIFF_REPORT"]).resolve()
    data_dir = Path(env.get("LAKEHOUSE_DATA_DIR") or REPO_ROOT / "data").resolve()
    return data_dir / "lineage" / "diff" / "last.json"


def port_from_env(environ: Mapping[str, str] | None = None) -> int:
    env = os.environ if environ is None else environ
    raw = env.get("LINEAGE_UI_PORT") or str(DEFAULT_PORT)
    try:
        port = int(raw)
    except ValueError:
        raise ValueError(f"LINEAGE_UI_PORT must be a port number, got {raw!r}") from None
    if not 0 < port < 65536:
        raise ValueError(f"LINEAGE_UI_PORT must be between 1 and 65535, got {port}")
    return port


@dataclass(frozen=True)
class UiConfig:
    marquez: MarquezTarget
    drift_report: Path
    dist_dir: Path = DIST_DIR
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "UiConfig":
        env = os.environ if environ is None else environ
        values = dict(
            marquez=resolve(env),
            drift_report=drift_report_path(env),
            host=env.get("LINEAGE_UI_HOST") or "127.0.0.1",
            port=port_from_env(env),
        )
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

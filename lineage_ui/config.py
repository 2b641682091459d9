"""Where the lineage UI listens, which Marquez it proxies, and where the last drift report is.

All of it comes from the project's settings (`lakehouse_core.settings`): LINEAGE_UI_HOST,
LINEAGE_UI_PORT, the drift report `lineage diff` writes (LINEAGE_DIFF_REPORT, else under the data
dir), and the Marquez `lakehouse_core.marquez.resolve()` picks, as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from lakehouse_core.marquez import MarquezTarget, resolve
from lakehouse_core.settings import UI_DIST_DIR, Settings, get_settings

DIST_DIR = UI_DIST_DIR


@dataclass(frozen=True)
class UiConfig:
    marquez: MarquezTarget
    drift_report: Path
    dist_dir: Path = DIST_DIR
    host: str = "127.0.0.1"
    port: int = 3002

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides) -> UiConfig:
        """The settings' values; `overrides` that are not None win (the serve command's flags)."""
        settings = settings or get_settings()
        config = cls(
            marquez=resolve(settings=settings),
            drift_report=settings.diff_report_path,
            host=settings.lineage_ui_host,
            port=settings.ui_port,
        )
        return replace(config, **{k: v for k, v in overrides.items() if v is not None})

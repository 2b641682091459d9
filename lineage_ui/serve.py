"""Run the lineage UI server (uvicorn) in the foreground."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from lineage_ui.app import create_app
from lineage_ui.config import UiConfig


def run(config: UiConfig) -> None:
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="warning", access_log=False)


def cli(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lineage_ui", description="The lineage UI (:3002).")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the built UI, the Marquez proxy and the drift report")
    serve.add_argument("--host", help="interface (default 127.0.0.1; LINEAGE_UI_HOST)")
    serve.add_argument("--port", type=int, help="port (default 3002; LINEAGE_UI_PORT)")
    args = parser.parse_args(argv)
    try:
        config = UiConfig.from_settings(host=args.host, port=args.port)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    if not (config.dist_dir / "index.html").exists():
        print(
            f"warning: {config.dist_dir} has no build yet: run `make ui`; pages answer 503 until then", file=sys.stderr
        )
    print(
        f"Lineage UI on http://{config.host}:{config.port}  (Marquez {config.marquez.url}; drift report {config.drift_report})",
        flush=True,
    )
    run(config)

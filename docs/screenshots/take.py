"""Screenshots of the lineage UI for the README, from a running UI (after `make demo` and `lineage diff`).

    .venv/bin/python docs/screenshots/take.py [http://localhost:3002]

Headless Debian Chromium through Playwright; writes the PNGs next to this file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import quote

import requests
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent


def main(base: str) -> None:
    found = requests.get(f"{base}/api/v1/search", params={"q": "mart_bioreactor_overview"}, timeout=30).json()["results"]
    mart = next(r for r in found if r["type"] == "DATASET")
    drift = requests.get(f"{base}/lineage-ui/drift", timeout=30)
    drifts = drift.json()["drifts"] if drift.status_code == 200 else []
    drifted = next((d for d in drifts if d["kind"] != "missing_dataset"), None)
    mart_node = quote(mart["nodeId"], safe="")
    shots = {
        "home.png": ("/", "[data-testid=namespaces]"),
        "graph.png": (f"/lineage?node={mart_node}&sel={mart_node}", ".graph-canvas[data-ready=true]"),
        "dataset.png": (f"/dataset?ns={quote(mart['namespace'], safe='')}&name={quote(mart['name'], safe='')}", "[data-testid=fields]"),
        "drift.png": ("/drift", "h1"),
    }
    if drifted:
        subject = quote(f"{drifted['node']['type']}:{drifted['node']['namespace']}:{drifted['node']['name']}", safe="")
        shots["drift-overlay.png"] = (f"/lineage?node={subject}&depth=3&sel={subject}", ".graph-canvas[data-ready=true]")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        for name, (path, ready) in shots.items():
            # The graphs get a wide screen: the mart's lineage is 14 layers deep.
            wide = name in ("graph.png", "drift-overlay.png")
            page = browser.new_page(viewport={"width": 2200 if wide else 1440, "height": 1000 if wide else 860})
            page.goto(base + path)
            page.wait_for_selector(ready, timeout=60_000)
            page.wait_for_timeout(800)  # fitView's animation
            page.screenshot(path=str(HERE / name))
            page.close()
            print(f"{name}: {base}{path}")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://localhost:3002")

"""Browser tests of the lineage UI: the real app (ui/dist) served by `python -m lineage_ui serve`,
in a real headless Chromium (Debian's /usr/bin/chromium through Playwright; Playwright's own
browser download cannot work here), over a real pipeline run delivered to the fixture's Marquez."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from lineage_ui.config import DIST_DIR
from tests.browser import chromium, page_of
from tests.marquez.test_database_down import cut_server  # noqa: F401  (a Marquez whose Postgres can be cut)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"{url}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def ui_server(log_dir: Path, **env: str):
    """`python -m lineage_ui serve` on a free port with `env` on top of ours; yields its base URL."""
    if not (DIST_DIR / "index.html").exists():
        pytest.fail(f"the lineage UI is not built ({DIST_DIR}): run `make ui` (make test does)", pytrace=False)
    port = _free_port()
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"lineage-ui-{port}.log"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "LINEAGE_UI_PORT": str(port), **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lineage_ui", "serve", "--host", "127.0.0.1"],
            cwd=REPO_ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _answers(url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the lineage UI server did not start: {log_path.read_text()[-3000:]}", pytrace=False)
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def browser():
    with chromium(timeout_ms=30_000) as browser:
        yield browser


@pytest.fixture
def page(browser):
    with page_of(browser, height=900, timeout_ms=30_000) as page:
        yield page

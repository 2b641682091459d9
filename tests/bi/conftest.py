"""Superset's tests: a headless Chromium like the lineage UI's (Debian's /usr/bin/chromium through
Playwright; Playwright's own browser download cannot work here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.marquez_fixture import in_ci

CHROMIUM = Path(os.environ.get("LINEAGE_UI_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from the OS package. Missing: a failure under CI=true, else a skip saying what to install."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`; .ci/run does)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)  # Superset renders its charts on a shared 2-core machine
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1400})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(60_000)
    yield page
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"

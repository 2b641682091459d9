"""Headless Chromium for the browser tests (the lineage UI's, Superset's): Debian's
/usr/bin/chromium through Playwright, whose own browser download cannot work here."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.marquez_fixture import in_ci

CHROMIUM = Path(os.environ.get("LINEAGE_UI_CHROMIUM", "/usr/bin/chromium"))


@contextmanager
def chromium(timeout_ms: int) -> Iterator:
    """The browser, with Playwright's assertions waiting up to `timeout_ms` (a shared 2-core
    machine runs the pipeline beside it). Missing: a failure under CI=true, else a skip saying
    what to install."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install -y chromium`; .ci/run does)"
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=timeout_ms)
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@contextmanager
def page_of(browser, height: int, timeout_ms: int) -> Iterator:
    """A fresh page 1440 px wide; fails the test on any JavaScript error in it."""
    context = browser.new_context(viewport={"width": 1440, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(timeout_ms)
    yield page
    context.close()
    assert not errors, f"JavaScript errors in the page: {errors}"

"""Superset's tests: a headless Chromium like the lineage UI's (tests/browser.py)."""

from __future__ import annotations

import pytest

from tests.browser import chromium, page_of


@pytest.fixture(scope="module")
def browser():
    with chromium(timeout_ms=60_000) as browser:  # Superset renders its charts on a shared 2-core machine
        yield browser


@pytest.fixture
def page(browser):
    with page_of(browser, height=1400, timeout_ms=60_000) as page:
        yield page

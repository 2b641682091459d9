"""Fixtures for tests of the built-in Marquez-compatible server itself (its deliberate
differences from Marquez, its limits, its store). Tests of the Marquez API in general take the
session's Marquez (`marquez_url`) from tests/marquez_fixture.py instead."""

from __future__ import annotations

import pytest

from tests.marquez_fixture import MarquezServer, start_builtin_server


@pytest.fixture(scope="session")
def builtin_marquez(request: pytest.FixtureRequest, marquez_server: MarquezServer, tmp_path_factory) -> MarquezServer:
    """The built-in server: the session's Marquez when it is the built-in one, else one started
    for these tests (on the session's Postgres). Its `db_url` is its database."""
    if marquez_server.kind == "builtin":
        assert marquez_server.db_url, "the fixture's built-in server does not say which database it uses"
        yield marquez_server
        return
    server = start_builtin_server(request.getfixturevalue("postgres"), tmp_path_factory.mktemp("marquez-builtin"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_builtin(request: pytest.FixtureRequest, tmp_path_factory):
    """A factory: `start_builtin(extra_env)` starts a built-in server on a new, empty database,
    with more environment (MARQUEZ_API_KEY, MARQUEZ_MAX_BODY_BYTES, ...); stopped at test end."""
    started: list[MarquezServer] = []

    def start(extra_env: dict[str, str] | None = None) -> MarquezServer:
        server = start_builtin_server(
            request.getfixturevalue("postgres"), tmp_path_factory.mktemp("marquez-builtin"), extra_env=extra_env
        )
        started.append(server)
        return server

    yield start
    while started:
        started.pop().stop()

from pathlib import Path

import pytest

from lakehouse_core.settings import PostgresConnection, Settings


def test_external_postgres_url_is_parsed_and_feeds_the_dbt_profile(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_PG_URL", "postgresql://bi%40site:p%3Ass@db.internal:6543/lake")
    settings = Settings.from_env()
    assert settings.pg == PostgresConnection("db.internal", 6543, "bi@site", "p:ss", "lake")
    env = settings.dbt_env()
    assert (env["LAKEHOUSE_PG_HOST"], env["LAKEHOUSE_PG_PORT"], env["LAKEHOUSE_PG_DB"]) == (
        "db.internal",
        "6543",
        "lake",
    )
    assert settings.pg.url == "postgresql://bi%40site:p%3Ass@db.internal:6543/lake"


def test_embedded_postgres_by_default(monkeypatch):
    monkeypatch.delenv("LAKEHOUSE_PG_URL", raising=False)
    monkeypatch.setenv("LAKEHOUSE_PG_PORT", "5999")
    settings = Settings.from_env()
    assert settings.pg.url == "postgresql://postgres@127.0.0.1:5999/lakehouse"


@pytest.mark.parametrize(
    "url, message",
    [("mysql://x@h/db", "must start with postgresql://"), ("postgresql://h:5432", "must name a host and a database")],
)
def test_bad_postgres_url_is_refused_clearly(url, message):
    with pytest.raises(ValueError, match=message):
        PostgresConnection.from_url(url)


def test_paths_follow_the_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("LAKEHOUSE_DUCKDB_PATH", raising=False)
    monkeypatch.delenv("LAKEHOUSE_RAW_DIR", raising=False)
    settings = Settings.from_env()
    assert settings.duckdb_path == tmp_path / "lakehouse.duckdb"
    assert settings.raw_dir == tmp_path / "lake" / "raw" / "bioreactor"
    assert settings.quarantine_dir == tmp_path / "lake" / "quarantine" / "bioreactor"
    assert isinstance(settings.pg_data_dir, Path)

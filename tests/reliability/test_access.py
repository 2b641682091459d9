"""The read-only BI role on the real Postgres: reads `marts` (including tables dbt creates later),
cannot write anywhere, cannot read other schemas, and needs its password.

The built-in Marquez server's API key is tested in tests/marquez/test_api_extras.py::test_api_key
and, from the delivery side, tests/lineage/test_delivery.py."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from lakehouse_core.settings import Settings, get_settings
from orchestration.services.postgres import ensure_postgres
from orchestration.services.postgres.bi_role import bi_credentials

pytestmark = pytest.mark.integration


@pytest.fixture
def bi(postgres, monkeypatch):
    user, password = f"bi_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    monkeypatch.setenv("LAKEHOUSE_BI_USER", user)
    monkeypatch.setenv("LAKEHOUSE_BI_PASSWORD", password)
    with psycopg.connect(postgres.url, autocommit=True) as owner:
        owner.execute("create schema if not exists marts")
        owner.execute("create schema if not exists curated")
        owner.execute("create table if not exists marts.access_probe (id int)")
        owner.execute("insert into marts.access_probe values (1)")
        owner.execute("create table if not exists curated.access_probe (id int)")
        owner.execute("create table if not exists public.access_probe (id int)")
    ensure_postgres(get_settings())  # what every publish does: creates the role, keeps its grants
    yield user, password, postgres
    with psycopg.connect(postgres.url, autocommit=True) as owner:
        for table in ("marts.access_probe", "marts.access_probe_later", "curated.access_probe", "public.access_probe"):
            owner.execute(f"drop table if exists {table}")
        owner.execute(f'drop owned by "{user}"')
        owner.execute(f'drop role if exists "{user}"')


def _as(user: str, password: str, postgres) -> psycopg.Connection:
    return psycopg.connect(
        host=postgres.host, port=postgres.port, dbname=postgres.dbname, user=user, password=password, autocommit=True
    )


def test_credentials_come_from_the_settings(monkeypatch):
    def credentials(**env: str):
        for name in ("LAKEHOUSE_BI_PASSWORD", "LAKEHOUSE_BI_USER"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return bi_credentials(Settings.from_env())

    assert credentials() is None
    assert credentials(LAKEHOUSE_BI_PASSWORD="s3cret") == ("bi_reader", "s3cret")
    assert credentials(LAKEHOUSE_BI_PASSWORD="s3cret", LAKEHOUSE_BI_USER="superset") == ("superset", "s3cret")


def test_bi_role_reads_marts_only_and_writes_nothing(bi):
    user, password, postgres = bi
    with _as(user, password, postgres) as pg:
        assert pg.execute("select id from marts.access_probe").fetchall() == [(1,)]
        for statement in (
            "insert into marts.access_probe values (2)",
            "update marts.access_probe set id = 3",
            "delete from marts.access_probe",
            "truncate marts.access_probe",
            "drop table marts.access_probe",
            "create table marts.mine (id int)",
            "create table public.mine (id int)",
            "create schema mine",
            "select * from curated.access_probe",
            "select * from public.access_probe",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                pg.execute(statement)
    # A table dbt creates in marts after the role was set up is readable too (default privileges).
    with psycopg.connect(postgres.url, autocommit=True) as owner:
        owner.execute("create table marts.access_probe_later as select 42 as answer")
    with _as(user, password, postgres) as pg:
        assert pg.execute("select answer from marts.access_probe_later").fetchone() == (42,)


def test_bi_role_needs_its_password(bi, settings):
    user, password, postgres = bi
    if settings.external_pg_url:
        pytest.skip("an external server's authentication is its operator's business")  # embedded in CI
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        _as(user, "wrong-" + password, postgres).close()
    _as(user, password, postgres).close()

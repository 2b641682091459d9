"""The DuckDB -> Postgres publish swaps tables atomically against a real Postgres."""

from __future__ import annotations

import duckdb
import psycopg
import pytest

from orchestration.publish.postgres import publish_tables, validate_identifier

pytestmark = pytest.mark.integration


@pytest.fixture
def duck(tmp_path):
    path = tmp_path / "pub.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema pubtest")
        con.execute("create table pubtest.a as select range as id, 'v' || range as label from range(1000)")
        con.execute("create table pubtest.b as select range as id, range * 0.5 as x, now() as ts from range(10)")
    return path


def _rows(url: str, table: str) -> list[tuple]:
    with psycopg.connect(url) as pg:
        return pg.execute(f"select * from pubtest.{table} order by 1").fetchall()


def test_publish_then_republish_replaces_both_tables(duck, postgres):
    published = publish_tables(duck, postgres.url, "pubtest", ["a", "b"])
    assert [(t.table, t.rows) for t in published] == [("a", 1000), ("b", 10)]
    assert len(_rows(postgres.url, "a")) == 1000
    with duckdb.connect(str(duck)) as con:
        con.execute("delete from pubtest.a where id >= 10")
    publish_tables(duck, postgres.url, "pubtest", ["a", "b"])
    assert len(_rows(postgres.url, "a")) == 10
    with psycopg.connect(postgres.url) as pg:
        leftovers = pg.execute(
            "select table_name from information_schema.tables where table_schema = 'pubtest' order by 1"
        ).fetchall()
    assert leftovers == [("a",), ("b",)]


def test_failure_mid_publish_leaves_previous_version(duck, postgres):
    publish_tables(duck, postgres.url, "pubtest", ["a", "b"])
    before_a, before_b = _rows(postgres.url, "a"), _rows(postgres.url, "b")
    with duckdb.connect(str(duck)) as con:
        con.execute("delete from pubtest.a where id >= 5")
        # A type the publisher refuses: the load of `b` fails after `a` was staged.
        con.execute("alter table pubtest.b add column tags varchar[]")
    with pytest.raises(TypeError, match="no Postgres type"):
        publish_tables(duck, postgres.url, "pubtest", ["a", "b"])
    assert _rows(postgres.url, "a") == before_a
    assert _rows(postgres.url, "b") == before_b


@pytest.mark.parametrize("name", ["a; drop table x", "a.b", "", '"quoted"'])
def test_identifiers_are_validated(name):
    with pytest.raises(ValueError, match="refusing identifier"):
        validate_identifier(name)

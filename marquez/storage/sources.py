"""Queries on `sources`: one, a page, the count."""

from __future__ import annotations


def get(conn, name: str) -> dict | None:
    return conn.execute("SELECT * FROM sources WHERE name = %s", (name,)).fetchone()


def page(conn, limit: int, offset: int) -> list[dict]:
    return conn.execute("SELECT * FROM sources ORDER BY name LIMIT %s OFFSET %s", (limit, offset)).fetchall()


def count(conn) -> int:
    return conn.execute("SELECT count(*) AS n FROM sources").fetchone()["n"]

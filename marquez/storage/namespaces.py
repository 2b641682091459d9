"""Queries on `namespaces`: one, a page, the count, and hiding one with its datasets and jobs."""

from __future__ import annotations


def get(conn, name: str) -> dict | None:
    return conn.execute("SELECT * FROM namespaces WHERE name = %s", (name,)).fetchone()


def page(conn, limit: int, offset: int) -> list[dict]:
    return conn.execute(
        "SELECT * FROM namespaces WHERE NOT is_hidden ORDER BY name LIMIT %s OFFSET %s", (limit, offset)
    ).fetchall()


def count(conn) -> int:
    return conn.execute("SELECT count(*) AS n FROM namespaces WHERE NOT is_hidden").fetchone()["n"]


def hide(conn, name: str) -> None:
    # A soft delete, as Marquez's: the rows stay, hidden from lists and lookups.
    conn.execute("UPDATE namespaces SET is_hidden = TRUE WHERE name = %s", (name,))
    conn.execute("UPDATE datasets SET is_hidden = TRUE WHERE namespace_name = %s", (name,))
    conn.execute("UPDATE jobs SET is_hidden = TRUE WHERE namespace_name = %s", (name,))

"""Queries on `namespaces`: one, a page, the `default` one Marquez makes on start, and hiding one with its
datasets and jobs."""

from __future__ import annotations


def get(conn, name: str) -> dict | None:
    return conn.execute("SELECT * FROM namespaces WHERE name = %s", (name,)).fetchone()


def page(conn, limit: int, offset: int) -> list[dict]:
    return conn.execute(
        "SELECT * FROM namespaces WHERE NOT is_hidden ORDER BY name LIMIT %s OFFSET %s", (limit, offset)
    ).fetchall()


DEFAULT = "default"
DEFAULT_DESCRIPTION = (
    "The default global namespace for dataset, job, and run metadata not belonging to a user-specified namespace."
)


def ensure_default(conn) -> None:
    """The namespace Marquez creates each time it starts (NamespaceService.init): `default`, owned
    by anonymous, with its description; shown again if it was deleted, its description kept."""
    conn.execute(
        "INSERT INTO namespaces (uuid, name, created_at, updated_at, owner_name, description)"
        " VALUES (gen_random_uuid(), %s, now(), now(), 'anonymous', %s)"
        " ON CONFLICT (name) DO UPDATE SET updated_at = EXCLUDED.updated_at, is_hidden = FALSE",
        (DEFAULT, DEFAULT_DESCRIPTION),
    )


def hide(conn, name: str) -> None:
    # A soft delete, as Marquez's: the rows stay, hidden from lists and lookups.
    conn.execute("UPDATE namespaces SET is_hidden = TRUE WHERE name = %s", (name,))
    conn.execute("UPDATE datasets SET is_hidden = TRUE WHERE namespace_name = %s", (name,))
    conn.execute("UPDATE jobs SET is_hidden = TRUE WHERE namespace_name = %s", (name,))

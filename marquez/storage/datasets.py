"""Queries on `datasets`, their fields, tags and versions (`dataset_versions`)."""

from __future__ import annotations

import uuid

# A dataset with the columns of its current version that its answers show.
DATASET_COLS = "d.*, v.lifecycle_state AS v_lifecycle, v.fields AS v_fields, v.facets AS v_facets, v.mapped_fields"
DATASET_FROM = "datasets d LEFT JOIN dataset_versions v ON v.uuid = d.current_version_uuid"
# A dataset's other names (its `symlinks`) answer as datasets of their own: its row under each name
# (Marquez's datasets_view: one row per dataset_symlinks row).
ALIAS_FROM = f"dataset_symlinks s JOIN {DATASET_FROM} ON d.uuid = s.dataset_uuid"
ALIAS_COLS = f"{DATASET_COLS}, s.namespace_name AS alias_namespace, s.name AS alias_name"


def _as_alias(row: dict | None) -> dict | None:
    """The dataset's row under the name it was found by."""
    if row is None:
        return None
    row = dict(row)
    row["namespace_name"], row["name"] = row.pop("alias_namespace"), row.pop("alias_name")
    return row


def current(conn, namespace: str, name: str) -> dict | None:
    """A visible dataset with its current version's columns, by its name or one of its symlinks."""
    row = conn.execute(
        f"SELECT {DATASET_COLS} FROM {DATASET_FROM} WHERE d.namespace_name = %s AND d.name = %s AND NOT d.is_hidden",
        (namespace, name),
    ).fetchone()
    if row is not None:
        return row
    return _as_alias(
        conn.execute(
            f"SELECT {ALIAS_COLS} FROM {ALIAS_FROM} WHERE s.namespace_name = %s AND s.name = %s AND NOT d.is_hidden",
            (namespace, name),
        ).fetchone()
    )


def current_by_ids(conn, ids: list) -> list[dict]:
    return conn.execute(
        f"SELECT {DATASET_COLS} FROM {DATASET_FROM} WHERE d.uuid = ANY(%s) AND NOT d.is_hidden", (ids,)
    ).fetchall()


def page(conn, namespace: str, limit: int, offset: int) -> list[dict]:
    """The namespace's visible datasets, its datasets' symlinks in it included, by name."""
    rows = conn.execute(
        f"SELECT * FROM (SELECT {DATASET_COLS}, d.namespace_name AS alias_namespace, d.name AS alias_name"
        f"  FROM {DATASET_FROM} WHERE d.namespace_name = %s AND NOT d.is_hidden"
        f" UNION ALL SELECT {ALIAS_COLS} FROM {ALIAS_FROM} WHERE s.namespace_name = %s AND NOT d.is_hidden) x"
        " ORDER BY alias_name LIMIT %s OFFSET %s",
        (namespace, namespace, limit, offset),
    ).fetchall()
    return [r for r in map(_as_alias, rows) if r is not None]


def count(conn, namespace: str) -> int:
    return conn.execute(
        "SELECT (SELECT count(*) FROM datasets WHERE namespace_name = %s AND NOT is_hidden)"
        " + (SELECT count(*) FROM dataset_symlinks s JOIN datasets d ON d.uuid = s.dataset_uuid"
        "    WHERE s.namespace_name = %s AND NOT d.is_hidden) AS n",
        (namespace, namespace),
    ).fetchone()["n"]


def row(conn, namespace: str, name: str, *, hidden_too: bool = False) -> dict | None:
    """The dataset's own row; a version is looked up even on a hidden dataset, as Marquez does."""
    visible = "" if hidden_too else " AND NOT d.is_hidden"
    found = conn.execute(
        f"SELECT d.* FROM datasets d WHERE d.namespace_name = %s AND d.name = %s{visible}", (namespace, name)
    ).fetchone()
    if found is not None:
        return found
    return _as_alias(
        conn.execute(
            "SELECT d.*, s.namespace_name AS alias_namespace, s.name AS alias_name FROM dataset_symlinks s"
            f" JOIN datasets d ON d.uuid = s.dataset_uuid WHERE s.namespace_name = %s AND s.name = %s{visible}",
            (namespace, name),
        ).fetchone()
    )


def own_name(conn, namespace: str, name: str) -> tuple[str, str] | None:
    """The (namespace, name) of the visible dataset this name (its own or a symlink) names."""
    found = conn.execute(
        "SELECT namespace_name, name FROM datasets WHERE namespace_name = %s AND name = %s AND NOT is_hidden"
        " UNION ALL SELECT d.namespace_name, d.name FROM dataset_symlinks s JOIN datasets d ON d.uuid = s.dataset_uuid"
        " WHERE s.namespace_name = %s AND s.name = %s AND NOT d.is_hidden LIMIT 1",
        (namespace, name, namespace, name),
    ).fetchone()
    return (found["namespace_name"], found["name"]) if found else None


def symlinks_of(conn, names: list[tuple[str, str]]) -> list[dict]:
    """(namespace_name, name, alias_namespace, alias_name) of each symlink of the named datasets."""
    return conn.execute(
        "SELECT d.namespace_name, d.name, s.namespace_name AS alias_namespace, s.name AS alias_name"
        " FROM unnest(%s::text[], %s::text[]) AS p(ns, nm) JOIN datasets d ON d.namespace_name = p.ns AND d.name = p.nm"
        " JOIN dataset_symlinks s ON s.dataset_uuid = d.uuid ORDER BY s.namespace_name, s.name",
        ([n[0] for n in names], [n[1] for n in names]),
    ).fetchall()


def uuid_of(conn, namespace: str, name: str) -> uuid.UUID | None:
    """The visible dataset this name (its own or a symlink) names."""
    found = conn.execute(
        "SELECT uuid FROM datasets WHERE namespace_name = %s AND name = %s AND NOT is_hidden"
        " UNION ALL SELECT d.uuid FROM dataset_symlinks s JOIN datasets d ON d.uuid = s.dataset_uuid"
        " WHERE s.namespace_name = %s AND s.name = %s AND NOT d.is_hidden LIMIT 1",
        (namespace, name, namespace, name),
    ).fetchone()
    return found["uuid"] if found else None


def field_uuid(conn, dataset_uuid: uuid.UUID, field: str) -> uuid.UUID | None:
    found = conn.execute(
        "SELECT uuid FROM dataset_fields WHERE dataset_uuid = %s AND name = %s", (dataset_uuid, field)
    ).fetchone()
    return found["uuid"] if found else None


def tags(conn, ids: list) -> list[dict]:
    """(dataset_uuid, name) of each tag on the datasets, by name."""
    return conn.execute(
        "SELECT dt.dataset_uuid, t.name FROM dataset_tags dt JOIN tags t ON t.uuid = dt.tag_uuid"
        " WHERE dt.dataset_uuid = ANY(%s) ORDER BY t.name",
        (ids,),
    ).fetchall()


def field_tags(conn, ids: list) -> list[dict]:
    """(uuid of the field, name) of each tag on the datasets' fields, by name."""
    return conn.execute(
        "SELECT f.uuid, t.name FROM dataset_field_tags ft JOIN dataset_fields f ON f.uuid = ft.field_uuid"
        " JOIN tags t ON t.uuid = ft.tag_uuid WHERE f.dataset_uuid = ANY(%s) ORDER BY t.name",
        (ids,),
    ).fetchall()


def fields(conn, ids: list) -> list[dict]:
    return conn.execute(
        "SELECT * FROM dataset_fields WHERE dataset_uuid = ANY(%s) ORDER BY dataset_uuid, position, created_at", (ids,)
    ).fetchall()


# The versions written under a name: the dataset's own, or a symlink's (DatasetVersionDao.findAll
# selects dataset_versions by the namespace and name they were written under).
_WRITTEN_AS = "dataset_uuid = %s AND COALESCE(namespace_name, %s) = %s AND COALESCE(name, %s) = %s"


def versions_page(conn, dataset_uuid: uuid.UUID, namespace: str, name: str, limit: int, offset: int) -> list[dict]:
    return conn.execute(
        f"SELECT * FROM dataset_versions WHERE {_WRITTEN_AS} ORDER BY created_at DESC, seq DESC LIMIT %s OFFSET %s",
        (dataset_uuid, namespace, namespace, name, name, limit, offset),
    ).fetchall()


def versions_count(conn, dataset_uuid: uuid.UUID, namespace: str, name: str) -> int:
    return conn.execute(
        f"SELECT count(*) AS n FROM dataset_versions WHERE {_WRITTEN_AS}",
        (dataset_uuid, namespace, namespace, name, name),
    ).fetchone()["n"]


def by_uuid(conn, dataset_uuid: uuid.UUID) -> dict | None:
    """The dataset's own row (its own name)."""
    return conn.execute("SELECT * FROM datasets WHERE uuid = %s", (dataset_uuid,)).fetchone()


def version(conn, dataset_uuid: uuid.UUID, version_id: uuid.UUID) -> dict | None:
    """A version by its uuid or by its (name-based) version id."""
    return conn.execute(
        "SELECT * FROM dataset_versions WHERE dataset_uuid = %s AND (uuid = %s OR version = %s)",
        (dataset_uuid, version_id, version_id),
    ).fetchone()


def hide(conn, namespace: str, name: str) -> None:
    conn.execute("UPDATE datasets SET is_hidden = TRUE WHERE namespace_name = %s AND name = %s", (namespace, name))

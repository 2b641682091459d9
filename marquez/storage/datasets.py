"""Queries on `datasets`, their fields, tags and versions (`dataset_versions`)."""

from __future__ import annotations

import uuid

# A dataset with the columns of its current version that its answers show.
DATASET_COLS = "d.*, v.lifecycle_state AS v_lifecycle, v.fields AS v_fields, v.facets AS v_facets, v.mapped_fields"
DATASET_FROM = "datasets d LEFT JOIN dataset_versions v ON v.uuid = d.current_version_uuid"


def current(conn, namespace: str, name: str) -> dict | None:
    """A visible dataset with its current version's columns."""
    return conn.execute(
        f"SELECT {DATASET_COLS} FROM {DATASET_FROM} WHERE d.namespace_name = %s AND d.name = %s AND NOT d.is_hidden",
        (namespace, name),
    ).fetchone()


def current_by_ids(conn, ids: list) -> list[dict]:
    return conn.execute(
        f"SELECT {DATASET_COLS} FROM {DATASET_FROM} WHERE d.uuid = ANY(%s) AND NOT d.is_hidden", (ids,)
    ).fetchall()


def page(conn, namespace: str, limit: int, offset: int) -> list[dict]:
    return conn.execute(
        f"SELECT {DATASET_COLS} FROM {DATASET_FROM} WHERE d.namespace_name = %s AND NOT d.is_hidden"
        " ORDER BY d.name LIMIT %s OFFSET %s",
        (namespace, limit, offset),
    ).fetchall()


def count(conn, namespace: str) -> int:
    return conn.execute(
        "SELECT count(*) AS n FROM datasets WHERE namespace_name = %s AND NOT is_hidden", (namespace,)
    ).fetchone()["n"]


def row(conn, namespace: str, name: str, *, hidden_too: bool = False) -> dict | None:
    """The dataset's own row; a version is looked up even on a hidden dataset, as Marquez does."""
    visible = "" if hidden_too else " AND NOT is_hidden"
    return conn.execute(
        f"SELECT * FROM datasets WHERE namespace_name = %s AND name = %s{visible}", (namespace, name)
    ).fetchone()


def uuid_of(conn, namespace: str, name: str) -> uuid.UUID | None:
    found = conn.execute(
        "SELECT uuid FROM datasets WHERE namespace_name = %s AND name = %s AND NOT is_hidden", (namespace, name)
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


def versions_page(conn, dataset_uuid: uuid.UUID, limit: int, offset: int) -> list[dict]:
    return conn.execute(
        "SELECT * FROM dataset_versions WHERE dataset_uuid = %s ORDER BY created_at DESC, seq DESC LIMIT %s OFFSET %s",
        (dataset_uuid, limit, offset),
    ).fetchall()


def versions_count(conn, dataset_uuid: uuid.UUID) -> int:
    return conn.execute(
        "SELECT count(*) AS n FROM dataset_versions WHERE dataset_uuid = %s", (dataset_uuid,)
    ).fetchone()["n"]


def version(conn, dataset_uuid: uuid.UUID, version_id: uuid.UUID) -> dict | None:
    """A version by its uuid or by its (name-based) version id."""
    return conn.execute(
        "SELECT * FROM dataset_versions WHERE dataset_uuid = %s AND (uuid = %s OR version = %s)",
        (dataset_uuid, version_id, version_id),
    ).fetchone()


def hide(conn, namespace: str, name: str) -> None:
    conn.execute("UPDATE datasets SET is_hidden = TRUE WHERE namespace_name = %s AND name = %s", (namespace, name))

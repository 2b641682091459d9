"""The column lineage query: the `columnLineage` facet, fields and id of each current version."""

from __future__ import annotations


def current_versions(conn) -> list[dict]:
    """Every visible dataset's current version: namespace_name, name, version, fields, cl (the facet)."""
    return conn.execute(
        "SELECT d.namespace_name, d.name, v.uuid AS version, v.fields, v.facets -> 'columnLineage' AS cl"
        " FROM datasets d JOIN dataset_versions v ON v.uuid = d.current_version_uuid WHERE NOT d.is_hidden"
    ).fetchall()

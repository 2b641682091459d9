"""The search query: visible datasets and jobs whose name contains a text."""

from __future__ import annotations

# The API's sort names, as SQL.
SORTS = {"NAME": "name", "UPDATE_AT": "updated_at DESC"}


def find(conn, text: str, kind: str | None, namespace: str | None, sort: str, limit: int) -> list[dict]:
    """`kind` DATASET, JOB or None (both); `sort` a key of SORTS."""
    # The text is matched literally: LIKE's wildcards and escape character are escaped.
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    in_namespace = " AND namespace_name = %s" if namespace else ""
    parts, params = [], []
    for table, type_ in (("datasets", "DATASET"), ("jobs", "JOB")):
        if kind in (None, type_):
            parts.append(
                f"SELECT '{type_}' AS type, name, updated_at, namespace_name, '{type_}' || ':' || namespace_name || ':' || name"
                f" AS node FROM {table} WHERE NOT is_hidden AND name ILIKE %s" + in_namespace
            )
            params += [pattern] + ([namespace] if namespace else [])
    if kind in (None, "DATASET"):  # a dataset's symlinks are found as datasets too (datasets_view)
        parts.append(
            "SELECT 'DATASET' AS type, s.name, d.updated_at, s.namespace_name, 'DATASET:' || s.namespace_name || ':' || s.name"
            " AS node FROM dataset_symlinks s JOIN datasets d ON d.uuid = s.dataset_uuid"
            " WHERE NOT d.is_hidden AND s.name ILIKE %s" + in_namespace.replace("namespace_name", "s.namespace_name")
        )
        params += [pattern] + ([namespace] if namespace else [])
    sql = " UNION ALL ".join(parts) + f" ORDER BY {SORTS[sort]} LIMIT %s"
    return conn.execute(sql, (*params, limit)).fetchall()

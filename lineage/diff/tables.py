"""The real tables' columns, for `lineage diff`'s schema check: what the DuckDB file and Postgres
hold now, read in one `information_schema` query per database, whatever the number of tables.

Datasets are located by their OpenLineage identity (lineage/naming.py's rules): DuckDB datasets
`duckdb://<file>` / `<file stem>.<schema>.<table>`, Postgres ones `postgres://host:port` /
`<db>.<schema>.<table>`. A database that cannot be read (a DuckDB file locked by a running
writer, a Postgres that is down, no credentials for it) is skipped with a note: the check is
then not made for its tables, which is not drift."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lineage.naming import DatasetId

Columns = dict[str, str]  # name -> type, in table order
PostgresUrlOf = Callable[[str], str | None]  # postgres://host:port -> a connection URL for it, or None


@dataclass
class RealTables:
    columns: dict[DatasetId, Columns] = field(default_factory=dict)  # only tables that exist
    notes: list[str] = field(default_factory=list)  # databases that could not be read, and why
    looked_at: set[DatasetId] = field(default_factory=set)  # datasets whose database was read

    def of(self, dataset: DatasetId) -> Columns | None:
        """The table's columns; None when its database was not read. A table that does not exist
        in a database that was read has no columns ({})."""
        if dataset not in self.looked_at:
            return None
        return self.columns.get(dataset, {})


def project_postgres_url(namespace: str) -> str | None:
    """The project's own Postgres (LAKEHOUSE_PG_URL or the embedded server) when the namespace is
    its host:port; other servers need their own credentials, which we do not guess."""
    from lakehouse_core.settings import get_settings
    from lineage import naming

    if naming.postgres_dataset("s", "t").namespace != namespace:
        return None
    return get_settings().pg.url


def read_real_tables(
    datasets: Iterable[DatasetId], postgres_url_of: PostgresUrlOf = project_postgres_url
) -> RealTables:
    by_database: dict[tuple[str, str], list[DatasetId]] = {}
    for d in datasets:
        parts = d.name.split(".")
        if len(parts) != 3:
            continue
        if d.namespace.startswith("duckdb://") or d.namespace.startswith("postgres://"):
            by_database.setdefault((d.namespace, parts[0]), []).append(d)
    real = RealTables()
    for (namespace, database), members in sorted(by_database.items()):
        try:
            if namespace.startswith("duckdb://"):
                rows = _duckdb_columns(Path(namespace.removeprefix("duckdb://")))
            else:
                url = postgres_url_of(namespace)
                if url is None:
                    real.notes.append(f"{namespace}: no credentials known for this server, columns not checked")
                    continue
                rows = _postgres_columns(url, database)
        except Exception as exc:  # any database problem: skip its tables, say why
            real.notes.append(f"{namespace}/{database}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            continue
        found: dict[tuple[str, str], Columns] = {}
        for schema, table, column, type_ in rows:
            found.setdefault((schema, table), {})[column] = type_
        for d in members:
            _, schema, table = d.name.split(".")
            real.looked_at.add(d)
            if (schema, table) in found:
                real.columns[d] = found[(schema, table)]
    return real


_QUERY = (
    "select table_schema, table_name, column_name, data_type from information_schema.columns "
    "where table_schema not in ('information_schema', 'pg_catalog') order by table_schema, table_name, ordinal_position"
)


def _duckdb_columns(path: Path) -> list[tuple[str, str, str, str]]:
    import duckdb

    if not path.is_file():
        raise FileNotFoundError(f"no DuckDB file at {path}")
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(_QUERY).fetchall()


def _postgres_columns(url: str, database: str) -> list[tuple[str, str, str, str]]:
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    params = conninfo_to_dict(url)
    params["dbname"] = database
    with psycopg.connect(make_conninfo("", **params), connect_timeout=5) as con:
        return con.execute(_QUERY).fetchall()

"""Resources shared by the assets: settings-driven DuckDB, Postgres and dbt."""

import dagster as dg

from lakehouse_core.settings import get_settings
from orchestration.dbt_projects import DBT_EXECUTABLE, LakehouseDbtCliResource, duckdb_project, postgres_project
from orchestration.services.postgres import ensure_postgres


class LakehouseResource(dg.ConfigurableResource):
    """Paths and connections of this deployment, read from the environment at run time."""

    def settings(self):
        return get_settings()

    def postgres_url(self) -> str:
        """A reachable Postgres URL: starts the embedded server when no external one is configured."""
        return ensure_postgres(self.settings()).url


@dg.definitions
def resources() -> dg.Definitions:
    # dagster-dbt documents a DbtProject as `project_dir` (its validator takes one); the field is typed str.
    return dg.Definitions(
        resources={
            "lakehouse": LakehouseResource(),
            "dbt_duckdb": LakehouseDbtCliResource(project_dir=duckdb_project, dbt_executable=DBT_EXECUTABLE),  # type: ignore[arg-type]
            "dbt_postgres": LakehouseDbtCliResource(project_dir=postgres_project, dbt_executable=DBT_EXECUTABLE),  # type: ignore[arg-type]
        }
    )

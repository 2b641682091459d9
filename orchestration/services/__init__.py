"""Local processes the project starts itself (no Docker needed): Postgres and Dagster."""

"""Publishing curated DuckDB tables to Postgres, atomically."""

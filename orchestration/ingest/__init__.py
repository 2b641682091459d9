"""Raw file intake: validating historian Parquet files and exposing the good ones to DuckDB."""

"""All the SQL: queries per table group, the pool, the transactions, migrations, ingest and the projector."""

"""The built-in Marquez-compatible lineage server.

A small web service of its own (it imports nothing from `orchestration/`): the Marquez v1
HTTP API under `/api/v1` over PostgreSQL, answering like Marquez 0.51.1 and fixing its known
bugs (see `marquez.differences`). A request goes routes -> services -> storage queries, as
Marquez's own `api/*Resource` -> `service/` -> `db/*Dao`:

    marquez.config       ServerConfig: host, port, database URL, API key, body cap
    marquez.app          create_app(config): the ASGI application
    marquez.serve        the command line: serve, migrate, project
    marquez.api          HTTP routes, one module per resource: parse the request, shape the answer
    marquez.service      what a request does: transactions, batching, lineage walks (no SQL)
    marquez.storage      all the SQL: one module per table group, the pool, migrations, ingest, projector
    marquez.model        OpenLineage event parsing, Marquez's version ids, and every JSON shape (model.json)
"""

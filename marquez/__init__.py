"""The built-in Marquez-compatible lineage server, and how a Marquez is chosen.

A small web service of its own (it imports nothing from `orchestration/`): the Marquez v1
HTTP API under `/api/v1` over PostgreSQL, answering like Marquez 0.51.1 and fixing its known
bugs (see `marquez.differences`).

    marquez.config       ServerConfig: host, port, database URL, API key, body cap
    marquez.app          create_app(config): the ASGI application
    marquez.serve        run the server in the foreground (uvicorn)
    marquez.api          HTTP routes, one module per resource
    marquez.model        OpenLineage event parsing and Marquez's derived model (versions, names)
    marquez.storage      connection pool, versioned SQL migrations, ingest and read queries
    marquez.choose       which Marquez the product talks to: MARQUEZ_URL, else the built-in one
"""

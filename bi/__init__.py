"""BI on the mart: Superset 6.1 in its own environment, its dashboard as code, and its lineage.

    bi.environment   Superset's venv (.venv-superset) from the hash-pinned bi/requirements.txt
    bi.instance      its home under <data dir>/superset: config, secrets, bootstrap, the gunicorn command
    bi.dashboard     the database connection, dataset, charts and layout, as data
    bi.provision     makes a running Superset hold them (REST API, idempotent) and emits the lineage
    bi.lineage       the OpenLineage run `superset.provision`: the mart -> Superset dataset and dashboard

Floors: bi imports only lakehouse_core and lineage (tests/bi/test_bi_unit.py); the service that
starts it is orchestration/services/superset.py. bi/superset_bootstrap.py runs inside Superset's
own Python and is never imported by the project.
"""

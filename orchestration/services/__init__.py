"""Local processes the project starts itself (no Docker needed) for `lakehouse up / down / status`.

- `postgres/`: the project's Postgres (embedded, or LAKEHOUSE_PG_URL) and what is provisioned in
  it for others (the read-only BI role);
- `background.py`: runs a declared `Service` (start, stop, status, written once);
- `marquez.py`, `lineage_delivery.py`, `lineage_ui.py`, `dagster_dev.py`: the declarations, with
  what is specific to each (Marquez's database, the Dagster home, the UI's build).
"""

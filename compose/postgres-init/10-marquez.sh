#!/bin/bash
# Marquez gets its own database, OWNED by its own user: PostgreSQL 15+ removed CREATE on
# schema public for non-owners, and Marquez's Flyway migrations need it.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname lakehouse <<-SQL
  CREATE USER marquez WITH PASSWORD '${MARQUEZ_PASSWORD}';
  CREATE DATABASE marquez OWNER marquez;
SQL

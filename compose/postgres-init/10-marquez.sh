#!/bin/bash
# Marquez gets its own database, OWNED by its own user: PostgreSQL 15+ removed CREATE on
# schema public for non-owners, and Marquez's Flyway migrations need it. The same role and
# database the built-in server gets in the embedded Postgres (orchestration/services/marquez.py).
# The password goes in as a psql variable (:'pw' quotes it), so any character is safe.
set -euo pipefail
psql -v ON_ERROR_STOP=1 -v pw="${MARQUEZ_PASSWORD:?MARQUEZ_PASSWORD is not set}" \
  --username "$POSTGRES_USER" --dbname lakehouse <<-'SQL'
	CREATE USER marquez WITH PASSWORD :'pw';
	CREATE DATABASE marquez OWNER marquez;
SQL

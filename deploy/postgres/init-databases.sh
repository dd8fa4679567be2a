#!/bin/bash
# One Postgres, two metadata databases with their own owners (passwords from postgres.env).
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<-SQL
  CREATE ROLE superset LOGIN PASSWORD '${SUPERSET_DB_PASSWORD}';
  CREATE DATABASE superset OWNER superset;
  CREATE ROLE dagster LOGIN PASSWORD '${DAGSTER_DB_PASSWORD}';
  CREATE DATABASE dagster OWNER dagster;
SQL

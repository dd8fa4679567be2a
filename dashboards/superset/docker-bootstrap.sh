#!/bin/sh
# superset-init service: metadata schema, roles, users (passwords from superset.env) and the
# dashboards bundle pointed at the read-only serving snapshot. Idempotent: safe on every deploy.
set -eu
exec python /app/dashboards/superset/bootstrap.py --init \
  --bundle /app/dashboards/bundle --serving "${SUPERSET_SERVING_DB:-/serving/serving.duckdb}"

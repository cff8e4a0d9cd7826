#!/bin/sh
# One-shot schema job for Temporal's own PostgreSQL (replaces the deprecated auto-setup
# image): create both databases, then set up and update their versioned schemas.
# Re-running it is harmless: create-database and update-schema are idempotent.
set -eu
TOOL="temporal-sql-tool --plugin postgres12 --ep ${POSTGRES_SEEDS} -p ${DB_PORT} -u ${POSTGRES_USER} --pw ${POSTGRES_PWD}"
SCHEMA=/etc/temporal/schema/postgresql/v12
for db in "${DBNAME}:temporal" "${VISIBILITY_DBNAME}:visibility"; do
  name=${db%%:*}; kind=${db##*:}
  $TOOL --db "$name" create-database || true
  $TOOL --db "$name" setup-schema -v 0.0 || true
  $TOOL --db "$name" update-schema -d "$SCHEMA/$kind/versioned"
done

#!/bin/sh
# The CID's PostgreSQL, on its first start (mounted into /docker-entrypoint-initdb.d; runs
# as the bootstrap superuser). Makes the logins of cid/migrations/0005_login_roles.sql:
#   casework_owner   owns database cid and runs the migrations (the cid-migrate job)
#   casework_worker  the workers' activities
#   casework_api     the HTTP API
# none a superuser, none a member of another role (docs/operations.md, "Database roles").
# Each password is the fifth field of its pgpass secret (deploy/make-secrets.sh); psql
# reads the files itself, so no password is on a command line.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
\set owner_pw `cut -d: -f5 /run/secrets/cid_owner_pgpass`
\set worker_pw `cut -d: -f5 /run/secrets/cid_worker_pgpass`
\set api_pw `cut -d: -f5 /run/secrets/cid_api_pgpass`
CREATE ROLE casework_owner LOGIN PASSWORD :'owner_pw';
CREATE ROLE casework_worker LOGIN PASSWORD :'worker_pw';
CREATE ROLE casework_api LOGIN PASSWORD :'api_pw';
CREATE DATABASE cid OWNER casework_owner;
REVOKE ALL ON DATABASE cid FROM PUBLIC;
GRANT CONNECT ON DATABASE cid TO casework_worker, casework_api;
SQL

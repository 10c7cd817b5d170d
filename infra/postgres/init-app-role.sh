#!/usr/bin/env bash
# The API's own PostgreSQL role: it owns its database (so it can run the migrations in it)
# and nothing else: no superuser, no CREATEDB/CREATEROLE, no other database. The API never
# connects as `postgres`.
# Run by the postgres image on the first start of an empty data directory (mounted into
# /docker-entrypoint-initdb.d). On an existing volume, run it once by hand:
#   docker compose exec -e POSTGRES_APP_PASSWORD postgres bash /docker-entrypoint-initdb.d/10-app-role.sh
# The password is read from the environment inside psql (\getenv), never put in argv.
set -euo pipefail
export POSTGRES_APP_USER=${POSTGRES_APP_USER:-streaming_app}
export POSTGRES_APP_DB=${POSTGRES_APP_DB:-streaming}
: "${POSTGRES_APP_PASSWORD:?set POSTGRES_APP_PASSWORD}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres <<'SQL'
\getenv app_user POSTGRES_APP_USER
\getenv app_db POSTGRES_APP_DB
\getenv app_password POSTGRES_APP_PASSWORD
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_user') AS create_role \gset
\if :create_role
  CREATE ROLE :"app_user" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
\endif
ALTER ROLE :"app_user" PASSWORD :'app_password';
SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'app_db') AS create_db \gset
\if :create_db
  CREATE DATABASE :"app_db" OWNER :"app_user";
\endif
ALTER DATABASE :"app_db" OWNER TO :"app_user";
-- Only its owner (and superusers) may connect to it.
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
SQL
echo "postgres: role ${POSTGRES_APP_USER} owns database ${POSTGRES_APP_DB}"

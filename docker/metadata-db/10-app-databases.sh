#!/usr/bin/env bash
# First start of the metadata PostgreSQL (docker-entrypoint-initdb.d): one database and owner role
# each for Airflow and Superset, passwords from the environment, nothing granted to PUBLIC. Neither
# application is a superuser of the server.
set -euo pipefail

: "${AIRFLOW_DB_PASSWORD:?AIRFLOW_DB_PASSWORD must be set (see .env.example)}"
: "${SUPERSET_DB_PASSWORD:?SUPERSET_DB_PASSWORD must be set (see .env.example)}"

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v airflow_password="$AIRFLOW_DB_PASSWORD" -v superset_password="$SUPERSET_DB_PASSWORD" <<'SQL'
CREATE ROLE airflow LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'airflow_password';
CREATE ROLE superset LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'superset_password';
CREATE DATABASE airflow OWNER airflow ENCODING 'UTF8' TEMPLATE template0;
CREATE DATABASE superset OWNER superset ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE airflow FROM PUBLIC;
REVOKE ALL ON DATABASE superset FROM PUBLIC;
REVOKE ALL ON DATABASE postgres FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE airflow TO airflow;
GRANT CONNECT, TEMPORARY ON DATABASE superset TO superset;

\connect airflow
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO airflow;
\connect superset
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO superset;
SQL
echo "metadata: databases airflow and superset created, each owned by its own role"

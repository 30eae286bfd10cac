#!/usr/bin/env bash
# First start of the warehouse PostgreSQL (docker-entrypoint-initdb.d): database `warehouse` owned
# by role dg_pipeline, and login role bi_reader, with passwords from the environment. Nothing is
# granted to PUBLIC. bi_reader gets read access to schema marts from the project itself: every dbt
# run ends with macros/grant_bi_reader.sql. Connection: the image's POSTGRES_USER and POSTGRES_DB
# (or PGHOST/PGPORT/PGPASSWORD when run against another server, as tests/test_compose.py does).
set -euo pipefail

: "${WAREHOUSE_PIPELINE_PASSWORD:?WAREHOUSE_PIPELINE_PASSWORD must be set (see .env.example)}"
: "${BI_READER_PASSWORD:?BI_READER_PASSWORD must be set (see .env.example)}"

# Passwords travel as psql variables and are quoted by psql (:'name'), never spliced into SQL text.
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v pipeline_password="$WAREHOUSE_PIPELINE_PASSWORD" -v bi_password="$BI_READER_PASSWORD" <<'SQL'
CREATE ROLE dg_pipeline LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'pipeline_password';
CREATE ROLE bi_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD :'bi_password';
CREATE DATABASE warehouse OWNER dg_pipeline ENCODING 'UTF8' TEMPLATE template0;

-- Only the roles named here may connect; nobody may connect to the maintenance database.
REVOKE ALL ON DATABASE warehouse FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE warehouse TO dg_pipeline;
GRANT CONNECT ON DATABASE warehouse TO bi_reader;
REVOKE ALL ON DATABASE postgres FROM PUBLIC;

\connect warehouse
-- PostgreSQL 15+ no longer lets PUBLIC create in schema public; drop its USAGE too.
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO dg_pipeline;
SQL
echo "warehouse: database warehouse (owner dg_pipeline) and role bi_reader created"

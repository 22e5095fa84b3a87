#!/bin/sh
# Runs once on the primary's first start: a replication role and a pg_hba line for the replica.
set -e
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c "create role replicator with replication login password '$REPLICATION_PASSWORD'"
# The history API's role: SELECT only, on today's tables and on those the workers' sinks create later.
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" <<SQL
create role history_reader with login password '$HISTORY_PASSWORD';
grant usage on schema public to history_reader;
grant select on all tables in schema public to history_reader;
alter default privileges for role $POSTGRES_USER in schema public grant select on tables to history_reader;
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"

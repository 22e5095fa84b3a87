#!/bin/sh
# The read replica: on first start clone the primary (pg_basebackup -R writes standby.signal and the
# connection), then run as a hot standby that streams from it.
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pg_basebackup -h timescaledb -U replicator -D "$PGDATA" -R -X stream -P
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on

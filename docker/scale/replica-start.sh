#!/bin/sh
# The read replica: on first start clone the primary (pg_basebackup -R writes standby.signal and the
# connection, password included, into the 0600 postgresql.auto.conf), then run as a hot standby that
# streams from it. PGPASSWORD is the replicator's password. PRIMARY_HOST / PRIMARY_PORT default to the
# compose service; test/integration/docker/history-replica.test.ts runs this script as it is against a
# local primary. --checkpoint=fast: the clone starts at once, not after a spread checkpoint (minutes on an
# idle primary: checkpoint_completion_target x checkpoint_timeout).
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  pg_basebackup -h "${PRIMARY_HOST:-timescaledb}" -p "${PRIMARY_PORT:-5432}" -U replicator -D "$PGDATA" -R -X stream --checkpoint=fast -P
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on

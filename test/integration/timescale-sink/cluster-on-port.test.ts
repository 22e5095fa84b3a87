// restart.test restarts the cluster on the port LINESIGHT_PG_URL names: the pg_lsclusters line it picks.
import assert from 'node:assert/strict';
import { clusterOnPort } from './harness';

describe('timescale-sink restart test: which cluster to restart', () => {
  const out = '15  main    5432 online postgres /var/lib/postgresql/15/main /var/log/postgresql/postgresql-15-main.log\n16  ts      5433 online postgres /var/lib/postgresql/16/ts   /var/log/postgresql/postgresql-16-ts.log\n';
  it('picks the cluster listening on the port, not always main', () => {
    assert.deepEqual(clusterOnPort(out, 5433), { version: '16', name: 'ts' });
    assert.deepEqual(clusterOnPort(out, 5432), { version: '15', name: 'main' });
  });
  it('finds none for a port no cluster listens on', () => {
    assert.equal(clusterOnPort(out, 6543), undefined);
  });
});

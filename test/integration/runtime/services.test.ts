// The same test code runs against the real services (CI: LINESIGHT_PG_URL / LINESIGHT_MQTT_URL) and
// the embedded ones; when real ones are configured, the embedded ones are exercised here as well.
import assert from 'node:assert/strict';
import { Client } from 'pg';
import mqtt from 'mqtt';
import { waitFor } from '../../support/wait';
import { pgService, mqttService, freshSchema, dropSchema, topicPrefix } from '../../support/services';
import { CHECKPOINT_EVERY_MS, startEmbeddedPostgres, WAL_MAX_MB } from '../../../runtime/embedded/postgres';
import { startEmbeddedBroker } from '../../../runtime/embedded/broker';

async function pgRoundTrip(url: string) {
  const schema = await freshSchema(url);
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`create table "${schema}".t (id int primary key, v text)`);
    await c.query(`insert into "${schema}".t select * from unnest($1::int[], $2::text[])`, [[1, 2], ['a', 'b']]);
    const r = await c.query(`select count(*)::int as n from "${schema}".t`);
    assert.equal(r.rows[0].n, 2);
  } finally {
    await c.end();
    await dropSchema(url, schema);
  }
}

async function mqttRoundTrip(url: string, protocolVersion: 4 | 5) {
  const topic = `${topicPrefix()}/x`;
  const sub = await mqtt.connectAsync(url, { protocolVersion });
  const pub = await mqtt.connectAsync(url, { protocolVersion });
  try {
    await sub.subscribeAsync(topic, { qos: 1 });
    const got = new Promise<string>((r) => sub.on('message', (_t, p) => r(p.toString())));
    await pub.publishAsync(topic, 'hello', { qos: 1 });
    assert.equal(await got, 'hello');
  } finally {
    await sub.endAsync();
    await pub.endAsync();
  }
}

describe('test services', function () {
  this.timeout(30_000);
  it('PostgreSQL (configured service) takes batched unnest inserts in a schema of its own', async () => {
    const pg = await pgService();
    await pgRoundTrip(pg.url);
  });
  it('MQTT (configured service) delivers QoS 1 under a topic prefix of its own', async () => {
    const m = await mqttService();
    await mqttRoundTrip(m.url, m.protocolVersion);
  });
  it('the embedded PostgreSQL and broker work with the same code', async () => {
    const pg = await startEmbeddedPostgres();
    const broker = await startEmbeddedBroker();
    try {
      await pgRoundTrip(pg.url);
      await mqttRoundTrip(broker.url, 4);
    } finally {
      await broker.stop();
      await pg.stop();
    }
  });
  it('the embedded PostgreSQL checkpoints by itself, so its WAL (in memory) stays bounded while rows are written', async function () {
    this.timeout(300_000);
    const pg = await startEmbeddedPostgres();
    const c = new Client({ connectionString: pg.url });
    await c.connect();
    try {
      const wal = async () => Number((await c.query('select coalesce(sum(size), 0)::bigint as b from pg_ls_waldir()')).rows[0].b) / (1024 * 1024);
      await c.query('create table filler (id int primary key, body text not null)');
      // 160 MiB of rows in batches (1 kB each: below TOAST's threshold, so stored as written).
      for (let i = 0; i < 16; i++) {
        await c.query(`insert into filler select g, repeat(md5(g::text), 32) from generate_series($1::int, $2::int) g`, [i * 10_000 + 1, (i + 1) * 10_000]);
      }
      const rows = Number((await c.query('select pg_total_relation_size($1) as b', ['filler'])).rows[0].b) / (1024 * 1024);
      assert.ok(rows > 150, `rows written: ${rows.toFixed(0)} MiB`);
      // Before: every segment written was kept (no checkpointer in a single backend); now the next
      // checkpoint (every CHECKPOINT_EVERY_MS) recycles them.
      let walMiB = await wal();
      console.log(`      WAL ${walMiB.toFixed(0)} MiB right after ${rows.toFixed(0)} MiB of rows`);
      walMiB = await waitFor(`the WAL back within ${WAL_MAX_MB + 32} MiB`, async () => {
        walMiB = await wal();
        return walMiB <= WAL_MAX_MB + 32 ? walMiB : undefined;
      }, 3 * CHECKPOINT_EVERY_MS, 1000).catch(() => walMiB);
      console.log(`      WAL ${walMiB.toFixed(0)} MiB after the next checkpoint`);
      assert.ok(walMiB <= WAL_MAX_MB + 32, `WAL ${walMiB.toFixed(0)} MiB after ${rows.toFixed(0)} MiB of rows (bound ${WAL_MAX_MB + 32})`);
    } finally {
      await c.end();
      await pg.stop();
    }
  });
});

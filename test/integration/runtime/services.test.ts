// The same test code runs against the real services (CI: LINESIGHT_PG_URL / LINESIGHT_MQTT_URL) and
// the embedded ones; when real ones are configured, the embedded ones are exercised here as well.
import assert from 'node:assert/strict';
import { Client } from 'pg';
import mqtt from 'mqtt';
import { pgService, mqttService, freshSchema, dropSchema, topicPrefix } from '../../support/services';
import { startEmbeddedPostgres } from '../../../runtime/embedded/postgres';
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
});

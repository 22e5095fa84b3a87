// Real services for tests: PostgreSQL from LINESIGHT_PG_URL and MQTT from LINESIGHT_MQTT_URL; where
// unset, embedded PGlite and an embedded aedes broker are started once per test process, and the run
// says which was used. Each test takes its own schema or topic prefix so tests cannot see each other.
import crypto from 'node:crypto';
import { Client } from 'pg';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../runtime/embedded/postgres';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../runtime/embedded/broker';
import { redactUrl } from '../../lib/redact';

export interface PgService {
  url: string;
  kind: 'real' | 'embedded';
}
export interface MqttService {
  url: string;
  kind: 'real' | 'embedded';
  /** 5 where the broker speaks MQTT 5 (Mosquitto), 4 for the embedded aedes 1.x. */
  protocolVersion: 4 | 5;
}

let pg: Promise<PgService> | undefined;
let mqtt: Promise<MqttService> | undefined;
let embeddedPg: EmbeddedPostgres | undefined;
let embeddedBroker: EmbeddedBroker | undefined;

export function pgService(): Promise<PgService> {
  pg ??= (async () => {
    if (process.env.LINESIGHT_PG_URL) {
      console.log(`      [services] PostgreSQL: real server at ${redact(process.env.LINESIGHT_PG_URL)}`);
      return { url: process.env.LINESIGHT_PG_URL, kind: 'real' as const };
    }
    embeddedPg = await startEmbeddedPostgres();
    console.log(`      [services] PostgreSQL: LINESIGHT_PG_URL unset, using embedded PGlite at ${embeddedPg.url}`);
    return { url: embeddedPg.url, kind: 'embedded' as const };
  })();
  return pg;
}

export function mqttService(): Promise<MqttService> {
  mqtt ??= (async () => {
    if (process.env.LINESIGHT_MQTT_URL) {
      console.log(`      [services] MQTT: real broker at ${redact(process.env.LINESIGHT_MQTT_URL)}`);
      return { url: process.env.LINESIGHT_MQTT_URL, kind: 'real' as const, protocolVersion: 5 as const };
    }
    embeddedBroker = await startEmbeddedBroker();
    console.log(`      [services] MQTT: LINESIGHT_MQTT_URL unset, using embedded aedes (MQTT 3.1.1) at ${embeddedBroker.url}`);
    return { url: embeddedBroker.url, kind: 'embedded' as const, protocolVersion: 4 as const };
  })();
  return mqtt;
}

/** Creates a fresh schema for one test and returns its name; drop it with dropSchema. */
export async function freshSchema(url: string, prefix = 't'): Promise<string> {
  const schema = `${prefix}_${crypto.randomBytes(5).toString('hex')}`;
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`create schema "${schema}"`);
  } finally {
    await c.end();
  }
  return schema;
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await c.end();
  }
}

/** A topic prefix no other test uses, e.g. `test/3f9a1c2b`. */
export function topicPrefix(): string {
  return `test/${crypto.randomBytes(4).toString('hex')}`;
}

export { freePort } from '../../runtime/free-port';

export async function stopEmbeddedServices(): Promise<void> {
  await embeddedBroker?.stop().catch(() => {});
  await embeddedPg?.stop().catch(() => {});
}

const redact = redactUrl;

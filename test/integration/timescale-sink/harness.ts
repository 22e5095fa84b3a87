// Runs timescale-db + timescale-sink in a real Node-RED (node-red-node-test-helper) with core Complete
// and Catch nodes watching the sink, against the test PostgreSQL; and a TCP proxy that can cut the
// connection to the database the way a network outage or a stopped server would.
import net from 'node:net';
import { Client } from 'pg';
import { waitFor } from '../../support/wait';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper');
/* eslint-disable @typescript-eslint/no-require-imports */
const sinkNode = require('../../../nodes/timescale-sink/timescale-sink');
const dbNode = require('../../../nodes/timescale-db/timescale-db');
const completeNode = require('@node-red/nodes/core/common/24-complete.js');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');
/* eslint-enable @typescript-eslint/no-require-imports */

helper.init(require.resolve('node-red'));

export interface SinkRun {
  sink: { receive(msg: unknown): void; on(ev: string, fn: (...a: any[]) => void): void };
  completed: Array<Record<string, any>>;
  caught: Array<Record<string, any>>;
  statuses: Array<{ fill?: string; shape?: string; text?: string }>;
}

/** Loads a flow with one database config node and one sink; returns what Complete and Catch saw. */
export async function loadSink(url: string, schema: string, sinkConfig: Record<string, unknown>, dbConfig: Record<string, unknown> = {}): Promise<SinkRun> {
  // Flow nodes need x/y (and a tab) or Node-RED takes them for config nodes; Complete and Catch need real flow nodes.
  const at = { z: 'f1', x: 100, y: 100 };
  const flow = [
    { id: 'f1', type: 'tab', label: 'sink' },
    { id: 'db', z: 'f1', type: 'timescale-db', url, schema, poolSize: 10, connectTimeoutMs: 3000, ...dbConfig },
    { id: 'sink', type: 'timescale-sink', ...at, name: 'history', db: 'db', batchAgeMs: 50, spool: false, closeGraceMs: 2000, ...sinkConfig, wires: [] },
    { id: 'complete', type: 'complete', ...at, scope: ['sink'], uncaught: false, wires: [['done']] },
    { id: 'catch', type: 'catch', ...at, scope: ['sink'], uncaught: false, wires: [['errors']] },
    { id: 'done', type: 'helper', ...at },
    { id: 'errors', type: 'helper', ...at },
  ];
  await helper.load([dbNode, sinkNode, completeNode, catchNode], flow, { db: {} });
  const run: SinkRun = { sink: helper.getNode('sink'), completed: [], caught: [], statuses: [] };
  helper.getNode('done').on('input', (m: Record<string, any>) => run.completed.push(m));
  helper.getNode('errors').on('input', (m: Record<string, any>) => run.caught.push(m));
  run.sink.on('call:status', (call: { args: any[] }) => run.statuses.push(call.args[0]));
  return run;
}

export async function unloadSink(): Promise<void> {
  await helper.unload();
}

/** Sends messages and waits until Complete or Catch has seen each of them. */
export async function sendAll(run: SinkRun, payloads: unknown[], timeoutMs = 60_000): Promise<void> {
  const before = run.completed.length + run.caught.length;
  for (let i = 0; i < payloads.length; i++) {
    run.sink.receive({ payload: payloads[i] });
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
  await waitFor(`${payloads.length} messages done`, () => run.completed.length + run.caught.length >= before + payloads.length, timeoutMs);
}

export async function query<T = Record<string, any>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** A TCP proxy to the database that can be cut (refusing and dropping connections) and restored. */
export class CuttableProxy {
  private server?: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}

  static forUrl(url: string): CuttableProxy {
    const u = new URL(url);
    return new CuttableProxy({ host: u.hostname, port: Number(u.port || 5432) });
  }

  /** The database URL with host and port replaced by the proxy's. */
  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  async up(port = this.port): Promise<void> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Stops listening and drops every open connection. */
  async down(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
  }
}

/** The cluster (version, name) that `pg_lsclusters -h` lists on `port`. */
export function clusterOnPort(lsclusters: string, port: number): { version: string; name: string } | undefined {
  for (const line of lsclusters.split('\n')) {
    const [version, name, p] = line.trim().split(/\s+/);
    if (version && name && Number(p) === port) return { version, name };
  }
  return undefined;
}

/**
 * drop schema ... cascade, retried: on TimescaleDB a continuous-aggregate refresh job running at that moment
 * makes the drop fail ("tuple concurrently deleted", a deadlock); the next attempt succeeds.
 */
export async function dropSchemaRetrying(url: string, schema: string, attempts = 6): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      await query(url, `drop schema if exists "${schema.replace(/"/g, '""')}" cascade`);
      return;
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (i >= attempts || !(e.code === 'XX000' || e.code === '40P01' || e.code === '40001' || /concurrently/.test(e.message ?? ''))) throw err;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}

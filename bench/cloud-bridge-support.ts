// Shared by the cloud-bridge benchmarks: a broker of the benchmark's own (Mosquitto when installed, else
// embedded aedes), a Node-RED test helper with the bridge nodes, 200-byte messages, a counting subscriber.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork } from 'node:child_process';
import { startEmbeddedBroker } from '../runtime/embedded/broker';
import { freePort } from '../test/support/services';
import { hasMosquitto, startPrivateMosquitto } from '../test/integration/cloud-bridge/private-mosquitto';
import { waitFor } from '../test/support/wait';

import { startRuntime, type RunningRuntime } from '../runtime/tier/tier-runtime';

/** A real tier runtime in this process (no test-helper spies in the way) running `flows`. */
export async function runtimeWith(flows: unknown[]): Promise<RunningRuntime> {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-bench-bridge-'));
  fs.writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  return startRuntime({ tier: 'line', port: await freePort(), userDir, insecure: true, logLevel: 'warn' });
}

/** The status text a node last showed (the runtime keeps no history; we wrap node.status once). */
export function lastStatus(node: any): () => string {
  let text = '';
  const orig = node.status.bind(node);
  node.status = (s: any) => {
    text = s?.text ?? '';
    return orig(s);
  };
  return () => text;
}

export interface BenchBroker {
  url: string;
  kind: string;
  protocolVersion: 4 | 5;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function benchBroker(): Promise<BenchBroker> {
  if (hasMosquitto) {
    const m = await startPrivateMosquitto();
    return { url: m.url, kind: 'Mosquitto 2 (own process)', protocolVersion: 5, start: () => m.start(), stop: () => m.stop() };
  }
  const port = await freePort();
  let b = await startEmbeddedBroker({ port });
  let up = true;
  return {
    url: b.url,
    kind: 'embedded aedes (MQTT 3.1.1)',
    protocolVersion: 4,
    async start() {
      if (!up) b = await startEmbeddedBroker({ port });
      up = true;
    },
    async stop() {
      if (up) await b.stop();
      up = false;
    },
  };
}

/** A TagSample whose JSON is exactly 200 bytes. */
export function sample200(i: number): Record<string, unknown> {
  const base = { device: 'press1', tag: 'count', value: '', quality: 'good', ts: 1_760_000_000_000 + i };
  const len = Buffer.byteLength(JSON.stringify(base));
  return { ...base, value: 'x'.repeat(200 - len) };
}

export function outboxFile(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ls-bench-outbox-')), 'outbox.db');
}

/** A QoS 0 subscriber in another process that counts what arrives under `prefix/#`. */
export async function counter(url: string, prefix: string, protocolVersion: 4 | 5): Promise<{ count(): number; end(): Promise<void> }> {
  const child = fork(path.join(__dirname, 'cloud-bridge-subscriber.js'), [url, `${prefix}/#`, String(protocolVersion)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let n = 0;
  let ready = false;
  child.on('message', (m: { n?: number; ready?: boolean }) => {
    if (m.ready) ready = true;
    if (typeof m.n === 'number') n = m.n;
  });
  await waitFor('subscriber ready', () => ready, 20_000, 10);
  return {
    count: () => n,
    end: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill();
      await exited;
    },
  };
}

/** Feeds `n` messages into a node in chunks, yielding to I/O between chunks as a flow would. */
export async function feed(node: { receive(m: unknown): void }, n: number, make: (i: number) => Record<string, unknown>): Promise<void> {
  for (let i = 0; i < n; i += 500) {
    for (let k = i; k < Math.min(n, i + 500); k++) node.receive(make(k));
    await new Promise((r) => setImmediate(r));
  }
}

export { waitFor };

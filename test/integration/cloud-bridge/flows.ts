// Flow builders and helpers shared by the cloud-bridge integration tests (node-red-node-test-helper).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const helper = require('node-red-node-test-helper');
helper.init(require.resolve('node-red'));

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const bridgeNodes = [require('../../../nodes/cloud-broker/cloud-broker'), require('../../../nodes/cloud-bridge/cloud-bridge'), require('../../../nodes/cloud-bridge-in/cloud-bridge-in')];

export const outboxFile = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ls-outbox-')), 'outbox.db');

export interface BrokerNode {
  id: string;
  url: string;
  protocolVersion: 4 | 5;
  [k: string]: unknown;
}

export function brokerNode(id: string, url: string, protocolVersion: 4 | 5, extra: Record<string, unknown> = {}) {
  return { id, type: 'cloud-broker', name: `broker ${id}`, url, protocolVersion, maxReconnectMs: 1000, connectTimeoutMs: 3000, ...extra };
}

export function uplinkNode(id: string, broker: string, prefix: string, extra: Record<string, unknown> = {}) {
  return { id, type: 'cloud-bridge', broker, topicTemplate: `${prefix}/{site}/{line}/{kind}`, outboxFile: outboxFile(), syncEveryMs: 10, wires: [], ...extra };
}

export function downlinkNode(id: string, broker: string, prefix: string, wires: string[], extra: Record<string, unknown> = {}) {
  return { id, type: 'cloud-bridge-in', broker, topics: `${prefix}/#`, topicTemplate: `${prefix}/{site}/{line}/{kind}`, wires: [wires], ...extra };
}

/** Records what a node reports: statuses, warnings, errors. */
export function watch(node: any) {
  const seen = { status: [] as Array<{ fill?: string; shape?: string; text?: string }>, warn: [] as string[], error: [] as string[] };
  const st = node.status.bind(node);
  node.status = (s: any) => {
    seen.status.push(s);
    return st(s);
  };
  node.on('call:warn', (c: any) => seen.warn.push(String(c.args[0])));
  node.on('call:error', (c: any) => seen.error.push(String(c.args[0]?.message ?? c.args[0])));
  return { ...seen, last: () => seen.status[seen.status.length - 1] ?? {} };
}

/** Sends a message into a node and resolves with the error passed to done (undefined on success). */
export function receive(node: any, msg: Record<string, unknown>): Promise<Error | undefined> {
  if (!node.__linesightDone) {
    const waiting = new Map<unknown, (e?: Error) => void>();
    const orig = node._complete.bind(node);
    node._complete = (m: any, err: any) => {
      waiting.get(m?._testTag)?.(err);
      waiting.delete(m?._testTag);
      return orig(m, err);
    };
    node.__linesightDone = waiting;
  }
  const tag = Symbol('msg');
  return new Promise((resolve) => {
    node.__linesightDone.set(tag, resolve);
    node.receive({ ...msg, _testTag: tag });
  });
}

export function tagSample(i: number, device = 'press1') {
  return { device, tag: 'count', value: i, quality: 'good', ts: 1_760_000_000_000 + i };
}

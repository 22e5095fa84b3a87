import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { fromWire } from '../../../nodes/cloud-bridge/wire-format';
import { startRuntimeProcess, type RuntimeProcess } from '../../support/runtime-process';
import { topicPrefix } from '../../support/services';
import { waitFor } from '../../support/wait';
import { hasMosquitto, startPrivateMosquitto } from './private-mosquitto';

const N = 3000;

function flows(url: string, prefix: string) {
  return [
    { id: 'tab1', type: 'tab', label: 'uplink' },
    { id: 'brk', type: 'cloud-broker', name: 'factory', url, protocolVersion: 5, maxReconnectMs: 1000 },
    { id: 'inj', type: 'inject', z: 'tab1', name: 'go', props: [{ p: 'payload' }], payload: '', payloadType: 'date', repeat: '', once: false, wires: [['gen']] },
    {
      id: 'gen',
      type: 'function',
      z: 'tab1',
      name: 'samples',
      func: `for (let i = 0; i < ${N}; i++) node.send({ payload: { device: 'press', tag: 'count', value: i, quality: 'good', ts: 1760000000000 + i }, line: 'l' + (i % 3) }); return null;`,
      outputs: 1,
      wires: [['up']],
    },
    { id: 'up', type: 'cloud-bridge', z: 'tab1', broker: 'brk', topicTemplate: `${prefix}/{site}/{line}/{kind}`, site: 'plant1', syncEveryMs: 10, wires: [] },
  ];
}

describe('cloud-bridge survives SIGKILL of the runtime holding a backlog (integration)', function () {
  this.timeout(180_000);
  let rt: RuntimeProcess | undefined;
  afterEach(async () => {
    await rt?.stop();
    rt = undefined;
  });

  it('every message still arrives after kill -9 and a restart with the same user dir', async function () {
    if (!hasMosquitto) this.skip();
    const m = await startPrivateMosquitto();
    await m.stop(); // the factory broker is away while the line produces
    const prefix = topicPrefix();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mqtt = require('mqtt');
    let sub: any;
    try {
      rt = await startRuntimeProcess({ tier: 'line' });
      await rt.deploy(flows(m.url, prefix));
      const outbox = path.join(rt.userDir, 'linesight', 'outbox', 'up.db');
      await waitFor('the node to open its outbox', async () => (await rt!.request('POST', 'inject/inj')).status === 200, 30_000, 500);
      const count = () => {
        const db = new Database(outbox, { readonly: true, fileMustExist: true });
        try {
          return (db.prepare('select count(*) as n from items').get() as { n: number }).n;
        } finally {
          db.close();
        }
      };
      await waitFor(`${N} messages in the outbox on disk`, () => count() >= N, 30_000, 200);
      rt.proc.kill('SIGKILL');
      await new Promise((r) => rt!.proc.once('exit', r));
      const userDir = rt.userDir;
      rt = undefined;
      assert.equal(count(), N, 'the backlog is on disk after kill -9');

      await m.start();
      sub = await mqtt.connectAsync(m.url, { protocolVersion: 5 });
      const values = new Set<number>();
      let received = 0;
      sub.on('message', (_t: string, p: Buffer, packet: any) => {
        received++;
        const d = fromWire(p, packet.properties);
        assert.equal(d.via, 'properties');
        values.add((d.value as { value: number }).value);
      });
      await sub.subscribeAsync(`${prefix}/#`, { qos: 1 });
      rt = await startRuntimeProcess({ tier: 'line', userDir });
      await waitFor(`all ${N} messages after the restart`, () => values.size === N, 90_000, 200);
      assert.ok(received >= N);
      await waitFor('the outbox to empty', () => count() === 0, 30_000, 200);
    } finally {
      await sub?.endAsync();
      await m.stop();
    }
  });
});

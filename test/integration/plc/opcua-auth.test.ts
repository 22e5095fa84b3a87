// OPC UA against the simulator in another process: a server that is not there yet when the flow is
// deployed, user/password login (right and wrong), and report-by-exception on a Modbus poll.
import assert from 'node:assert/strict';
import { freePort } from '../../support/services';
import { sleep, waitFor } from '../../support/wait';
import { SIM_MODBUS_TAGS, SIM_OPCUA_TAGS } from '../../../runtime/dev/simulators/plc-tags';
import { startSimulator, type Peer } from './peers';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcEndpoint = require('../../../nodes/plc-endpoint/plc-endpoint');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcRead = require('../../../nodes/plc-read/plc-read');

helper.init(require.resolve('node-red'));

describe('plc nodes: OPC UA login, late server, report-by-exception (simulator in another process)', function () {
  this.timeout(180_000);
  const sims: Peer[] = [];
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    for (const s of sims.splice(0)) await s.stop();
  });

  const ua = (opcuaPort: number, extra: object = {}) => ({ id: 'ep', type: 'plc-endpoint', name: 'ua', protocol: 'opcua', endpointUrl: `opc.tcp://127.0.0.1:${opcuaPort}/UA/Linesight`, reconnectMinMs: 200, reconnectMaxMs: 2000, timeoutMs: 5000, tags: SIM_OPCUA_TAGS, ...extra });

  it('subscribes once a server that was down at deploy comes up', async () => {
    const [port, opcuaPort] = [await freePort(), await freePort()];
    await helper.load([plcEndpoint, plcRead], [ua(opcuaPort), { id: 'sub', type: 'plc-read', endpoint: 'ep', tags: 'GoodCount', intervalMs: 100, wires: [['out']] }, { id: 'out', type: 'helper' }]);
    const statuses: any[] = [];
    helper.getNode('sub').on('call:status', (c: any) => statuses.push(c.args[0]));
    const samples: any[] = [];
    helper.getNode('out').on('input', (m: any) => samples.push(...m.payload));
    await waitFor('the fault is shown while nothing listens', () => statuses.some((s) => s.fill === 'red' || s.fill === 'yellow'), 20_000);
    await sleep(1000);
    sims.push(await startSimulator(['--port', String(port), '--opcua', String(opcuaPort), '--tick', '50']));
    await waitFor('good samples after the server came up', () => samples.some((s) => s.quality === 'good'), 90_000);
    await waitFor('green status', () => statuses.at(-1)?.fill === 'green', 30_000);
  });

  it('logs in with user and password from the credentials; a wrong password shows "session refused" and retries', async () => {
    const [port, opcuaPort] = [await freePort(), await freePort()];
    sims.push(await startSimulator(['--port', String(port), '--opcua', String(opcuaPort), '--opcua-user', 'operator:s3cret', '--tick', '50']));
    await helper.load(
      [plcEndpoint, plcRead],
      [ua(opcuaPort, { auth: 'username' }), { id: 'r', type: 'plc-read', endpoint: 'ep', intervalMs: 0, wires: [['out']] }, { id: 'out', type: 'helper' }],
      { ep: { user: 'operator', password: 's3cret' } },
    );
    const ep = helper.getNode('ep');
    await waitFor('session as operator', () => ep.driver.state.phase === 'connected', 60_000);
    const got = new Promise<any>((r) => helper.getNode('out').once('input', r));
    helper.getNode('r').receive({});
    const msg = await got;
    assert.ok(msg.payload.every((s: any) => s.quality === 'good'));
    assert.equal(msg.values.ProductCode, 'PX-2000');
    await helper.unload();

    await helper.load(
      [plcEndpoint, plcRead],
      [ua(opcuaPort, { auth: 'username' }), { id: 'r', type: 'plc-read', endpoint: 'ep', intervalMs: 0, wires: [['out']] }, { id: 'out', type: 'helper' }],
      { ep: { user: 'operator', password: 'wrong' } },
    );
    const ep2 = helper.getNode('ep');
    const statuses: any[] = [];
    helper.getNode('r').on('call:status', (c: any) => statuses.push(c.args[0]));
    const states: any[] = [];
    ep2.driver.on('state', (s: any) => states.push(s));
    await waitFor('two refused attempts', () => states.filter((s) => /session refused/.test(s.reason ?? '')).length >= 2, 60_000);
    assert.ok(statuses.some((s) => s.fill === 'red' && /session refused/.test(s.text)), JSON.stringify(statuses));
    const bad = new Promise<any>((r) => helper.getNode('out').once('input', r));
    helper.getNode('r').receive({});
    const m = await bad;
    assert.ok(m.payload.every((s: any) => s.quality === 'bad' && /not connected/.test(s.reason)));
    // The password never reaches a log line.
    const logged = JSON.stringify(ep2.warn.args) + JSON.stringify(ep2.error.args) + JSON.stringify(ep2.log.args);
    assert.ok(!logged.includes('wrong') && !logged.includes('s3cret'));
  });

  it('report-by-exception sends a tag again only when it changes', async () => {
    const [port, opcuaPort] = [await freePort(), await freePort()];
    sims.push(await startSimulator(['--port', String(port), '--opcua', String(opcuaPort), '--tick', '50']));
    await helper.load([plcEndpoint, plcRead], [
      { id: 'ep', type: 'plc-endpoint', protocol: 'modbus-tcp', host: '127.0.0.1', port, tags: SIM_MODBUS_TAGS },
      { id: 'r', type: 'plc-read', endpoint: 'ep', tags: 'Int16_ABCD, GoodCount, LineSpeed', intervalMs: 100, reportByException: true, wires: [['out']] },
      { id: 'out', type: 'helper' },
    ]);
    const msgs: any[] = [];
    helper.getNode('out').on('input', (m: any) => msgs.push(m));
    await waitFor('several messages', () => msgs.length >= 6, 30_000);
    const first = msgs.find((m) => m.payload.some((s: any) => s.quality === 'good'));
    assert.equal(first.values.Int16_ABCD, -1234);
    const later = msgs.slice(msgs.indexOf(first) + 1);
    assert.ok(later.length >= 3);
    assert.ok(later.every((m) => !('Int16_ABCD' in m.values)), 'a value that never changes is sent once');
    assert.ok(later.every((m) => m.payload.length >= 1 && m.payload.length <= 2));
    // LineSpeed has a deadband of 0.5 m/min: consecutive reported speeds differ by at least that.
    const speeds = msgs.flatMap((m) => m.payload.filter((s: any) => s.tag === 'LineSpeed' && s.quality === 'good').map((s: any) => s.value));
    for (let i = 1; i < speeds.length; i++) assert.ok(Math.abs(speeds[i] - speeds[i - 1]) >= 0.5, `${speeds}`);
  });
});

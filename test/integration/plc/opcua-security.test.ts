// OPC UA with message security against the simulator in another process (node-opcua server): a signed and
// encrypted session with certificates exchanged through real certificate stores on both sides, a server
// that trusts listed clients only, a client that refuses servers it does not know, and a mode the server
// does not offer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { freePort } from '../../support/services';
import { tempDir } from '../../support/runtime-process';
import { waitFor } from '../../support/wait';
import { SIM_OPCUA_TAGS } from '../../../runtime/dev/simulators/plc-tags';
import { startSimulator, type Peer } from './peers';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcEndpoint = require('../../../nodes/plc-endpoint/plc-endpoint');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const plcRead = require('../../../nodes/plc-read/plc-read');

helper.init(require.resolve('node-red'));

const certsIn = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /\.(pem|der)$/.test(f)) : []);

describe('plc nodes: OPC UA Sign & Encrypt with certificate stores (simulator in another process)', function () {
  this.timeout(180_000);
  const sims: Peer[] = [];
  const dirs: string[] = [];
  let serverPki: string;
  let clientPki: string;
  let opcuaPort: number;

  beforeEach(async () => {
    serverPki = tempDir('ls-ua-server-pki-');
    clientPki = tempDir('ls-ua-client-pki-');
    dirs.push(serverPki, clientPki);
    opcuaPort = await freePort();
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    for (const s of sims.splice(0)) await s.stop();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  async function simulator(...extra: string[]) {
    sims.push(await startSimulator(['--port', String(await freePort()), '--opcua', String(opcuaPort), '--opcua-pki', serverPki, '--tick', '50', ...extra]));
  }

  async function endpoint(extra: object = {}) {
    await helper.load(
      [plcEndpoint, plcRead],
      [
        { id: 'ep', type: 'plc-endpoint', name: 'ua', protocol: 'opcua', endpointUrl: `opc.tcp://127.0.0.1:${opcuaPort}/UA/Linesight`, securityMode: 'SignAndEncrypt', securityPolicy: 'Basic256Sha256', pkiDir: clientPki, reconnectMinMs: 200, reconnectMaxMs: 1000, timeoutMs: 5000, tags: SIM_OPCUA_TAGS, ...extra },
        { id: 'r', type: 'plc-read', endpoint: 'ep', intervalMs: 0, wires: [['out']] },
        { id: 'out', type: 'helper' },
      ],
    );
    const ep = helper.getNode('ep');
    const states: Array<{ phase: string; reason?: string }> = [];
    ep.driver.on('state', (s: { phase: string; reason?: string }) => states.push(s));
    return { ep, states };
  }

  async function readAll(): Promise<any> {
    const got = new Promise<any>((r) => helper.getNode('out').once('input', r));
    helper.getNode('r').receive({});
    return got;
  }

  it('signs and encrypts with Basic256Sha256: creates its own certificate, records the server\'s, and reads good values', async () => {
    await simulator('--opcua-security', 'SignAndEncrypt');
    const { ep } = await endpoint();
    await waitFor('a secure session', () => ep.driver.state.phase === 'connected', 90_000);
    const msg = await readAll();
    assert.ok(msg.payload.every((s: any) => s.quality === 'good'), JSON.stringify(msg.payload));
    assert.equal(msg.values.ProductCode, 'PX-2000');
    assert.ok(fs.existsSync(path.join(clientPki, 'own', 'certs', 'client_certificate.pem')), 'the endpoint made its application certificate in its own store');
    assert.equal(certsIn(path.join(clientPki, 'trusted', 'certs')).length, 1, 'the server certificate was recorded as trusted on first use');
    assert.equal(certsIn(path.join(serverPki, 'trusted', 'certs')).length, 1, 'the server saw (and recorded) the endpoint\'s certificate: the channel really used certificates');
  });

  it('a server that trusts listed clients only refuses the endpoint until an administrator trusts its certificate', async () => {
    await simulator('--opcua-security', 'SignAndEncrypt', '--opcua-trusted-only');
    const { ep, states } = await endpoint();
    await waitFor('the refusal', () => states.some((s) => s.phase === 'disconnected'), 60_000);
    assert.notEqual(ep.driver.state.phase, 'connected');
    assert.match(states.find((s) => s.phase === 'disconnected')!.reason ?? '', /connection refused: .*rejected by server/, 'the status says the server refused it');
    const bad = await readAll();
    assert.ok(bad.payload.every((s: any) => s.quality === 'bad'), 'nothing is read while refused');
    const rejected = path.join(serverPki, 'rejected');
    await waitFor('the endpoint certificate among the server\'s rejected ones', () => certsIn(rejected).length > 0, 30_000);
    // The administrator moves it to trusted/; the endpoint gets in on its next attempt.
    const [cert] = certsIn(rejected);
    fs.renameSync(path.join(rejected, cert), path.join(serverPki, 'trusted', 'certs', cert));
    await waitFor('a secure session once trusted', () => ep.driver.state.phase === 'connected', 90_000).catch((err) => {
      throw new Error(`${err.message}; states: ${JSON.stringify(states.slice(-6))}; server trusted: ${certsIn(path.join(serverPki, 'trusted', 'certs'))}, rejected: ${certsIn(rejected)}`);
    });
    assert.ok((await readAll()).payload.every((s: any) => s.quality === 'good'));
  });

  it('with trust on first use off, refuses a server it does not know and files its certificate under rejected/', async () => {
    await simulator('--opcua-security', 'SignAndEncrypt');
    const { ep, states } = await endpoint({ trustNewServers: false });
    await waitFor('the refusal', () => states.some((s) => s.phase === 'disconnected' && s.reason), 60_000);
    assert.match(states.find((s) => s.phase === 'disconnected')!.reason ?? '', /connection refused/);
    await waitFor('the server certificate among the endpoint\'s rejected ones', () => certsIn(path.join(clientPki, 'rejected')).length > 0, 30_000);
    assert.notEqual(ep.driver.state.phase, 'connected');
    assert.equal(certsIn(path.join(clientPki, 'trusted', 'certs')).length, 0);
  });

  it('asking for no security from a server that only signs and encrypts fails with a reason, not silently', async () => {
    await simulator('--opcua-security', 'SignAndEncrypt');
    const { ep, states } = await endpoint({ securityMode: 'None', securityPolicy: 'None' });
    await waitFor('a refusal with a reason', () => states.some((s) => s.phase === 'disconnected' && s.reason), 60_000);
    assert.notEqual(ep.driver.state.phase, 'connected');
    const bad = await readAll();
    assert.ok(bad.payload.every((s: any) => s.quality === 'bad' && /not connected/.test(s.reason)), JSON.stringify(bad.payload));
  });
});

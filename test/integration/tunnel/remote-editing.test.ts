// Remote editing end to end, without a browser: a deployer turns it on, the agent dials out, and the
// device's Node-RED editor (listening on a loopback port these tests never call) is used only through the
// repository: HTTP, the comms socket, a deploy that makes the device drift, "save as a new version" that
// another device then receives by deployment, revert, remote commands, refusals, revoked token (also when
// another replica replaced it or turned remote editing off).
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { hashToken } from '../../../runtime/repo/auth';
import { pgService } from '../../support/services';
import { waitFor } from '../../support/wait';
import { openComms, startTunnelWorld, type TunnelWorld } from './support';

describe('remote editing through the agent tunnel', function () {
  this.timeout(180_000);
  let w: TunnelWorld;
  let url: string;
  let editor: (id: string) => string;

  before(async function () {
    this.timeout(150_000);
    w = await startTunnelWorld();
    url = w.fleet.h.repo.url;
    editor = (id) => `/devices/${id}/editor/`;
  });
  after(async function () {
    this.timeout(60_000);
    await w?.close();
  });

  it('refuses while remote editing is off, and refuses viewers and tokens', async () => {
    assert.equal((await w.as(w.deployer, 'GET', editor(w.ids.a))).status, 409);
    assert.match(await (await w.as(w.deployer, 'GET', `${editor(w.ids.a)}settings`)).text(), /remote editing is off/);
    assert.equal((await w.as(w.viewer, 'POST', `/api/v1/devices/${w.ids.a}/remote-editing`, { enabled: true })).status, 403);
    const bad = await w.as(w.deployer, 'POST', `/api/v1/devices/${w.ids.a}/remote-editing`, { enabled: true, idleMinutes: 0 });
    assert.equal(bad.status, 422);
    assert.match(await bad.text(), /idleMinutes/);
    // No one dials a device's tunnel before remote editing is on, not even the device.
    assert.equal(w.fleet.h.repo.tunnels.status(w.ids.a).connected, false);
    const cmd = await w.as(w.deployer, 'POST', `/api/v1/devices/${w.ids.a}/remote-commands`, { command: 'restart' });
    assert.equal(cmd.status, 409);
  });

  it('turned on by a deployer: the agent opens its tunnel and the editor loads through the repository only', async () => {
    await w.turnOn(w.ids.a);
    await w.connected(w.ids.a);
    const doc = (await (await w.as(w.viewer, 'GET', `/api/v1/devices/${w.ids.a}`)).json()) as { remoteEditing: { by: string; idleMinutes: number }; tunnel: { connected: boolean }; editorUrl: string };
    assert.equal(doc.remoteEditing.by, 'user:dana');
    assert.equal(doc.remoteEditing.idleMinutes, 30);
    assert.equal(doc.tunnel.connected, true);
    assert.equal(doc.editorUrl, editor(w.ids.a));

    // Without the trailing slash the editor's relative URLs would break: redirected.
    const bare = await w.as(w.deployer, 'GET', editor(w.ids.a).slice(0, -1));
    assert.equal(bare.status, 308);
    assert.equal(bare.headers.get('location'), editor(w.ids.a));

    const page = await w.as(w.deployer, 'GET', editor(w.ids.a));
    assert.equal(page.status, 200, `${await page.clone().text()} ${page.headers.get('content-type')}`);
    const html = await page.text();
    assert.match(html, /<title>Linesight · line<\/title>/);
    assert.match(html, /<script src="__linesight\/editor\.js"><\/script>/);
    // The runtime's settings need its admin login: the agent's, never shown to the browser.
    const settings = await w.as(w.deployer, 'GET', `${editor(w.ids.a)}settings`, undefined, { 'Node-RED-API-Version': 'v2' });
    assert.equal(settings.status, 200);
    const s = (await settings.json()) as { httpNodeRoot: string; user?: { username: string } };
    assert.equal(s.httpNodeRoot, '/');
    const script = await (await w.as(w.deployer, 'GET', `${editor(w.ids.a)}__linesight/editor.js`)).text();
    assert.ok(script.includes(w.deployer.csrfToken), 'the helper carries the session CSRF token');
    const asset = await w.as(w.deployer, 'GET', `${editor(w.ids.a)}red/red.min.js`);
    assert.equal(asset.status, 200);
    assert.ok((await asset.arrayBuffer()).byteLength > 500_000);

    // Viewers, tokens and people without a session are refused.
    assert.equal((await w.as(w.viewer, 'GET', editor(w.ids.a))).status, 403);
    assert.equal((await fetch(`${url}${editor(w.ids.a)}settings`, { headers: { authorization: `Bearer ${w.fleet.h.repo.adminToken}` } })).status, 403);
    assert.equal((await fetch(`${url}${editor(w.ids.a)}settings`)).status, 401);
    await assert.rejects(openComms(url, w.ids.a, w.viewer), (e: { status?: number }) => e.status === 403);
    const audit = (await w.fleet.h.admin.audit({ subject: w.ids.a })) as unknown as Array<{ action: string; actor: string }>;
    assert.ok(audit.some((e) => e.action === 'device.remote-editing.on' && e.actor === 'user:dana'));
    assert.ok(audit.some((e) => e.action === 'device.tunnel.open' && e.actor === `device:${w.ids.a}`));
    assert.ok(audit.some((e) => e.action === 'device.editor.open' && e.actor === 'user:dana'));
  });

  it('a deploy in the editor (comms socket, debug messages) makes the device drifted, audited with who deployed', async () => {
    const comms = await openComms(url, w.ids.a, w.deployer);
    comms.ws.send(JSON.stringify({ subscribe: 'debug' }));
    const flows = (await (await w.as(w.deployer, 'GET', `${editor(w.ids.a)}flows`, undefined, { 'Node-RED-API-Version': 'v2' })).json()) as { rev: string; flows: Array<Record<string, unknown>> };
    const tab = flows.flows.find((n) => n.type === 'tab')!;
    const added = [
      { id: 'hand-inject', z: tab.id, type: 'inject', name: 'hand test', props: [{ p: 'payload' }], repeat: '0.5', once: true, onceDelay: 0.1, topic: '', payload: 'hello from the line', payloadType: 'str', wires: [['hand-debug']] },
      { id: 'hand-debug', z: tab.id, type: 'debug', name: 'hand debug', active: true, tosidebar: true, console: false, complete: 'payload', targetType: 'msg', wires: [] },
    ];
    const body = { flows: [...flows.flows, ...added], rev: flows.rev };
    // Without the CSRF header (a page of another site cannot read it) the deploy is refused.
    const forged = await fetch(`${url}${editor(w.ids.a)}flows`, { method: 'POST', headers: { cookie: w.deployer.cookie, 'content-type': 'application/json', 'Node-RED-API-Version': 'v2' }, body: JSON.stringify(body) });
    assert.equal(forged.status, 403);
    const deployed = await w.as(w.deployer, 'POST', `${editor(w.ids.a)}flows`, body, { 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' });
    assert.equal(deployed.status, 200, await deployed.clone().text());
    const debug = await waitFor('a debug message on the comms socket', () => comms.messages.find((m) => (m as { topic?: string }).topic === 'debug') as { data: { msg: string; name: string } } | undefined, 20_000);
    assert.equal(debug.data.name, 'hand debug');
    assert.match(debug.data.msg, /hello from the line/);
    comms.ws.close();

    await w.a.waitFor('drifted');
    await waitFor('the repository to see the drift', async () => (await w.fleet.device(w.ids.a)).state === 'drifted', 20_000);
    const audit = (await w.fleet.h.admin.audit({ subject: w.ids.a })) as unknown as Array<{ action: string; actor: string; detail: { status?: number } }>;
    const deploy = audit.find((e) => e.action === 'device.editor.deploy');
    assert.ok(deploy, 'the deploy is audited');
    assert.equal(deploy.actor, 'user:dana');
    assert.equal(deploy.detail.status, 200);
  });

  it('save as a new version keeps parameters as references; another device receives it by deployment', async () => {
    const res = await w.as(w.deployer, 'POST', `/api/v1/devices/${w.ids.a}/save-version`, { version: '1.1.0', changelog: 'hand test debug' });
    assert.equal(res.status, 201, await res.clone().text());
    const v = await w.fleet.h.admin.getVersion('agent-probe', '1.1.0');
    assert.equal(v.changelog, 'hand test debug');
    assert.equal(v.author, 'dana');
    const nodes = v.flow as Array<Record<string, unknown>>;
    assert.ok(nodes.some((n) => n.id === 'hand-debug'), 'the hand edit is in the version');
    for (const t of nodes.filter((n) => n.type === 'tab')) assert.ok(!((t.env as Array<{ name: string }> | undefined) ?? []).some((e) => e.name === 'LINE_ID'), "device A's LINE_ID value is not baked in");
    const fn = nodes.find((n) => n.id === 'fn1')!;
    assert.match(String(fn.func), /env\.get\('LINE_ID'\)/);

    await w.fleet.deploy({ version: '1.1.0', target: { ids: [w.ids.b] } });
    await w.b.waitFor('running', 'agent-probe@1.1.0');
    // Device B fills in its own LINE_ID.
    assert.deepEqual(await w.b.probe(), { version: 'v1', line: 'L2' });
    const audit = (await w.fleet.h.admin.audit({ subject: w.ids.a })) as unknown as Array<{ action: string }>;
    assert.ok(audit.some((e) => e.action === 'device.editor.save-version'));
  });

  it('remote commands: support bundle (kept), last good flow, revert to the assigned version, restart; nothing else', async () => {
    const bundle = (await (await w.as(w.deployer, 'POST', `/api/v1/devices/${w.ids.a}/remote-commands`, { command: 'support-bundle' })).json()) as { bundleId: string; result: { versions: { node: string; nodeRed: string }; log: string[]; state: string } };
    assert.equal(bundle.result.versions.node, process.version);
    assert.match(bundle.result.versions.nodeRed, /^4\./);
    assert.equal(bundle.result.state, 'drifted');
    assert.ok(bundle.result.log.some((l) => l.includes('remote editing is on')));
    const kept = (await (await w.as(w.deployer, 'GET', `/api/v1/devices/${w.ids.a}/support-bundles/${bundle.bundleId}`)).json()) as { createdBy: string };
    assert.equal(kept.createdBy, 'user:dana');

    const lastGood = (await (await w.as(w.deployer, 'POST', `/api/v1/devices/${w.ids.a}/remote-commands`, { command: 'last-good' })).json()) as { result: { target: string; flow: unknown[] } };
    assert.equal(lastGood.result.target, 'agent-probe@1.0.0');

    const unknown = await w.as(w.deployer, 'POST', `/api/v1/devices/${w.ids.a}/remote-commands`, { command: 'flows' });
    assert.equal(unknown.status, 422, 'only the documented commands are accepted from people');

    const revert = await w.as(w.deployer, 'POST', `/api/v1/devices/${w.ids.a}/remote-commands`, { command: 'revert' });
    assert.equal(revert.status, 200, await revert.clone().text());
    await w.a.waitFor('running', 'agent-probe@1.0.0');
    const now = (await (await w.as(w.deployer, 'GET', `${editor(w.ids.a)}flows`)).json()) as Array<{ id: string }>;
    assert.ok(!now.some((n) => n.id === 'hand-debug'), 'the hand edit is gone');

    const pid = w.a.agent.supervisor.pid;
    const restart = await w.as(w.deployer, 'POST', `/api/v1/devices/${w.ids.a}/remote-commands`, { command: 'restart' });
    assert.equal(restart.status, 200);
    assert.notEqual(w.a.agent.supervisor.pid, pid);
    // The editor works again through the restarted runtime (the agent logs in anew).
    assert.equal((await w.as(w.deployer, 'GET', `${editor(w.ids.a)}settings`)).status, 200);
    const audit = (await w.fleet.h.admin.audit({ subject: w.ids.a })) as unknown as Array<{ action: string; detail: { command?: string } }>;
    for (const c of ['support-bundle', 'last-good', 'revert', 'restart']) assert.ok(audit.some((e) => e.action === 'device.remote-command' && e.detail.command === c), `${c} audited`);
  });

  it('the runtime editor listens on loopback only, and no runtime login reaches a log', () => {
    assert.match(w.a.agent.supervisor.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.ok(!w.a.output.some((l) => /Bearer [A-Za-z0-9]|"auth":"[A-Za-z0-9]/.test(l)), 'no token in the agent log');
  });

  it('turned off: the tunnel closes at once and the editor is refused', async () => {
    const off = await w.as(w.deployer, 'POST', `/api/v1/devices/${w.ids.b}/remote-editing`, { enabled: false });
    assert.equal(off.status, 200);
    await w.turnOn(w.ids.b);
    await w.connected(w.ids.b);
    await w.as(w.deployer, 'POST', `/api/v1/devices/${w.ids.b}/remote-editing`, { enabled: false });
    assert.equal(w.fleet.h.repo.tunnels.status(w.ids.b).connected, false);
    assert.equal((await w.as(w.deployer, 'GET', editor(w.ids.b))).status, 409);
    await waitFor('agent B to close its tunnel', () => w.b.agent.tunnel === null, 20_000);
  });

  it('a replaced device token closes the tunnel at once; the old token cannot open it again', async () => {
    assert.equal(w.fleet.h.repo.tunnels.status(w.ids.a).connected, true);
    await w.fleet.h.admin.rotateDeviceToken(w.ids.a);
    assert.equal(w.fleet.h.repo.tunnels.status(w.ids.a).connected, false);
    await waitFor('the agent to be refused with its old token', () => w.a.output.some((l) => /refused the tunnel: HTTP 401/.test(l)), 20_000);
    assert.equal(w.fleet.h.repo.tunnels.status(w.ids.a).connected, false);
  });

  it('a token replaced or remote editing turned off through another replica (in the shared database) closes the tunnel here too', async () => {
    const db = new Client({ connectionString: (await pgService()).url });
    await db.connect();
    try {
      const devices = `"${w.fleet.h.schema}".devices`;
      await w.turnOn(w.ids.b);
      await w.connected(w.ids.b);
      // What another replica's switch-off writes; this replica hears nothing of it but the database.
      await db.query(`update ${devices} set remote_editing = jsonb_set(remote_editing, '{enabled}', 'false') where id = $1`, [w.ids.b]);
      await waitFor('the tunnel of B to close on this replica', () => !w.fleet.h.repo.tunnels.status(w.ids.b).connected, 10_000);

      await w.turnOn(w.ids.b);
      await w.connected(w.ids.b);
      // What another replica's token replacement writes.
      await db.query(`update ${devices} set token_hash = $2 where id = $1`, [w.ids.b, hashToken('lsd_replaced_elsewhere')]);
      await waitFor('the tunnel of B to close as revoked', () => !w.fleet.h.repo.tunnels.status(w.ids.b).connected, 10_000);
      await waitFor('agent B to be refused with its old token', () => w.b.output.some((l) => /refused the tunnel: HTTP 401/.test(l)), 20_000);
    } finally {
      await db.end();
    }
  });
});

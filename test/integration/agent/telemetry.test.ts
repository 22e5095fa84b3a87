// Remote logs and health from a real agent-supervised Node-RED to the real repository: a function node's
// warning reaches the log API and the live SSE tail; health samples carry per-node counts and a red
// node's name; a SIGKILLed runtime shows one more restart and the lines logged before it; and while the
// repository is down the agent buffers, loses nothing within its bound and counts what it drops beyond.
import assert from 'node:assert/strict';
import { createRepoServer, type RepoServer } from '../../../runtime/repo/server';
import { telemetryFlow } from '../../fixtures/agent/flows';
import { pgService } from '../../support/services';
import { waitFor } from '../../support/wait';
import { startFleet, uniqueId, type AgentUnderTest, type Fleet } from './fleet';

const V = (v: string) => `agent-probe@${v}`;
const MAX_LINES = 50;

describe('edge agent: remote logs and health', function () {
  this.timeout(240_000);
  let fleet: Fleet;
  let a: AgentUnderTest;
  let restarted: RepoServer | undefined;
  const id = uniqueId('line-tele');

  const post = async (path: string, body: unknown = {}) => {
    const res = await fetch(`${a.url}${path.replace(/^\//, '')}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) }).catch((err) => {
      throw new Error(`${path}: ${(err as Error).message}\n${a.output.slice(-30).join('\n')}`);
    });
    assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
  };
  const logs = (q: string) => fleet.h.admin.logs(id, { q, limit: 1000 });

  before(async function () {
    this.timeout(120_000);
    fleet = await startFleet({ broker: false });
    const token = await fleet.register(id, { LINE_ID: 'L1' });
    a = await fleet.startAgent(id, token, { pollIntervalMs: 500, statusGraceMs: 1000, telemetry: { intervalMs: 500, logLevel: 'warn', maxLines: MAX_LINES, batchDelayMs: 200 } });
    await fleet.publish('1.0.0', telemetryFlow('v1'));
    await fleet.deploy({ version: '1.0.0', target: { ids: [id] } });
    await a.waitFor('running', V('1.0.0'));
  });
  after(async function () {
    this.timeout(60_000);
    await a?.stop();
    await restarted?.close();
    await fleet?.close();
  });

  it("a function node's node.warn reaches GET logs and the live SSE tail, naming the node", async () => {
    const abort = new AbortController();
    const res = await fetch(`${fleet.h.repo.url}/api/v1/devices/${id}/logs/stream?level=warn&node=talker`, { headers: { authorization: `Bearer ${fleet.h.repo.adminToken}` }, signal: abort.signal });
    assert.equal(res.status, 200);
    let streamed = '';
    const reading = (async () => {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) streamed += Buffer.from(chunk).toString('utf8');
    })().catch(() => {});
    await waitFor('the stream to open', () => streamed.startsWith(':'), 5000);

    await post('/say', { text: 'hello from the line' });
    const got = await waitFor('the line in GET logs', async () => (await logs('hello from the line')).lines[0], 10_000);
    assert.equal(got.level, 'warn');
    assert.equal(got.nodeId, 'fn-talker');
    assert.equal(got.nodeType, 'function');
    assert.equal(got.nodeName, 'talker');
    await waitFor('the line on the SSE tail', () => streamed.includes('hello from the line'), 10_000);
    assert.match(streamed, new RegExp(`id: ${got.seq}\\nevent: line\\ndata: \\{[^\\n]*"msg":"hello from the line"`));
    abort.abort();
    await reading;
  });

  it('health samples arrive with per-node message counts and a red node named; the device turns degraded and back', async () => {
    for (let i = 0; i < 3; i++) await post('/say', { text: 'counted' });
    const withCounts = await waitFor(
      'a sample counting the talker',
      async () => {
        const { samples } = await fleet.h.admin.deviceHealth(id);
        const total = samples.flatMap((s) => s.nodes).filter((n) => n.id === 'fn-talker').reduce((sum, n) => sum + n.in, 0);
        return total >= 3 ? samples : null;
      },
      20_000,
    );
    const talker = withCounts.flatMap((s) => s.nodes).filter((n) => n.id === 'fn-talker');
    assert.ok(talker.every((n) => n.type === 'function' && n.name === 'talker'));
    assert.ok(talker.reduce((sum, n) => sum + n.out, 0) >= 3, 'messages out counted too');
    const last = withCounts.at(-1)!;
    assert.ok(last.rssBytes > 10_000_000 && last.heapUsedBytes > 0 && last.heapTotalBytes >= last.heapUsedBytes, JSON.stringify(last));
    assert.ok(last.cpuPercent >= 0 && last.eventLoopP99Ms >= 0 && last.uptimeSeconds >= 1);
    assert.ok((last.diskFreeBytes ?? 0) > 0, 'disk free of the data dir');
    assert.equal(last.restarts, 0);

    await post('/red');
    const fleetView = await waitFor('the red node in the fleet view', async () => {
      const d = (await fleet.h.admin.fleetHealth()).devices[id];
      return d?.last?.redNodes.length ? d : null;
    }, 20_000);
    assert.deepEqual(fleetView.last!.redNodes, [{ id: 'fn-alarm', type: 'function', name: 'alarm', text: 'jam at station 3' }]);
    const dev = await waitFor('the device to be degraded', async () => {
      const d = await fleet.device(id);
      return d.health === 'degraded' ? d : null;
    }, 20_000);
    assert.ok(dev.healthReasons.includes('function "alarm" (fn-alarm) is red: jam at station 3'), dev.healthReasons.join('; '));

    await post('/green');
    await waitFor('the device healthy again', async () => (await fleet.device(id)).health === 'ok', 20_000);
  });

  it('a runtime killed with SIGKILL shows restarts + 1 and the lines logged before it', async () => {
    const before = (await fleet.h.admin.fleetHealth()).devices[id]!.last!.restarts;
    // The line leaves the runtime on its next turn of the event loop; the kill comes once the agent has it.
    const received = new Promise<void>((resolve) => {
      const onLines = (lines: { msg: string }[]) => {
        if (!lines.some((l) => l.msg === 'last words before the kill')) return;
        a.agent.supervisor.off('log-lines', onLines);
        resolve();
      };
      a.agent.supervisor.on('log-lines', onLines);
    });
    await post('/say', { text: 'last words before the kill' });
    await received;
    const pid = a.agent.supervisor.pid!;
    process.kill(pid, 'SIGKILL');
    await waitFor('the runtime to come back', () => a.agent.supervisor.state === 'up' && a.agent.supervisor.pid !== pid, 60_000);
    const after = await waitFor('a sample with one more restart', async () => {
      const last = (await fleet.h.admin.fleetHealth()).devices[id]!.last!;
      return last.restarts === before + 1 ? last : null;
    }, 30_000);
    assert.equal(after.restarts, before + 1);
    assert.equal((await logs('last words before the kill')).lines.length, 1);
  });

  it('buffers while the repository is down: nothing lost within the bound, the oldest dropped and counted beyond it', async () => {
    const pg = await pgService();
    const restart = async () => {
      restarted = await createRepoServer({ db: pg.url, schema: fleet.h.schema, dataDir: fleet.h.dataDir, port: fleet.h.repo.port, poolSize: 4, now: Date.now });
    };
    const droppedBefore = (await fleet.h.admin.logs(id)).dropped;

    // Within the bound: every line arrives once the repository is back.
    await fleet.h.repo.close();
    await post('/say', { text: 'while down A', count: 30 });
    await waitFor('the agent to buffer the lines', () => a.agent.telemetry!.bufferedLines >= 30, 10_000);
    await restart();
    const a30 = await waitFor('the buffered lines', async () => {
      const r = await logs('while down A');
      return r.lines.length >= 30 ? r : null;
    }, 60_000);
    assert.deepEqual(a30.lines.map((l) => l.msg), Array.from({ length: 30 }, (_, i) => `while down A ${i}`), 'all, once each, in order');
    assert.equal(a30.dropped, droppedBefore);

    // Beyond the bound: the oldest go, and `dropped` says how many.
    await restarted!.close();
    restarted = undefined;
    const agentDropped = a.agent.telemetry!.droppedTotal;
    await post('/say', { text: 'while down B', count: MAX_LINES + 30 });
    await waitFor('the agent to drop the oldest', () => a.agent.telemetry!.droppedTotal - agentDropped >= 30, 10_000);
    await restart();
    const b = await waitFor('the newest lines', async () => {
      const r = await logs('while down B');
      return r.lines.length >= MAX_LINES ? r : null;
    }, 60_000);
    assert.deepEqual(b.lines.map((l) => l.msg), Array.from({ length: MAX_LINES }, (_, i) => `while down B ${i + 30}`), 'the newest 50, in order');
    assert.equal(b.dropped - droppedBefore, a.agent.telemetry!.droppedTotal - agentDropped);
    assert.equal(b.dropped - droppedBefore, 30);
  });
});

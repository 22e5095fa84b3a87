// Remote logs and health through the repository's HTTP API: what a device posts comes back in order with
// increasing seq, filtered, live on the SSE tail (resuming after Last-Event-ID), within the retention
// bounds, in the fleet view, the device's health and /metrics; a device reaches only its own.
import assert from 'node:assert/strict';
import type { HealthSample as RepoHealthSample } from '../../../contracts/fleet/protocol';
import type { RepoClient } from '../../../runtime/repo/client';
import { waitFor } from '../../support/wait';
import { refused, startHarness, type Harness } from './harness';

/** Reads an SSE response into `events` as they arrive. */
function followStream(url: string, token: string, headers: Record<string, string> = {}) {
  const events: { id?: string; event?: string; data: string }[] = [];
  const comments: string[] = [];
  const abort = new AbortController();
  const done = (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, ...headers }, signal: abort.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const e: { id?: string; event?: string; data: string } = { data: '' };
        let isComment = true;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) comments.push(line.slice(1).trim());
          else {
            isComment = false;
            const [k, ...rest] = line.split(':');
            const v = rest.join(':').replace(/^ /, '');
            if (k === 'id') e.id = v;
            else if (k === 'event') e.event = v;
            else if (k === 'data') e.data += v;
          }
        }
        if (!isComment) events.push(e);
      }
    }
  })().catch((err) => {
    if ((err as Error).name !== 'AbortError') throw err;
  });
  return { events, comments, close: () => abort.abort(), done };
}

const sample = (ts: number, extra: Partial<RepoHealthSample> = {}): RepoHealthSample => ({
  ts,
  cpuPercent: 12.5,
  rssBytes: 80_000_000,
  heapUsedBytes: 30_000_000,
  heapTotalBytes: 50_000_000,
  eventLoopP99Ms: 4.2,
  uptimeSeconds: 100,
  restarts: 0,
  diskFreeBytes: 1e10,
  nodes: [{ id: 'f1', type: 'function', name: 'check', in: 10, out: 9, errors: 0, status: { fill: 'green', shape: 'dot', text: 'ok' } }],
  ...extra,
});

describe('repo: remote logs and health', function () {
  this.timeout(60_000);
  let h: Harness;
  let a: RepoClient;
  let b: RepoClient;

  before(async () => {
    h = await startHarness({ telemetry: { maxLogLines: 50, sampleRetentionMs: 60 * 60_000 } });
    a = h.device((await h.admin.registerDevice({ id: 'tele-a', tier: 'line', pollIntervalSeconds: 3600 })).token);
    b = h.device((await h.admin.registerDevice({ id: 'tele-b', tier: 'line', pollIntervalSeconds: 3600 })).token);
  });
  after(async () => {
    await h?.close();
  });

  it('stores posted lines with increasing seq, newest last, and filters them by level, node, text and seq', async () => {
    const t = Date.now();
    await a.postLogs('tele-a', {
      lines: [
        { ts: t, level: 'info', msg: 'Started flows' },
        { ts: t + 1, level: 'warn', msg: 'slow PLC answer 50%_done', nodeId: 'n1', nodeType: 'plc-read', nodeName: 'line speed' },
        { ts: t + 2, level: 'error', msg: 'cannot write tag', nodeId: 'n2', nodeType: 'plc-write' },
        { ts: t + 3, level: 'debug', msg: 'tick' },
      ],
    });
    const all = await h.admin.logs('tele-a');
    assert.deepEqual(all.lines.map((l) => l.msg), ['Started flows', 'slow PLC answer 50%_done', 'cannot write tag', 'tick']);
    assert.deepEqual(all.lines.map((l) => l.seq), [1, 2, 3, 4]);
    assert.deepEqual(all.lines[1], { seq: 2, ts: t + 1, level: 'warn', msg: 'slow PLC answer 50%_done', nodeId: 'n1', nodeType: 'plc-read', nodeName: 'line speed' });
    assert.equal(all.dropped, 0);
    assert.deepEqual((await h.admin.logs('tele-a', { level: 'warn' })).lines.map((l) => l.seq), [2, 3]);
    assert.deepEqual((await h.admin.logs('tele-a', { node: 'line speed' })).lines.map((l) => l.seq), [2]);
    assert.deepEqual((await h.admin.logs('tele-a', { node: 'n2' })).lines.map((l) => l.seq), [3]);
    assert.deepEqual((await h.admin.logs('tele-a', { q: '50%_' })).lines.map((l) => l.seq), [2], 'the search text is literal, not a LIKE pattern');
    assert.deepEqual((await h.admin.logs('tele-a', { q: '%' })).lines.map((l) => l.seq), [2]);
    assert.deepEqual((await h.admin.logs('tele-a', { since: 2, limit: 1 })).lines.map((l) => l.seq), [3], 'after since: the oldest first');
    assert.deepEqual((await h.admin.logs('tele-a', { before: 4, limit: 2 })).lines.map((l) => l.seq), [2, 3], 'before: the newest of them, newest last');
    await a.postLogs('tele-a', { lines: [{ ts: t + 4, level: 'info', msg: 'after a gap' }], dropped: 7 });
    assert.equal((await h.admin.logs('tele-a')).dropped, 7);
  });

  it('refuses bad queries and bodies naming the field (422), and unknown devices (404)', async () => {
    const q = await refused(h.admin.logs('tele-a', { level: 'loud' as never }), 422);
    assert.equal(q.problems[0]?.field, 'level');
    assert.equal((await refused(h.admin.logs('tele-a', { limit: 5000 }), 422)).problems[0]?.field, 'limit');
    assert.equal((await refused(h.admin.deviceHealth('tele-a', { step: 0 }), 422)).problems[0]?.field, 'step');
    await refused(h.admin.logs('nobody'), 404);
    const body = await refused(a.postLogs('tele-a', { lines: [{ ts: 1, level: 'chatty' as never, msg: 'x' }] }), 422);
    assert.ok(body.problems.some((p) => p.field === 'lines[0].level'), JSON.stringify(body.problems));
    await refused(a.postLogs('tele-a', { lines: [] }), 422);
  });

  it('a device token cannot post or read another device\'s logs or health, nor read its own (a viewer route)', async () => {
    await refused(b.postLogs('tele-a', { lines: [{ ts: 1, level: 'info', msg: 'forged' }] }), 403);
    await refused(b.postHealth('tele-a', { samples: [sample(Date.now())] }), 403);
    await refused(b.logs('tele-a'), 403);
    await refused(a.logs('tele-a'), 403);
    await refused(b.deviceHealth('tele-a'), 403);
    await refused(b.fleetHealth(), 403);
    await refused(h.admin.postLogs('tele-a', { lines: [{ ts: 1, level: 'info', msg: 'admin is not the device' }] }), 403);
    await refused(h.anon().logs('tele-a'), 401);
    assert.ok(!(await h.admin.logs('tele-a')).lines.some((l) => /forged|admin is not/.test(l.msg)));
  });

  it('keeps only the newest lines of each device (maxLogLines) and counts seq on', async () => {
    const t = Date.now();
    for (let batch = 0; batch < 4; batch++) {
      await b.postLogs('tele-b', { lines: Array.from({ length: 30 }, (_, i) => ({ ts: t + batch * 30 + i, level: 'info' as const, msg: `line ${batch * 30 + i}` })) });
    }
    const r = await h.admin.logs('tele-b', { limit: 1000 });
    assert.equal(r.lines.length, 50);
    assert.equal(r.lines[0]!.msg, 'line 70');
    assert.equal(r.lines.at(-1)!.msg, 'line 119');
    assert.equal(r.lines.at(-1)!.seq, 120);
    const rows = await h.repo.db.query(`select count(*)::int as n from ${h.repo.db.s}.device_log_lines where device_id = 'tele-b'`);
    assert.equal(rows.rows[0].n, 50, 'pruned in the table, not only in the answer');
  });

  it('streams new lines as SSE events with id = seq, and resumes after Last-Event-ID', async () => {
    const url = `${h.repo.url}/api/v1/devices/tele-a/logs/stream?level=warn`;
    const live = followStream(url, h.repo.adminToken!);
    await waitFor('the stream to open', () => live.comments.length > 0);
    const last = (await h.admin.logs('tele-a')).lines.at(-1)!.seq;
    await a.postLogs('tele-a', { lines: [{ ts: Date.now(), level: 'info', msg: 'filtered out' }, { ts: Date.now(), level: 'error', msg: 'live error', nodeId: 'n9', nodeType: 'function', nodeName: 'f' }] });
    await waitFor('the live line', () => live.events.length >= 1, 5000);
    assert.equal(live.events.length, 1);
    const e = live.events[0]!;
    assert.equal(e.event, 'line');
    assert.equal(e.id, String(last + 2));
    assert.deepEqual(JSON.parse(e.data), { seq: last + 2, ts: JSON.parse(e.data).ts, level: 'error', msg: 'live error', nodeId: 'n9', nodeType: 'function', nodeName: 'f' });
    live.close();
    await live.done;

    const resumed = followStream(`${h.repo.url}/api/v1/devices/tele-a/logs/stream`, h.repo.adminToken!, { 'last-event-id': String(last) });
    await waitFor('the lines after Last-Event-ID', () => resumed.events.length >= 2, 5000);
    assert.deepEqual(resumed.events.map((x) => JSON.parse(x.data).msg), ['filtered out', 'live error']);
    resumed.close();
    await resumed.done;
  });

  it('stores health samples, serves them (downsampled on request), and folds the newest into the fleet view, device health and /metrics', async () => {
    const t0 = Date.now() - 60_000;
    await a.postHealth('tele-a', { samples: [sample(t0), sample(t0 + 10_000, { cpuPercent: 30 })] });
    let dev = await h.admin.getDevice('tele-a');
    assert.equal(dev.health, 'ok', dev.healthReasons.join('; '));
    const red = sample(t0 + 20_000, {
      restarts: 1,
      nodes: [
        { id: 'f1', type: 'function', name: 'check', in: 5, out: 5, errors: 0 },
        { id: 'p1', type: 'plc-read', name: 'line speed', in: 0, out: 0, errors: 0, status: { fill: 'red', shape: 'ring', text: 'disconnected' } },
      ],
    });
    await a.postHealth('tele-a', { samples: [red] });
    const got = await h.admin.deviceHealth('tele-a');
    assert.deepEqual(got.samples.map((s) => s.seq), [1, 2, 3]);
    assert.deepEqual(got.samples[2], { ...red, seq: 3 });
    const stepped = await h.admin.deviceHealth('tele-a', { step: 3600 });
    assert.ok(stepped.samples.length <= 2, `${stepped.samples.length} points for a 1-hour step`);
    assert.equal((await h.admin.deviceHealth('tele-a', { since: t0 + 5000, until: t0 + 15_000 })).samples.length, 1);

    dev = await h.admin.getDevice('tele-a');
    assert.equal(dev.health, 'degraded');
    assert.ok(dev.healthReasons.some((r) => r === 'plc-read "line speed" (p1) is red: disconnected'), dev.healthReasons.join('; '));
    assert.equal((await h.admin.listDevices()).find((d) => d.id === 'tele-a')?.health, 'degraded');
    assert.equal((await h.admin.getDevice('tele-b')).health, 'unknown');

    const fleet = await h.admin.fleetHealth();
    const last = fleet.devices['tele-a']!.last!;
    assert.equal(last.restarts, 1);
    assert.deepEqual(last.redNodes, [{ id: 'p1', type: 'plc-read', name: 'line speed', text: 'disconnected' }]);
    assert.ok(fleet.devices['tele-a']!.spark.cpu.length >= 1 && fleet.devices['tele-a']!.spark.cpu.length <= 60);
    assert.deepEqual(fleet.devices['tele-b'], { last: null, spark: { cpu: [], rss: [] } });

    const metrics = await (await fetch(`${h.repo.url}/metrics`)).text();
    assert.match(metrics, /linesight_device_red_nodes\{device="tele-a"\} 1/);
    assert.match(metrics, /linesight_device_restarts\{device="tele-a"\} 1/);
    assert.match(metrics, /linesight_repo_devices_health\{health="degraded"\} 1/);
    assert.doesNotMatch(metrics, /line speed/, 'node names never become labels');

    // Errors in two samples in a row: "errors climb".
    const erring = (ts: number) => sample(ts, { nodes: [{ id: 'f1', type: 'function', name: 'check', in: 5, out: 0, errors: 5 }] });
    await a.postHealth('tele-a', { samples: [erring(t0 + 30_000)] });
    assert.equal((await h.admin.getDevice('tele-a')).health, 'ok', 'one sample with errors is not yet a climb');
    await a.postHealth('tele-a', { samples: [erring(t0 + 40_000)] });
    dev = await h.admin.getDevice('tele-a');
    assert.equal(dev.health, 'degraded');
    assert.match(dev.healthReasons.join('; '), /errors climb: 30 errors\/min .*function "check" \(f1\) 5/);
  });

  it('prunes samples older than the retention window on insert', async () => {
    const now = Date.now();
    await b.postHealth('tele-b', { samples: [sample(now - 3 * 60 * 60_000), sample(now - 2 * 60 * 60_000)] });
    assert.equal((await h.admin.deviceHealth('tele-b')).samples.length, 2, 'kept while nothing newer says they are old');
    await b.postHealth('tele-b', { samples: [sample(now)] });
    assert.deepEqual((await h.admin.deviceHealth('tele-b')).samples.map((s) => s.ts), [now]);
  });
});

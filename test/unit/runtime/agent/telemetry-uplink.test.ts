// The agent's telemetry uplink: batches lines, keeps them (bounded, oldest dropped and counted) while the
// repository is away, sends them in order when it is back, and drops a batch the repository refuses.
import assert from 'node:assert/strict';
import type { DeviceLogBatch, DeviceLogLine, HealthSample, HealthSampleBatch } from '../../../../contracts/fleet/protocol';
import { Backoff } from '../../../../lib/backoff';
import { RefusedBatch, TelemetryUplink } from '../../../../runtime/agent/telemetry-uplink';
import { waitFor } from '../../../support/wait';

const line = (i: number): DeviceLogLine => ({ ts: 1000 + i, level: 'info', msg: `line ${i}` });
const sample = (ts: number): HealthSample => ({ ts, cpuPercent: 1, rssBytes: 1, heapUsedBytes: 1, heapTotalBytes: 1, eventLoopP99Ms: 1, uptimeSeconds: 1, restarts: 0, nodes: [] });

/** A repository stand-in that can be down, and refuses what `refuse` says. */
class Sink {
  up = true;
  logs: DeviceLogBatch[] = [];
  health: HealthSampleBatch[] = [];
  refuse: (b: DeviceLogBatch) => boolean = () => false;
  async postLogs(b: DeviceLogBatch) {
    if (!this.up) throw new Error('ECONNREFUSED');
    if (this.refuse(b)) throw new RefusedBatch('HTTP 422');
    this.logs.push(b);
  }
  async postHealth(b: HealthSampleBatch) {
    if (!this.up) throw new Error('ECONNREFUSED');
    this.health.push(b);
  }
  get msgs() {
    return this.logs.flatMap((b) => b.lines.map((l) => l.msg));
  }
  get dropped() {
    return this.logs.reduce((sum, b) => sum + (b.dropped ?? 0), 0);
  }
}

const fastRetry = () => new Backoff({ initialMs: 5, maxMs: 20, jitter: 0 });

describe('agent: telemetry uplink', () => {
  let uplinks: TelemetryUplink[] = [];
  const make = (sink: Sink, o: Partial<ConstructorParameters<typeof TelemetryUplink>[0]> = {}) => {
    const u = new TelemetryUplink({ sink, backoff: fastRetry(), batchDelayMs: 10, ...o });
    uplinks.push(u);
    return u;
  };
  afterEach(async () => {
    await Promise.all(uplinks.map((u) => u.close()));
    uplinks = [];
  });

  it('sends lines in batches of at most batchLines, in order', async () => {
    const sink = new Sink();
    const u = make(sink, { batchLines: 4 });
    u.addLines(Array.from({ length: 10 }, (_, i) => line(i)));
    await waitFor('every line', () => sink.msgs.length === 10);
    assert.deepEqual(sink.msgs, Array.from({ length: 10 }, (_, i) => `line ${i}`));
    assert.ok(sink.logs.every((b) => b.lines.length <= 4));
  });

  it('keeps every line while the repository is down (within the bound) and sends them once it is back', async () => {
    const sink = new Sink();
    sink.up = false;
    const u = make(sink, { maxLines: 100 });
    u.addLines(Array.from({ length: 60 }, (_, i) => line(i)));
    await waitFor('a failed attempt', () => u.bufferedLines === 60);
    sink.up = true;
    await waitFor('every line', () => sink.msgs.length === 60, 5000);
    assert.deepEqual(sink.msgs, Array.from({ length: 60 }, (_, i) => `line ${i}`));
    assert.equal(sink.dropped, 0);
  });

  it('beyond maxLines drops the oldest and reports how many in `dropped`', async () => {
    const sink = new Sink();
    sink.up = false;
    const u = make(sink, { maxLines: 20 });
    u.addLines(Array.from({ length: 50 }, (_, i) => line(i)));
    assert.equal(u.bufferedLines, 20);
    assert.equal(u.droppedTotal, 30);
    sink.up = true;
    await waitFor('the kept lines', () => sink.msgs.length === 20, 5000);
    assert.deepEqual(sink.msgs, Array.from({ length: 20 }, (_, i) => `line ${i + 30}`));
    assert.equal(sink.dropped, 30);
  });

  it('beyond maxBytes drops the oldest too', () => {
    const sink = new Sink();
    sink.up = false;
    const u = make(sink, { maxBytes: 2000, batchDelayMs: 60_000 });
    u.addLines(Array.from({ length: 10 }, (_, i) => ({ ...line(i), msg: 'x'.repeat(400) })));
    assert.ok(u.bufferedLines <= 4 && u.bufferedLines >= 3, `${u.bufferedLines} lines kept`);
    assert.equal(u.droppedTotal, 10 - u.bufferedLines);
  });

  it('drops a batch the repository refuses (no retry can fix it), counts it, and goes on', async () => {
    const sink = new Sink();
    sink.refuse = (b) => b.lines.some((l) => l.msg === 'line 1');
    const u = make(sink, { batchLines: 2 });
    u.addLines([line(0), line(1), line(2), line(3)]);
    await waitFor('the later lines', () => sink.msgs.includes('line 3'), 5000);
    assert.deepEqual(sink.msgs, ['line 2', 'line 3']);
    assert.equal(sink.dropped, 2);
  });

  it('keeps health samples while down, the older than maxSampleAgeMs dropped, and sends them in order', async () => {
    const sink = new Sink();
    sink.up = false;
    const u = make(sink, { maxSampleAgeMs: 25_000 });
    for (let t = 0; t <= 60_000; t += 10_000) u.addSample(sample(t));
    assert.equal(u.bufferedSamples, 3);
    assert.equal(u.droppedSamples, 4);
    sink.up = true;
    await waitFor('the samples', () => sink.health.flatMap((b) => b.samples).length === 3, 5000);
    assert.deepEqual(sink.health.flatMap((b) => b.samples.map((s) => s.ts)), [40_000, 50_000, 60_000]);
  });
});

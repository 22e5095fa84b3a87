// The pure parts of the repository's telemetry store: a device's health from its summary, folding a
// sample into the summary (red nodes, errors per minute, the sparkline), and downsampling.
import assert from 'node:assert/strict';
import type { HealthSample } from '../../../../../contracts/fleet/protocol';
import { deviceHealth, downsample, foldSample, type StoredSample } from '../../../../../runtime/repo/store/telemetry';

const sample = (ts: number, nodes: HealthSample['nodes'] = [], cpuPercent = 10): HealthSample => ({ ts, cpuPercent, rssBytes: 100, heapUsedBytes: 1, heapTotalBytes: 2, eventLoopP99Ms: 3, uptimeSeconds: 4, restarts: 0, nodes });
const red = { id: 'p1', type: 'plc-read', name: 'line speed', in: 0, out: 0, errors: 0, status: { fill: 'red' as const, shape: 'ring', text: 'disconnected' } };
const erring = { id: 'f1', type: 'function', in: 1, out: 0, errors: 3 };

describe('repo store: telemetry', () => {
  const now = 1_000_000_000;
  const online = { offline: false, degraded: false };

  it('health: unknown offline or without a recent sample, ok with one, degraded naming a red node', () => {
    assert.equal(deviceHealth(null, { offline: true, degraded: false }, now).health, 'unknown');
    assert.deepEqual(deviceHealth(null, online, now), { health: 'unknown', healthReasons: ['no health sample received yet'] });
    const ok = foldSample(null, sample(now), now);
    assert.deepEqual(deviceHealth(ok, online, now + 5000), { health: 'ok', healthReasons: [] });
    assert.equal(deviceHealth(ok, online, now + 61_000).health, 'unknown', 'stale after a minute at a 10 s interval');
    const bad = foldSample(ok, sample(now + 10_000, [red]), now + 10_000);
    assert.deepEqual(deviceHealth(bad, online, now + 10_000), { health: 'degraded', healthReasons: ['plc-read "line speed" (p1) is red: disconnected'] });
    assert.equal(deviceHealth(ok, { offline: false, degraded: true }, now).health, 'degraded', "the agent's own report counts");
  });

  it('errors climb: degraded after errors in two samples in a row, with errors per minute and the node', () => {
    let s = foldSample(null, sample(now), now);
    s = foldSample(s, sample(now + 10_000, [erring]), now + 10_000);
    assert.equal(s.errorsPerMin, 18);
    assert.equal(deviceHealth(s, online, now + 10_000).health, 'ok');
    s = foldSample(s, sample(now + 20_000, [erring]), now + 20_000);
    const h = deviceHealth(s, online, now + 20_000);
    assert.equal(h.health, 'degraded');
    assert.match(h.healthReasons[0]!, /^errors climb: 18 errors\/min for 2 samples in a row \(function \(f1\) 3\)$/);
    s = foldSample(s, sample(now + 30_000), now + 30_000);
    assert.equal(deviceHealth(s, online, now + 30_000).health, 'ok', 'a quiet sample ends it');
  });

  it('keeps a per-minute CPU/RSS sparkline of the last hour', () => {
    let s = foldSample(null, sample(0, [], 10), 0);
    s = foldSample(s, sample(30_000, [], 30), 0);
    assert.deepEqual(s.spark, [[0, 20, 100, 2]]);
    for (let m = 1; m <= 70; m++) s = foldSample(s, sample(m * 60_000), 0);
    assert.equal(s.spark.length, 60);
    assert.equal(s.spark[0]![0], 11);
  });

  it('downsamples: CPU averaged, memory at its worst, node counts summed, one point per step', () => {
    const stored: StoredSample[] = [sample(0, [erring], 10), sample(10_000, [erring], 30), sample(60_000, [], 5)].map((x, i) => ({ ...x, seq: i + 1, rssBytes: 100 * (i + 1) }));
    const out = downsample(stored, 60_000);
    assert.equal(out.length, 2);
    assert.equal(out[0]!.cpuPercent, 20);
    assert.equal(out[0]!.rssBytes, 200);
    assert.equal(out[0]!.seq, 2);
    assert.deepEqual(out[0]!.nodes, [{ ...erring, in: 2, errors: 6 }]);
  });
});

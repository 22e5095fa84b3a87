// The sink's own aggregation of a batch (used when every row of a COPY was new) must give what the
// database's date_bin + aggregates give; the integration test (history) compares both with count(*).
import assert from 'node:assert/strict';
import { aggregateRows, aggregateSQL, bucketStart, ROLLUPS } from '../../../../nodes/timescale-sink/rollups';

const def = (name: string) => ROLLUPS.find((r) => r.name === name)!;

describe('timescale-sink rollups: aggregation in the sink', () => {
  it('puts a time in the bucket date_bin gives (UTC minutes, hours and midnight-aligned days)', () => {
    const t = '2026-12-06T23:59:59.999Z';
    assert.equal(new Date(bucketStart(def('inspection_rollup_1m'), t)).toISOString(), '2026-12-06T23:59:00.000Z');
    assert.equal(new Date(bucketStart(def('inspection_rollup_1h'), t)).toISOString(), '2026-12-06T23:00:00.000Z');
    assert.equal(new Date(bucketStart(def('inspection_rollup_1d'), t)).toISOString(), '2026-12-06T00:00:00.000Z');
    assert.equal(new Date(bucketStart(def('inspection_rollup_1d'), Date.UTC(1999, 11, 31, 5))).toISOString(), '1999-12-31T00:00:00.000Z');
    assert.throws(() => bucketStart(def('inspection_rollup_1m'), 'not a time'), /not a time/);
  });

  it('counts, sums and counts defective inspections per bucket and key; a missing model version is one key', () => {
    const names = ['time', 'site', 'line', 'camera_id', 'model_version', 'defect_count'];
    const arrays = [
      ['2026-12-06T10:00:01Z', '2026-12-06T10:00:59Z', '2026-12-06T10:01:00Z', '2026-12-06T10:00:30Z'],
      ['s', 's', 's', 's'],
      ['l1', 'l1', 'l1', 'l1'],
      ['c', 'c', 'c', 'c'],
      [null, null, null, 'm@1'],
      [0, 3, 1, 2],
    ];
    const out = aggregateRows(def('inspection_rollup_1m'), names, arrays);
    const rows = out[0].map((_, i) => out.map((c) => c[i]));
    assert.deepEqual(rows, [
      ['2026-12-06T10:00:00.000Z', 's', 'l1', 'c', null, 2, 1, 3],
      ['2026-12-06T10:01:00.000Z', 's', 'l1', 'c', null, 1, 1, 1],
      ['2026-12-06T10:00:00.000Z', 's', 'l1', 'c', 'm@1', 1, 1, 2],
    ]);
  });

  it('buckets a canonical UTC time (toISOString form) by cutting it, as the parsed time would; other forms are parsed', () => {
    const names = ['time', 'device', 'tag', 'value_num'];
    for (const bucket of ['1 minute', '1 hour', '1 day'] as const) {
      const d = { ...def('tag_rollup_1m'), bucket };
      const times = ['2026-12-06T23:59:59.999Z', '2026-12-06T23:59:59Z', '2026-12-07T00:00:00.000+00:00', '1999-12-31T05:00:00.000Z'];
      const out = aggregateRows(d, names, [times, times.map(() => 'plc'), times.map(() => 't'), times.map(() => 1)]);
      const expected = [...new Set(times.map((t) => new Date(bucketStart(d, t)).toISOString()))];
      assert.deepEqual(out[0], expected, bucket);
    }
  });

  it('keeps groups apart whose keys print alike but differ in type', () => {
    const names = ['time', 'device', 'tag', 'value_num'];
    const t = '2026-12-06T10:00:01.000Z';
    const out = aggregateRows(def('tag_rollup_1m'), names, [[t, t, t], ['1', 1 as unknown as string, null as unknown as string], ['x', 'x', 'x'], [1, 2, 3]]);
    assert.deepEqual(out[1], ['1', 1, null]);
  });

  it('tag aggregates skip values that are not numbers, and min/max/sum stay null when none is', () => {
    const names = ['time', 'device', 'tag', 'value_num'];
    const arrays = [
      ['2026-12-06T10:00:01Z', '2026-12-06T10:00:02Z', '2026-12-06T10:00:03Z', '2026-12-06T10:00:04Z'],
      ['plc', 'plc', 'plc', 'plc'],
      ['speed', 'speed', 'speed', 'state'],
      [2.5, null, -1, null],
    ];
    const out = aggregateRows(def('tag_rollup_1m'), names, arrays);
    const rows = out[0].map((_, i) => out.map((c) => c[i]));
    // bucket, device, tag, samples, value_count, value_min, value_max, value_sum
    assert.deepEqual(rows, [
      ['2026-12-06T10:00:00.000Z', 'plc', 'speed', 3, 2, -1, 2.5, 1.5],
      ['2026-12-06T10:00:00.000Z', 'plc', 'state', 1, 0, null, null, null],
    ]);
  });

  it('numbers the statement parameters across every rollup of the table, one per column', () => {
    const defs = ROLLUPS.filter((r) => r.source === 'detections');
    const sql = aggregateSQL('h', defs);
    const columns = defs.reduce((n, d) => n + 1 + d.groupBy.length + d.measures.length, 0);
    assert.ok(sql.includes(`$${columns}::`) && !sql.includes(`$${columns + 1}::`));
    assert.equal((sql.match(/on conflict/g) ?? []).length, defs.length);
  });
});

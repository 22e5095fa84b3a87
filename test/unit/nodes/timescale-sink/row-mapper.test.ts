import assert from 'node:assert/strict';
import { copyLine, copyValue } from '../../../../nodes/timescale-sink/copy-writer';
import { createTableSQL, partitionName, partitionSQL } from '../../../../nodes/timescale-sink/db-schema';
import { assertIdentifier, quoteIdent } from '../../../../nodes/timescale-db/identifiers';
import { imagePathFor, safeName } from '../../../../nodes/timescale-sink/image-store';
import { CONTRACT_TABLES, CustomMapping, fieldOf, mapContract } from '../../../../nodes/timescale-sink/row-mapper';
import { sampleInspection } from '../../../fixtures/contracts';

describe('timescale-sink row mapper', () => {
  it('maps an inspection to one inspections row and one detections row per detection, time first', () => {
    const insp = sampleInspection(3, 2);
    const out = mapContract(insp, 9, { images: 'database' });
    assert.deepEqual(out.map((m) => m.table), ['inspections', 'detections']);
    const [ins] = out[0].rows;
    assert.equal(ins.values[0], new Date(insp.capturedAt).toISOString());
    assert.deepEqual(ins.values.slice(1), ['insp-3', 'plant1', 'line1', 'cam1', 'SN100003', 'yolo-v8.2', 2, '{"shift":"A"}']);
    assert.equal(ins.values.length, CONTRACT_TABLES.inspections.columns.length);
    const det = out[1].rows;
    assert.equal(det.length, 2);
    assert.deepEqual(det[1].values.slice(1), ['insp-3', 1, 'plant1', 'line1', 'cam1', 'SN100003', 'scratch', 0.6, 10, 20, 30, 40, 'yolo-v8.2']);
    assert.equal(det[1].ticket, 9);
    assert.equal(fieldOf(CONTRACT_TABLES.detections.columns[8], det[1]), 'payload.detections[1].confidence');
    assert.equal(fieldOf(CONTRACT_TABLES.detections.columns[0], det[1]), 'payload.capturedAt');
    assert.equal(fieldOf(CONTRACT_TABLES.inspections.columns[5], ins), 'payload.productSerial');
  });

  it('adds an images row with the bytes, or with a path, or none', () => {
    const insp = { ...sampleInspection(1, 0), image: { data: Buffer.from('JPEG'), format: 'jpeg' as const, width: 4, height: 2 } };
    const db = mapContract(insp, 1, { images: 'database' });
    assert.deepEqual(db.map((m) => m.table), ['inspections', 'images']);
    assert.deepEqual(db[1].rows[0].values.slice(2), ['full', 'jpeg', 4, 2, 4, Buffer.from('JPEG'), null]);
    const p = mapContract(insp, 1, { images: 'path', imagePath: 'plant1/line1/x.jpg', imageKind: 'thumbnail' });
    assert.deepEqual(p[1].rows[0].values.slice(2), ['thumbnail', 'jpeg', 4, 2, 4, null, 'plant1/line1/x.jpg']);
    assert.deepEqual(mapContract(insp, 1, { images: 'none' }).map((m) => m.table), ['inspections']);
    const b64 = mapContract({ ...insp, image: { ...insp.image, data: Buffer.from('PNGDATA').toString('base64') } }, 1, { images: 'database' });
    assert.deepEqual(b64[1].rows[0].values[7], Buffer.from('PNGDATA'));
  });

  it('maps tag samples into typed value columns and actions with their writes as JSON', () => {
    const tags = mapContract(
      [
        { device: 'plc1', tag: 'speed', value: 1.5, quality: 'good', ts: 1000, unit: 'm/s' },
        { device: 'plc1', tag: 'run', value: true, quality: 'good', ts: 1000 },
        { device: 'plc1', tag: 'recipe', value: 'A7', quality: 'uncertain', ts: 1000, reason: 'stale' },
      ],
      1,
      { images: 'none' },
    );
    assert.equal(tags[0].table, 'tag_samples');
    assert.deepEqual(tags[0].rows.map((r) => r.values.slice(3, 6)), [[1.5, null, null], [null, true, null], [null, null, 'A7']]);
    assert.equal(tags[0].rows[2].prefix, 'payload[2]');
    const act = mapContract({ actionId: 'a1', ruleId: 'r1', kind: 'divert', severity: 'warning', ts: 5, writes: [{ tag: 'diverter', value: true }] }, 1, { images: 'none' });
    assert.equal(act[0].table, 'line_actions');
    assert.equal(act[0].rows[0].values[8], '[{"tag":"diverter","value":true}]');
  });

  const invalid: Array<[string, unknown, RegExp]> = [
    ['a bad confidence', { ...sampleInspection(), detections: [{ defectClass: 'dent', confidence: 2 }] }, /payload\.detections\[0\]\.confidence must be <= 1/],
    ['a missing tag field', [{ device: 'd', value: 1, quality: 'good', ts: 1 }], /payload\[0\]\.tag is required/],
    ['an unknown payload', { hello: 'world' }, /payload is not an Inspection/],
    ['an empty tag array', [], /empty TagSample array/],
    ['a time out of range', { ...sampleInspection(), capturedAt: 9e15 }, /payload\.capturedAt is not a time/],
  ];
  for (const [what, payload, re] of invalid) {
    it(`refuses ${what}, naming the field`, () => assert.throws(() => mapContract(payload, 1, { images: 'none' }), re));
  }
});

describe('timescale-sink custom mapping', () => {
  const mapping = () =>
    new CustomMapping({
      table: 'oven_readings',
      columns: [
        { column: 'oven', field: 'payload.oven', type: 'text' },
        { column: 'time', field: 'payload.ts', type: 'timestamptz' },
        { column: 'temp', field: 'payload.temp', type: 'double precision' },
        { column: 'extra', field: 'payload.meta', type: 'jsonb' },
        { column: 'topic', field: 'topic', type: 'text' },
      ],
      keyColumns: ['oven'],
    });

  it('puts the time column first, adds it to the key, and maps each array element to a row', () => {
    const m = mapping();
    assert.deepEqual(m.table.columns.map((c) => c.name), ['time', 'oven', 'temp', 'extra', 'topic']);
    assert.deepEqual(m.table.key, ['oven', 'time']);
    const [out] = m.map({ topic: 'ovens', payload: [{ oven: 'o1', ts: 0, temp: 180.5, meta: { a: 1 } }, { oven: 'o2', ts: 1000, temp: 'hot' }] }, 4);
    assert.deepEqual(out.rows[0].values, ['1970-01-01T00:00:00.000Z', 'o1', 180.5, '{"a":1}', 'ovens']);
    assert.deepEqual(out.rows[1].values, ['1970-01-01T00:00:01.000Z', 'o2', 'hot', null, 'ovens']);
    assert.equal(fieldOf(m.table.columns[2], out.rows[1]), 'payload[1].temp');
    assert.equal(fieldOf(m.table.columns[4], out.rows[1]), 'topic');
    const [single] = m.map({ payload: { oven: 'o1', ts: 5, temp: 1 } }, 1);
    assert.equal(fieldOf(m.table.columns[2], single.rows[0]), 'payload.temp');
  });

  const hostile: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a table name with SQL', { table: 'x"; drop table y; --' }, /table "x\\"; drop table y; --" is not a valid identifier/],
    ['a column name with a quote', { columns: [{ column: 'a"b', field: 'payload.a', type: 'text' }, { column: 'time', field: 'payload.ts', type: 'timestamptz' }] }, /columns\[0\]\.column/],
    ['a type that is SQL', { columns: [{ column: 'a', field: 'payload.a', type: 'text); drop table y; --' }, { column: 'time', field: 'payload.ts', type: 'timestamptz' }] }, /columns\[0\]\.type must be one of/],
    ['a field that is code', { columns: [{ column: 'a', field: 'payload.constructor()', type: 'text' }, { column: 'time', field: 'payload.ts', type: 'timestamptz' }] }, /columns\[0\]\.field/],
    ['no time column', { columns: [{ column: 'a', field: 'payload.a', type: 'text' }] }, /timeColumn "time" must be one of the mapped columns/],
  ];
  for (const [what, patch, re] of hostile) {
    it(`refuses ${what}`, () => {
      const base = { table: 't', columns: [{ column: 'time', field: 'payload.ts', type: 'timestamptz' as const }] };
      assert.throws(() => new CustomMapping({ ...base, ...patch } as never), re);
    });
  }
});

describe('timescale-sink SQL text', () => {
  it('accepts plain identifiers only and always quotes', () => {
    for (const ok of ['time', 'inspection_id', '_x9', 'A'.repeat(63)]) assert.equal(assertIdentifier(ok, 'f'), ok);
    for (const bad of ['', '9a', 'a-b', 'a b', 'a"b', 'a;b', "a'b", 'A'.repeat(64), 'é']) assert.throws(() => assertIdentifier(bad, 'table'), /table .* is not a valid identifier/);
    assert.equal(quoteIdent('time'), '"time"');
  });

  it('encodes COPY text: NULL, escapes, booleans, bytea and JSON', () => {
    assert.equal(copyValue(null), '\\N');
    assert.equal(copyValue('a\tb\nc\\d\re'), 'a\\tb\\nc\\\\d\\re');
    assert.equal(copyValue("'); drop table x; --"), "'); drop table x; --");
    assert.equal(copyValue(true), 't');
    assert.equal(copyValue(0.25), '0.25');
    assert.equal(copyValue(Buffer.from([0, 255])), '\\\\x00ff');
    assert.equal(copyLine(['2025-01-01T00:00:00.000Z', null, 3]), '2025-01-01T00:00:00.000Z\t\\N\t3\n');
  });

  it('creates tables with the time column first, the natural key, and day partitions with literal bounds', () => {
    const sql = createTableSQL('s', CONTRACT_TABLES.inspections, true);
    assert.match(sql, /create table if not exists "s"\."inspections" \(\n {2}"time" timestamptz not null,/);
    assert.match(sql, /unique \("inspection_id", "time"\)/);
    assert.match(sql, /partition by range \("time"\)$/);
    const day = Date.UTC(2025, 9, 9, 13, 0);
    assert.equal(partitionName('detections', day), 'detections_p20251009');
    assert.equal(
      partitionSQL('s', 'detections', day),
      `create table if not exists "s"."detections_p20251009" partition of "s"."detections" for values from ('2025-10-09T00:00:00.000Z') to ('2025-10-10T00:00:00.000Z')`,
    );
  });
});

describe('timescale-sink image store paths', () => {
  it('lays images out by site, line and day, with names that cannot leave the folder', () => {
    const insp = { ...sampleInspection(3, 0), image: { data: Buffer.alloc(1), format: 'webp' as const, width: 1, height: 1 } };
    assert.equal(imagePathFor(insp), 'plant1/line1/2025-10-09/insp-3.webp');
    assert.equal(imagePathFor(insp, 'thumbnail'), 'plant1/line1/2025-10-09/insp-3-thumbnail.webp');
    const evil = safeName('../../etc/passwd');
    assert.ok(!evil.includes('/') && !evil.startsWith('.'), evil);
    assert.notEqual(safeName('a/b'), safeName('a_b'), 'replaced characters do not make two names collide');
    assert.equal(safeName('insp-1.x_Y'), 'insp-1.x_Y');
  });
});

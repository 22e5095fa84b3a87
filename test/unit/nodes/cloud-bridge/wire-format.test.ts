import assert from 'node:assert/strict';
import { fromWire, toWire, WireFormatError, type OutboxMeta } from '../../../../nodes/cloud-bridge/wire-format';

const json = Buffer.from(JSON.stringify({ device: 'd', tag: 't', value: 1, quality: 'good', ts: 5 }));
const jsonMeta: OutboxMeta = { id: 'd:t:5', kind: 'tags', contentType: 'application/json' };
const img = Buffer.from([0xff, 0xd8, 0xff, 0x00, 0x01]);
const imgMeta: OutboxMeta = { id: 'i1:image', kind: 'image', contentType: 'image/jpeg', inspectionId: 'i1', image: { format: 'jpeg', width: 64, height: 48 } };

describe('cloud-bridge wire format', () => {
  for (const v of [5, 4] as const) {
    it(`round-trips JSON and images over MQTT ${v === 5 ? '5' : '3.1.1'}`, () => {
      const j = toWire('t/x', json, jsonMeta, v);
      const dj = fromWire(j.payload, j.properties);
      assert.equal(dj.kind, 'tags');
      assert.equal(dj.id, 'd:t:5');
      assert.deepEqual(dj.value, JSON.parse(json.toString()));
      assert.equal(dj.via, v === 5 ? 'properties' : 'envelope');
      const i = toWire('t/img', img, imgMeta, v);
      const di = fromWire(i.payload, i.properties);
      assert.equal(di.kind, 'image');
      assert.equal(di.inspectionId, 'i1');
      assert.deepEqual(di.image, { format: 'jpeg', width: 64, height: 48 });
      assert.ok((di.value as Buffer).equals(img));
    });
  }

  it('MQTT 5 sends the body unchanged with content type and user properties', () => {
    const w = toWire('t', img, imgMeta, 5);
    assert.equal(w.payload, img);
    assert.deepEqual(w.properties, { contentType: 'image/jpeg', userProperties: { linesight: '1', id: 'i1:image', kind: 'image', inspectionId: 'i1', format: 'jpeg', width: '64', height: '48' } });
  });

  it('MQTT 3.1.1 envelope is documented JSON: {"linesight":1,"id","kind","data"}', () => {
    const w = toWire('t', json, { ...jsonMeta, kind: 'inspection', hasImage: true }, 4);
    const env = JSON.parse(w.payload.toString());
    assert.deepEqual(Object.keys(env), ['linesight', 'id', 'kind', 'hasImage', 'data']);
    assert.equal(env.linesight, 1);
    assert.equal(fromWire(w.payload).hasImage, true);
  });

  it('reads plain contract JSON from other publishers', () => {
    const d = fromWire(json);
    assert.equal(d.via, 'plain');
    assert.equal(d.kind, undefined);
    assert.equal(d.id, undefined);
  });

  it('refuses bytes that are neither JSON nor an image envelope, and a truncated envelope', () => {
    assert.throws(() => fromWire(Buffer.from('garbage')), WireFormatError);
    const w = toWire('t', img, imgMeta, 4);
    assert.throws(() => fromWire(w.payload.subarray(0, 12)), /header of \d+ bytes is longer than the message/);
  });
});

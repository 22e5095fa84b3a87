import assert from 'node:assert/strict';
import { Inbound, RecentIds, type InboundOutput } from '../../../../nodes/cloud-bridge-in/inbound';
import { toWire, type OutboxMeta } from '../../../../nodes/cloud-bridge/wire-format';
import { sampleInspection } from '../../../fixtures/contracts';
import { ManualClock } from '../../../../lib/clock';

function fakeTimers() {
  const clock = new ManualClock(0);
  return { clock, fire: () => clock.advance(60_000) };
}

const wire = (topic: string, body: Buffer, meta: OutboxMeta, v: 4 | 5 = 5) => {
  const w = toWire(topic, body, meta, v);
  return { topic, payload: w.payload, properties: w.properties };
};

describe('cloud-bridge-in Inbound', () => {
  it('RecentIds forgets the oldest beyond its capacity', () => {
    const r = new RecentIds(2);
    assert.equal(r.seen('a'), false);
    assert.equal(r.seen('b'), false);
    assert.equal(r.seen('a'), true);
    assert.equal(r.seen('c'), false);
    assert.equal(r.seen('a'), false, 'a was evicted');
  });

  for (const v of [5, 4] as const) {
    it(`drops duplicates by message id and joins an inspection with its image, either order (MQTT ${v})`, () => {
      const out: InboundOutput[] = [];
      const ft = fakeTimers();
      const ib = new Inbound({ dedupeWindow: 100, joinMs: 1000, clock: ft.clock }, (o) => out.push(o));
      const insp = sampleInspection(1);
      const inspMsg = wire('l/inspection', Buffer.from(JSON.stringify(insp)), { id: insp.inspectionId, kind: 'inspection', contentType: 'application/json', hasImage: true }, v);
      const imgMsg = wire('l/image', Buffer.from('IMG'), { id: 'insp-1:image', kind: 'image', contentType: 'image/webp', inspectionId: 'insp-1', image: { format: 'webp', width: 3, height: 4 } }, v);
      ib.receive(imgMsg);
      ib.receive(inspMsg);
      ib.receive(inspMsg);
      ib.receive(imgMsg);
      assert.equal(out.length, 1);
      assert.equal(ib.duplicates, 2);
      const p = out[0].payload as any;
      assert.deepEqual(p.image, { data: Buffer.from('IMG'), format: 'webp', width: 3, height: 4 });
      assert.equal(out[0].messageId, 'insp-1');
      ft.fire();
      assert.equal(out.length, 1, 'the joined pair left nothing waiting');
    });
  }

  it('emits an inspection without its image after the join time, saying so; and a lone image as kind image', () => {
    const out: InboundOutput[] = [];
    const ft = fakeTimers();
    const ib = new Inbound({ dedupeWindow: 100, joinMs: 1000, clock: ft.clock }, (o) => out.push(o));
    const insp = sampleInspection(2);
    ib.receive(wire('l/inspection', Buffer.from(JSON.stringify(insp)), { id: insp.inspectionId, kind: 'inspection', contentType: 'application/json', hasImage: true }));
    ib.receive(wire('l/image', Buffer.from('X'), { id: 'other:image', kind: 'image', contentType: 'image/jpeg', inspectionId: 'other', image: { format: 'jpeg' } }));
    assert.equal(out.length, 0);
    ft.fire();
    assert.equal(out.length, 2);
    assert.equal(out[0].imageMissing, true);
    assert.deepEqual(out[0].payload, insp);
    assert.equal(out[1].kind, 'image');
    assert.deepEqual(out[1].image, { inspectionId: 'other', format: 'jpeg', width: undefined, height: undefined });
  });

  it('turns an inline base64 image back into a Buffer', () => {
    const out: InboundOutput[] = [];
    const ib = new Inbound({ dedupeWindow: 10, joinMs: 0 }, (o) => out.push(o));
    const insp = { ...sampleInspection(3), image: { data: Buffer.from('png!').toString('base64'), format: 'png', width: 1, height: 1 } };
    ib.receive({ topic: 'x/inspection', payload: Buffer.from(JSON.stringify(insp)) });
    assert.ok(Buffer.isBuffer((out[0].payload as any).image.data));
    assert.equal((out[0].payload as any).image.data.toString(), 'png!');
  });

  it('gives the JSON body an output was decoded from, except for an envelope', () => {
    const out: InboundOutput[] = [];
    const ib = new Inbound({ dedupeWindow: 10, joinMs: 0 }, (o) => out.push(o));
    const plain = Buffer.from(JSON.stringify(sampleInspection(6)));
    ib.receive({ topic: 'x/inspection', payload: plain });
    assert.equal(out[0].body, plain);
    const envelope = Buffer.from(`{"linesight":1,"id":"insp-7","kind":"inspection","data":${JSON.stringify(sampleInspection(7))}}`);
    ib.receive({ topic: 'x/inspection', payload: envelope });
    assert.equal(out[1].body, undefined);
  });

  it('names topic and field for a message that is not a contract, and counts it', () => {
    const ib = new Inbound({ dedupeWindow: 10, joinMs: 0 }, () => {});
    assert.throws(() => ib.receive({ topic: 'a/b/actions', payload: Buffer.from('{"actionId":"x"}') }), /message on a\/b\/actions is not a known Linesight contract: payload\.kind is required; payload\.ruleId is required/);
    assert.throws(() => ib.receive({ topic: 'a/b/c', payload: Buffer.from('[1,2]') }), /is not a known Linesight contract/);
    assert.equal(ib.invalid, 2);
  });
});

import assert from 'node:assert/strict';
import { checkTopicTemplate, prepareOutbound, renderTopic, type OutboundOptions } from '../../../../nodes/cloud-bridge/outbound';
import { rememberBody } from '../../../../nodes/cloud-bridge/wire-format';
import { sampleInspection } from '../../../fixtures/contracts';

const o: OutboundOptions = { topicTemplate: 'linesight/{site}/{line}/{kind}', site: 'siteA', line: 'lineA', imageMode: 'separate' };
const sample = (i: number) => ({ device: 'press', tag: 'count', value: i, quality: 'good', ts: 1000 + i });

describe('cloud-bridge outbound', () => {
  it('an inspection with an image becomes inspection JSON + binary image, ids from the inspectionId', () => {
    const data = Buffer.alloc(10, 1);
    const insp = { ...sampleInspection(3), image: { data, format: 'png' as const, width: 2, height: 5 } };
    const [a, b] = prepareOutbound({ payload: insp }, o);
    assert.equal(a.key, 'linesight/plant1/line1/inspection');
    assert.equal(a.meta.id, 'insp-3');
    assert.equal(a.meta.hasImage, true);
    assert.equal(JSON.parse(a.payload.toString()).image, undefined);
    assert.equal(b.key, 'linesight/plant1/line1/image');
    assert.equal(b.payload, data);
    assert.deepEqual(b.meta, { id: 'insp-3:image', kind: 'image', contentType: 'image/png', inspectionId: 'insp-3', image: { format: 'png', width: 2, height: 5 } });
  });

  it('relays an unchanged inspection in the body it arrived in, when that body is what the mode would send', () => {
    const data = Buffer.from('jpeg bytes');
    const insp = { ...sampleInspection(4), image: { data, format: 'jpeg' as const, width: 1, height: 1 } };
    const arrived = Buffer.from(JSON.stringify({ ...insp, image: { ...insp.image, data: data.toString('base64') } }));
    rememberBody(insp, arrived);
    const [inline] = prepareOutbound({ payload: insp }, { ...o, imageMode: 'inline' });
    assert.equal(inline.payload, arrived, 'the same bytes, not serialised again');
    assert.deepEqual(inline.meta, { id: 'insp-4', kind: 'inspection', contentType: 'application/json' });
    const separate = prepareOutbound({ payload: insp }, o);
    assert.equal(separate.length, 2, 'separate mode splits the image off: serialised as before');
    assert.notEqual(prepareOutbound({ payload: insp }, { ...o, imageMode: 'drop' })[0].payload, arrived);
    const copy = structuredClone(insp);
    assert.notEqual(prepareOutbound({ payload: copy }, { ...o, imageMode: 'inline' })[0].payload, arrived, 'a copy (as Node-RED clones) is serialised');
    const plain = sampleInspection(5);
    const plainBody = Buffer.from(JSON.stringify(plain));
    rememberBody(plain, plainBody);
    assert.equal(prepareOutbound({ payload: plain }, o)[0].payload, plainBody, 'without an image any mode sends the same JSON');
  });

  it('inline puts the image as base64 in the JSON; drop leaves it out', () => {
    const insp = { ...sampleInspection(1), image: { data: Buffer.from('abc'), format: 'jpeg' as const, width: 1, height: 1 } };
    const [inline] = prepareOutbound({ payload: insp }, { ...o, imageMode: 'inline' });
    assert.equal(JSON.parse(inline.payload.toString()).image.data, Buffer.from('abc').toString('base64'));
    const dropped = prepareOutbound({ payload: insp }, { ...o, imageMode: 'drop' });
    assert.equal(dropped.length, 1);
    assert.equal(JSON.parse(dropped[0].payload.toString()).image, undefined);
  });

  const table: Array<[string, Record<string, unknown>, string, string]> = [
    ['one sample: id device:tag:ts, site/line from the node', { payload: sample(1) }, 'linesight/siteA/lineA/tags', 'press:count:1001'],
    ['msg.site / msg.line override the node', { payload: sample(2), site: 's2', line: 'l2' }, 'linesight/s2/l2/tags', 'press:count:1002'],
    ['an action', { payload: { actionId: 'a1', ruleId: 'r', kind: 'stop', severity: 'critical', ts: 1, writes: [] } }, 'linesight/siteA/lineA/actions', 'a1'],
    ['msg.messageId overrides the id', { payload: sample(3), messageId: 'mine' }, 'linesight/siteA/lineA/tags', 'mine'],
  ];
  for (const [name, msg, topic, id] of table) {
    it(name, () => {
      const [e] = prepareOutbound(msg, o);
      assert.equal(e.key, topic);
      assert.equal(e.meta.id, id);
    });
  }

  it('passes on what cloud-bridge-in emits, ids kept: a lone image (msg.image.inspectionId) and msg.messageId', () => {
    const [e] = prepareOutbound({ payload: Buffer.from('img'), kind: 'image', messageId: 'i9:image', image: { inspectionId: 'i9', format: 'webp', width: 4, height: 3 } }, o);
    assert.equal(e.key, 'linesight/siteA/lineA/image');
    assert.deepEqual(e.meta, { id: 'i9:image', kind: 'image', contentType: 'image/webp', inspectionId: 'i9', image: { format: 'webp', width: 4, height: 3 } });
  });

  it('a sample array gets a content hash id: the same samples, the same id', () => {
    const a = prepareOutbound({ payload: [sample(1), sample(2)] }, o)[0].meta.id;
    const b = prepareOutbound({ payload: [sample(1), sample(2)] }, o)[0].meta.id;
    const c = prepareOutbound({ payload: [sample(1), sample(3)] }, o)[0].meta.id;
    assert.equal(a, b);
    assert.notEqual(a, c);
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['unknown object', { payload: { a: 1 } }, /not a known Linesight contract/],
    ['broken sample names the field', { payload: { ...sample(1), quality: 'perfect' } }, /not a valid TagSample: payload\.quality must be one of/],
    ['broken sample in an array names the index', { payload: [sample(1), { ...sample(2), ts: 'now' }] }, /payload\[1\]\.ts must be integer/],
    ['empty array', { payload: [] }, /TagSample\[\]: payload is an empty array/],
    ['status needs an object', { payload: 5, kind: 'status' }, /status message needs an object/],
    ['kind that does not match the payload', { payload: sample(1), kind: 'inspection' }, /not a valid Inspection/],
    ['no site anywhere', { payload: sample(1) }, /topic needs \{site\}/],
  ];
  for (const [name, msg, re] of bad) {
    it(`refuses: ${name}`, () => {
      const opts = name === 'no site anywhere' ? { ...o, site: undefined } : o;
      assert.throws(() => prepareOutbound(msg, opts), re);
    });
  }

  it('checks the topic template', () => {
    assert.throws(() => checkTopicTemplate('a/+/b'), /without wildcards/);
    assert.throws(() => checkTopicTemplate('a/{plant}'), /uses \{plant\}/);
    checkTopicTemplate('x/{site}/{line}/{kind}/{device}');
    assert.equal(renderTopic('a/{kind}', { kind: 'tags' }), 'a/tags');
  });
});

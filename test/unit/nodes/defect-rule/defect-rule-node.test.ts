import assert from 'node:assert/strict';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const helper = require('node-red-node-test-helper');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const defectRule = require('../../../../nodes/defect-rule/defect-rule');
import { alarmCoilRule, inspection, rule, scratch, dent } from '../../../fixtures/defect-rules';
import { waitFor } from '../../../support/wait';

helper.init(require.resolve('node-red'));

describe('defect-rule node', () => {
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
  });

  const flow = (rules: unknown[], extra: Record<string, unknown> = {}) => [
    { id: 'd', type: 'defect-rule', name: 'rules', rules, wires: [['act'], ['out']], ...extra },
    { id: 'act', type: 'helper' },
    { id: 'out', type: 'helper' },
  ];
  const collect = (id: string) => {
    const got: any[] = [];
    helper.getNode(id).on('input', (m: any) => got.push(m));
    return got;
  };

  it('emits one LineAction per firing rule on output 1 and the verdict on output 2', async () => {
    await helper.load(defectRule, flow([rule('a'), rule('b', { condition: { classes: ['scratch'], minConfidence: 0.95 } }), alarmCoilRule('coil', 0)]));
    const acts = collect('act');
    const outs = collect('out');
    const node = helper.getNode('d');
    node.receive({ payload: inspection('i1', [scratch(0.9)]) });
    await waitFor('verdict', () => outs.length === 1);
    assert.deepEqual(acts.map((m) => m.payload.ruleId), ['a', 'scratch-alarm']);
    assert.equal(acts[0].topic, 'linesight/plant1/line1/actions');
    assert.deepEqual(acts[1].payload.writes, [{ tag: 'coil', value: true }]);
    assert.equal(outs[0].payload.inspectionId, 'i1');
    assert.equal(outs[0].verdict.result, 'fail');
    assert.deepEqual(outs[0].verdict.matched.map((m: any) => m.ruleId), ['a', 'scratch-alarm']);
    node.receive({ payload: inspection('i2', [dent(0.9)]) });
    await waitFor('second verdict', () => outs.length === 2);
    assert.equal(outs[1].verdict.result, 'pass');
    assert.equal(acts.length, 2);
  });

  it('sends the reset action when the hold ends', async () => {
    await helper.load(defectRule, flow([alarmCoilRule('coil', 200)]));
    const acts = collect('act');
    helper.getNode('d').receive({ payload: inspection('i1', [scratch(0.9)]) });
    await waitFor('reset', () => acts.length === 2, 5000);
    assert.equal(acts[1].payload.reset, true);
    assert.deepEqual(acts[1].payload.writes, [{ tag: 'coil', value: false }]);
  });

  it('a redeploy during a hold does not leave the lamp on: the new instance sends the reset', async () => {
    const f = flow([alarmCoilRule('coil', 1500)]);
    await helper.load(defectRule, f);
    helper.getNode('d').receive({ payload: inspection('i1', [scratch(0.9)]) });
    const first = collect('act');
    await waitFor('alarm', () => first.length === 1);
    // a full redeploy with a changed rule set: every node is recreated
    await helper.setFlows([{ ...f[0], rules: [rule('other')] }, f[1], f[2]], 'full');
    const acts = collect('act');
    await waitFor('reset from the new instance', () => acts.length === 1, 10_000);
    assert.equal(acts[0].payload.reset, true);
    assert.deepEqual(acts[0].payload.writes, [{ tag: 'coil', value: false }]);
  });

  it('refuses an invalid inspection with done(err) naming the field', async () => {
    await helper.load(defectRule, flow([rule('a')]));
    const node = helper.getNode('d');
    const err = new Promise<any>((r) => node.on('call:error', r));
    const bad = inspection('i1', [scratch(0.9)]);
    (bad.detections[0] as any).confidence = 2;
    node.receive({ payload: bad });
    assert.match(String((await err).args[0]), /payload\.detections\[0\]\.confidence must be <= 1/);
  });

  it('replaces rules from a rules message and refuses an invalid replacement, keeping the old rules', async () => {
    await helper.load(defectRule, flow([rule('a')]));
    const node = helper.getNode('d');
    const outs = collect('out');
    const errors: any[] = [];
    node.on('call:error', (c: any) => errors.push(c));
    node.receive({ topic: 'rules', payload: [rule('b', { condition: { classes: ['dent'] } })] });
    node.receive({ payload: inspection('i1', [dent()]) });
    await waitFor('verdict', () => outs.length === 1);
    assert.deepEqual(outs[0].verdict.matched.map((m: any) => m.ruleId), ['b']);
    node.receive({ topic: 'rules', payload: [rule('c', { window: { kind: 'count' } })] });
    await waitFor('refusal', () => errors.length === 1);
    assert.match(String(errors[0].args[0]), /rule "c" window\.count is required for a count window/);
    node.receive({ payload: inspection('i2', [dent()]) });
    await waitFor('verdict', () => outs.length === 2);
    assert.deepEqual(outs[1].verdict.matched.map((m: any) => m.ruleId), ['b'], 'old rules stay in force');
  });

  it('takes a rules message as JSON text too, and refuses text that is not JSON', async () => {
    await helper.load(defectRule, flow([rule('a')]));
    const node = helper.getNode('d');
    const outs = collect('out');
    const errors: any[] = [];
    node.on('call:error', (c: any) => errors.push(c));
    node.receive({ topic: 'rules', payload: '[{"id":"b","condition":{"classes":["dent"]},' });
    await waitFor('refusal', () => errors.length === 1);
    assert.match(String(errors[0].args[0]), /rules message: payload is text but not JSON/);
    node.receive({ topic: 'rules', payload: JSON.stringify([rule('b', { condition: { classes: ['dent'] } })]) });
    node.receive({ payload: inspection('i1', [dent()]) });
    await waitFor('verdict', () => outs.length === 1);
    assert.deepEqual(outs[0].verdict.matched.map((m: any) => m.ruleId), ['b']);
  });

  it('does not start with invalid rules: red status and an error naming rule, field and reason', async () => {
    const statuses: any[] = [];
    const errors: any[] = [];
    await helper.load(defectRule, flow([rule('bad', { action: { kind: 'alarm', writes: [] } })]));
    const node = helper.getNode('d');
    node.on('call:error', (c: any) => errors.push(c));
    node.on('call:status', (c: any) => statuses.push(c.args[0]));
    node.receive({ payload: inspection('i1', [scratch()]) });
    // The deploy-time error and the refused message both name the rule, field and reason.
    await waitFor('refusal', () => errors.length === 2);
    assert.match(String(errors[0].args[0]), /^invalid rules: rule "bad" action\.writes must name at least one tag for an alarm action$/);
    assert.match(String(errors[1].args[0]), /is not running: invalid rules: rule "bad" action\.writes/);
    assert.deepEqual(statuses, [{ fill: 'red', shape: 'dot', text: 'invalid config' }]);
  });

  it('refuses rules naming classes outside knownClasses', async () => {
    await helper.load(defectRule, flow([rule('typo', { condition: { classes: ['scrach'] } })], { knownClasses: 'scratch, dent' }));
    const node = helper.getNode('d');
    const err = new Promise<any>((r) => node.on('call:error', r));
    node.receive({ payload: inspection('i1', [scratch()]) });
    assert.match(String((await err).args[0]), /rule "typo" condition\.classes\[0\] "scrach" is not a known defect class/);
  });

  it('answers the editor: validate and try routes run the same engine', async () => {
    await helper.load(defectRule, flow([rule('a')]));
    const v = await helper.request().post('/linesight/defect-rule/validate').send({ rules: [rule('x', { window: { kind: 'consecutive' } })] }).expect(200);
    assert.deepEqual(v.body.problems, [{ ruleId: 'x', field: 'window.count', reason: 'is required for a consecutive window' }]);
    const t = await helper.request().post('/linesight/defect-rule/try').send({
      rules: [rule('k', { window: { kind: 'consecutive', count: 2 }, action: { kind: 'alarm', writes: [{ tag: 'lamp', value: true }], holdMs: 1000 } })],
      inspections: [inspection('i1', [scratch()], { capturedAt: 1000 }), inspection('i2', [scratch()], { capturedAt: 2000 })],
    }).expect(200);
    assert.deepEqual(t.body.problems, []);
    assert.deepEqual(t.body.steps.map((s: any) => s.actions.length), [0, 1]);
    assert.equal(t.body.steps[0].verdict.matched[0].why.includes('1 of 2 in a row'), true);
    assert.deepEqual(t.body.resets.map((a: any) => [a.ts, a.writes]), [[3000, [{ tag: 'lamp', value: false }]]]);
  });
});

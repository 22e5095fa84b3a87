import assert from 'node:assert/strict';
import { EDITOR_DEFAULTS, formToRule, parseValue, parseWrites, ruleToForm, summarize, newRule } from '../../../../nodes/defect-rule/editor-model';
import { loadSchema } from '../../../../contracts/schemas';
import { ruleProblems } from '../../../../nodes/defect-rule/rule-validation';
import type { DefectRule } from '../../../../nodes/defect-rule/defect-rule.schema';

describe('defect-rule editor model', () => {
  it('uses the same defaults as the generated config schema', () => {
    const schema = loadSchema('DefectRuleConfig') as { properties: Record<string, { default?: unknown }> };
    for (const [k, p] of Object.entries(schema.properties)) {
      if (k === 'name') continue;
      assert.deepEqual((EDITOR_DEFAULTS as Record<string, unknown>)[k], p.default, `default of ${k}`);
    }
    assert.deepEqual(Object.keys(EDITOR_DEFAULTS).sort(), Object.keys(schema.properties).sort());
  });

  it('reads typed values from text', () => {
    assert.deepEqual([parseValue('true'), parseValue('false'), parseValue('3'), parseValue('-1.5'), parseValue('"7"'), parseValue('red')], [true, false, 3, -1.5, '7', 'red']);
    assert.deepEqual(parseWrites('lamp=true\ngate = 2, msg=stop now'), [{ tag: 'lamp', value: true }, { tag: 'gate', value: 2 }, { tag: 'msg', value: 'stop now' }]);
  });

  const rules: DefectRule[] = [
    {
      id: 'full', name: 'Everything', enabled: false,
      condition: { classes: ['scratch', 'dent'], minConfidence: 0.7, minArea: 10, maxArea: 5000, minDetections: 2, roi: { shape: 'polygon', points: [[0, 0], [10, 0], [5, 8]], mode: 'overlap' }, cameras: ['c1'], lines: ['l1', 'l2'], attributes: { product: 'A' } },
      window: { kind: 'ratio', ratio: 0.25, size: 40, durationMs: 60000, minTotal: 20 },
      action: { kind: 'divert', severity: 'critical', writes: [{ tag: 'gate', value: 2 }, { tag: 'code', value: '42' }], holdMs: 1000, resetWrites: [{ tag: 'gate', value: 0 }, { tag: 'code', value: '' }], cooldownMs: 500 },
    },
    { id: 'rect', condition: { roi: { shape: 'rect', x: 1, y: 2, width: 3, height: 4 } }, window: { kind: 'count', count: 3, durationMs: 100 }, action: { kind: 'alarm', severity: 'warning', writes: [{ tag: 'lamp', value: true }] } },
  ];
  for (const r of rules) {
    it(`round-trips rule "${r.id}" through the form unchanged`, () => {
      assert.deepEqual(formToRule(ruleToForm(r)), r);
    });
  }

  it('keeps text typed into a number field, so validation names it', () => {
    const f = ruleToForm(rules[1]);
    f.count = 'three';
    const problems = ruleProblems([formToRule(f)]);
    assert.deepEqual(problems.map((p) => `${p.field} ${p.reason}`), ['window.count must be integer']);
  });

  it('summarises a rule in one line and makes valid new rules', () => {
    assert.equal(summarize(rules[1]), 'any defect in rect, 3 within 100 ms → alarm (lamp=true)');
    const fresh = newRule(['rule-1', 'rule-3']);
    assert.equal(fresh.id, 'rule-4', 'next free id');
    assert.deepEqual(ruleProblems([fresh]), []);
  });
});

import assert from 'node:assert/strict';
import { assertRules, ruleProblems, RuleValidationError } from '../../../../nodes/defect-rule/rule-validation';
import { rule } from '../../../fixtures/defect-rules';

const problemsOf = (rules: unknown, knownClasses?: string[]) => ruleProblems(rules, { knownClasses }).map((p) => `${p.ruleId} | ${p.field} | ${p.reason}`);

describe('defect-rule validation', () => {
  it('accepts a sound rule set', () => {
    assert.deepEqual(problemsOf([rule('a'), rule('b', { window: { kind: 'count', count: 3, durationMs: 1000 } })]), []);
  });

  const cases: Array<[string, unknown, RegExp, string[]?]> = [
    ['an unknown field in the condition', { ...rule('u'), condition: { clases: ['scratch'] } }, /^u \| condition\.clases \| is not a known field$/],
    ['an unknown defect class when the classes are known', rule('k', { condition: { classes: ['scrach'] } }), /^k \| condition\.classes\[0\] \| "scrach" is not a known defect class \(known: scratch, dent\)$/, ['scratch', 'dent']],
    ['a negative duration', rule('d', { window: { kind: 'count', count: 2, durationMs: -5 } }), /^d \| window\.durationMs \| must be >= 1$/],
    ['a negative hold', rule('h', { action: { kind: 'alarm', writes: [{ tag: 't', value: true }], holdMs: -1 } }), /^h \| action\.holdMs \| must be >= 0$/],
    ['a count window without its size', rule('w', { window: { kind: 'count', durationMs: 1000 } }), /^w \| window\.count \| is required for a count window$/],
    ['a consecutive window without its size', rule('w', { window: { kind: 'consecutive' } }), /^w \| window\.count \| is required for a consecutive window$/],
    ['a rate window without its duration', rule('w', { window: { kind: 'rate', perMinute: 5 } }), /^w \| window\.durationMs \| is required for a rate window$/],
    ['a ratio window without its size', rule('w', { window: { kind: 'ratio', ratio: 0.2 } }), /^w \| window\.size \| is required for a ratio window$/],
    ['a size on an each window', rule('w', { window: { kind: 'each', count: 3 } }), /^w \| window\.count \| does not apply to an each window$/],
    ['a rate that needs too many timestamps', rule('w', { window: { kind: 'rate', perMinute: 100_000, durationMs: 3_600_000 } }), /^w \| window\.perMinute \| over durationMs asks for 6000000 inspections/],
    ['minTotal above the ratio size', rule('w', { window: { kind: 'ratio', ratio: 0.2, size: 10, minTotal: 11 } }), /^w \| window\.minTotal \| must not exceed window\.size \(10\)$/],
    ['an action without writes', rule('a', { action: { kind: 'stop', writes: [] } }), /^a \| action\.writes \| must name at least one tag for a stop action$/],
    ['an action with no writes field', { ...rule('a'), action: { kind: 'alarm' } }, /^a \| action\.writes \| is required$/],
    ['the same tag written twice by one rule', rule('c', { action: { kind: 'alarm', writes: [{ tag: 'lamp', value: true }, { tag: 'lamp', value: false }] } }), /^c \| action\.writes\[1\]\.tag \| writes tag "lamp" a second time \(also action\.writes\[0\]\); conflicting writes to one tag$/],
    ['a text write held without reset writes', rule('s', { action: { kind: 'notify', writes: [{ tag: 'msg', value: 'bad' }], holdMs: 100 } }), /^s \| action\.writes\[0\]\.value \| is text, which has no default reset value/],
    ['reset writes without a hold', rule('s', { action: { kind: 'alarm', writes: [{ tag: 'l', value: true }], resetWrites: [{ tag: 'l', value: false }] } }), /^s \| action\.resetWrites \| are only made after a hold/],
    ['minArea above maxArea', rule('g', { condition: { minArea: 10, maxArea: 5 } }), /^g \| condition\.maxArea \| must not be below minArea \(10\)$/],
    ['a rect region missing its size', rule('g', { condition: { roi: { shape: 'rect', x: 0, y: 0, width: 10 } } }), /^g \| condition\.roi\.height \| is required for a rect region$/],
    ['a polygon with all points on a line', rule('g', { condition: { roi: { shape: 'polygon', points: [[0, 0], [1, 1], [2, 2]] } } }), /^g \| condition\.roi\.points \| enclose no area/],
    ['a polygon with two points', rule('g', { condition: { roi: { shape: 'polygon', points: [[0, 0], [1, 1]] } } }), /^g \| condition\.roi\.points \| must NOT have fewer than 3 items$/],
    ['confidence above 1', rule('g', { condition: { minConfidence: 1.5 } }), /^g \| condition\.minConfidence \| must be <= 1$/],
    ['an unknown window kind', rule('g', { window: { kind: 'sometimes' as never } }), /^g \| window\.kind \| must be one of "consecutive", "count", "each", "rate", "ratio"$/],
    ['a rule without an id', { ...rule('x'), id: undefined }, /^rules\[0\] \| id \| is required$/],
    ['an id with spaces', rule('has space'), /^has space \| id \| must match pattern/],
  ];
  for (const [name, r, expected, known] of cases) {
    it(`refuses ${name}, naming rule, field and reason`, () => {
      const got = problemsOf([r], known);
      assert.ok(got.some((p) => expected.test(p)), `expected ${expected} in\n${got.join('\n')}`);
    });
  }

  it('refuses two enabled rules writing different values to one tag, and allows the same value', () => {
    const a = rule('a', { action: { kind: 'divert', writes: [{ tag: 'gate', value: 1 }] } });
    const b = rule('b', { action: { kind: 'divert', writes: [{ tag: 'gate', value: 2 }] } });
    assert.deepEqual(problemsOf([a, b]), ['b | action.writes[0].value | writes 2 to tag "gate" but rule "a" writes 1; conflicting writes to one tag']);
    assert.deepEqual(problemsOf([a, { ...b, enabled: false }]), []);
    assert.deepEqual(problemsOf([a, rule('c', { action: { kind: 'alarm', writes: [{ tag: 'gate', value: 1 }] } })]), []);
  });

  it('refuses duplicate ids', () => {
    assert.deepEqual(problemsOf([rule('a'), rule('a', { action: { kind: 'alarm', writes: [{ tag: 'a_lamp', value: true }] } })]), ['a | id | is used by rules[0] too; ids must be unique']);
  });

  it('refuses something that is not a list', () => {
    assert.deepEqual(problemsOf({ id: 'a' }), ['rules |  | must be an array of rules']);
  });

  it('assertRules throws one error listing every problem', () => {
    try {
      assertRules([rule('a', { window: { kind: 'count' } }), rule('b', { action: { kind: 'stop', writes: [] } })]);
      assert.fail('should throw');
    } catch (err) {
      assert.ok(err instanceof RuleValidationError);
      assert.match(err.message, /^invalid rules: rule "a" window\.count is required for a count window; rule "a" window\.durationMs is required for a count window; rule "b" action\.writes must name at least one tag for a stop action$/);
      assert.deepEqual(err.ruleProblems.map((p) => p.ruleId), ['a', 'a', 'b']);
    }
  });
});

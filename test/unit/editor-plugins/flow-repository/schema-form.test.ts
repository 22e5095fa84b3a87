import assert from 'node:assert/strict';
import { formFields, readForm, type ParameterSchema } from '../../../../editor-plugins/flow-repository/schema-form';

const schema: ParameterSchema = {
  type: 'object',
  required: ['SITE', 'PLC_HOST'],
  properties: {
    SITE: { type: 'string', title: 'Site', default: 'plant1', pattern: '^[a-z0-9-]+$' },
    PLC_HOST: { type: 'string', description: 'Modbus TCP address of the line PLC' },
    PLC_PORT: { type: 'integer', default: 502, minimum: 1, maximum: 65535 },
    MIN_CONFIDENCE: { type: 'number', default: 0.6, minimum: 0, maximum: 1 },
    DIVERT: { type: 'boolean', default: false },
    PROTOCOL: { type: 'string', enum: ['modbus-tcp', 'opcua'], default: 'modbus-tcp' },
  },
};

describe('flow-repository: parameter form from JSON Schema', () => {
  it('makes one field per property with its kind, default and constraints', () => {
    const f = formFields(schema);
    // Required first, then by name: the order does not depend on how the repository stored the schema.
    assert.deepEqual(f.map((x) => [x.name, x.kind, x.required]), [
      ['PLC_HOST', 'string', true], ['SITE', 'string', true], ['DIVERT', 'boolean', false],
      ['MIN_CONFIDENCE', 'number', false], ['PLC_PORT', 'integer', false], ['PROTOCOL', 'enum', false],
    ]);
    assert.equal(f[1].label, 'Site');
    assert.equal(f[4].maximum, 65535);
    assert.deepEqual(f[5].options, ['modbus-tcp', 'opcua']);
  });

  it('types the values and fills defaults for empty inputs', () => {
    const r = readForm(schema, { SITE: '', PLC_HOST: '10.0.0.5', PLC_PORT: '1502', MIN_CONFIDENCE: '', DIVERT: true, PROTOCOL: 'opcua' });
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.values, { SITE: 'plant1', PLC_HOST: '10.0.0.5', PLC_PORT: 1502, MIN_CONFIDENCE: 0.6, DIVERT: true, PROTOCOL: 'opcua' });
  });

  const bad: Array<[string, Record<string, string | boolean>, RegExp]> = [
    ['a missing required value', { PLC_HOST: '' }, /^PLC_HOST must have required property/],
    ['text in a number', { PLC_HOST: 'h', PLC_PORT: 'five' }, /^PLC_PORT must be a number, got "five"/],
    ['a number out of range', { PLC_HOST: 'h', PLC_PORT: '70000' }, /^PLC_PORT must be <= 65535/],
    ['a fraction for an integer', { PLC_HOST: 'h', PLC_PORT: '1.5' }, /^PLC_PORT must be integer/],
    ['a pattern mismatch', { PLC_HOST: 'h', SITE: 'Plant 1' }, /^SITE must match pattern/],
    ['a value outside the enum', { PLC_HOST: 'h', PROTOCOL: 'profinet' }, /^PROTOCOL must be equal to one of the allowed values/],
  ];
  for (const [what, raw, expected] of bad) {
    it(`refuses ${what}, naming the field`, () => {
      const r = readForm(schema, raw);
      assert.ok(r.problems.length > 0);
      assert.match(`${r.problems[0].field} ${r.problems[0].reason}`, expected);
    });
  }
});

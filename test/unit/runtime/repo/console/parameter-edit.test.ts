import assert from 'node:assert/strict';
import { parameterChange, parameterForm } from '../../../../../runtime/repo/console/parameter-edit';

const schema = {
  type: 'object' as const,
  required: ['SITE'],
  properties: {
    SITE: { type: 'string', title: 'Site', default: 'plant1', pattern: '^[a-z0-9]+$' },
    PORT: { type: 'integer', default: 502, minimum: 1, maximum: 65535 },
    MQTT: { type: 'integer', enum: [4, 5], default: 5 },
    DEBUG: { type: 'boolean', default: false },
  },
};

describe('console parameter form: the template schema, the device values, only real changes sent', () => {
  it('fills the fields with the device values, or the defaults, and names undeclared values', () => {
    const model = parameterForm(schema, { SITE: 'hq', DEBUG: true, OLD: 'x' });
    assert.deepEqual(model.fields.map((f) => [f.name, f.kind, f.value]), [['SITE', 'string', 'hq'], ['DEBUG', 'boolean', true], ['MQTT', 'enum', '5'], ['PORT', 'integer', '502']]);
    assert.deepEqual(model.undeclared, ['OLD']);
  });

  it('sends the whole typed parameter object when something changed, keeping undeclared values', () => {
    const current = { SITE: 'hq', PORT: 502, MQTT: 5, DEBUG: false, OLD: 'x' };
    const change = parameterChange(schema, current, { SITE: 'hq', PORT: '1502', MQTT: '4', DEBUG: false });
    assert.deepEqual(change, { parameters: { SITE: 'hq', PORT: 1502, MQTT: 4, DEBUG: false, OLD: 'x' }, changed: ['MQTT', 'PORT'], problems: [] });
  });

  it('sends nothing when nothing changed, and names refused values', () => {
    const current = { SITE: 'hq', PORT: 502, MQTT: 5, DEBUG: false };
    assert.deepEqual(parameterChange(schema, current, { SITE: 'hq', PORT: '502', MQTT: '5', DEBUG: false }), { parameters: undefined, changed: [], problems: [] });
    const bad = parameterChange(schema, current, { SITE: 'Has Spaces', PORT: 'many', MQTT: '5', DEBUG: false });
    assert.deepEqual(bad.problems.map((p) => p.field), ['PORT']);
    assert.deepEqual(parameterChange(schema, current, { SITE: 'Has Spaces', PORT: '70000', MQTT: '5', DEBUG: false }).problems.map((p) => p.field).sort(), ['PORT', 'SITE']);
  });
});
